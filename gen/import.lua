-- import.lua — `vggc import MODEL.onnx`: the graph of a network, as torch.onnx.export writes it (opsets 11-17),
-- becomes a per-layer model file (modules.lua's form, with the ONNX initializers' names) and its weights. Nodes
-- run in the graph's order (onnx_graph.lua); a layer that does not read the layer before it names what it reads
-- (`from`): the branches of an Inception module and their Concat, the Add of a residual. One table, OPS, maps each
-- op onto the layers vggc knows; anything else is one line naming the node and the op.
--
-- translate(where, bytes, options) -> {entries (the model file's layers), origins (entry i's node), tensors (the
-- weights to write: {name, dtype, shape, data}), input = {C, H, W}, batch}
local errors = require("errors")
local format = require("format")
local constants = require("onnx_constants")
local modules = require("modules")
local onnx = require("onnx")
local onnx_graph = require("onnx_graph")

local M = {}

M.opsets = { 11, 17 }

local DTYPES = { [1] = { "F32", 4 }, [10] = { "F16", 2 }, [16] = { "BF16", 2 }, [7] = { "I64", 8 } }
local SHOWN = 60 -- characters of a name from the file shown in a message

local function show(name)
  name = tostring(name)
  return "'" .. (#name > SHOWN and name:sub(1, SHOWN) .. "..." or name) .. "'"
end

-- ---- one node's surroundings ------------------------------------------------------------------------------

-- A node's error: "model.onnx: node 3 '/features/features.0/Conv' (Conv): <what>"
local function fail(ctx, fmt, ...)
  errors.raise(ctx.where, "%s: " .. fmt, ctx.label, ...)
end

-- The attribute `name` of the node as kind "int", "ints", "float" or "string"; default when absent. Every
-- attribute a handler reads is marked, and the ones it never read are refused once it is done.
local ATTRIBUTE_TYPES = { float = 1, int = 2, string = 3, ints = 7, floats = 6, tensor = 4 }
local FIELD = { float = "f", int = "i", string = "s", ints = "ints", floats = "floats", tensor = "t" }

local function attr(ctx, name, kind, default)
  local a = ctx.node.attributes[name]
  ctx.read[name] = true
  if a == nil then return default end
  if a.ref then fail(ctx, "attribute '%s' refers to a function's attribute (not supported)", name) end
  local v = a[FIELD[kind]]
  if (a.type ~= 0 and a.type ~= ATTRIBUTE_TYPES[kind]) or (v == nil and kind ~= "ints" and kind ~= "floats") then
    fail(ctx, "attribute '%s' is not %s %s", name, kind == "ints" and "a list of" or "a", kind:gsub("s$", ""))
  end
  return v or {}
end

local function unread_attributes(ctx)
  for name in pairs(ctx.node.attributes) do
    if not ctx.read[name] then fail(ctx, "attribute %s is not supported", show(name)) end
  end
end

-- Input i of the node ("" or absent: nil)
local function input(ctx, i)
  local name = ctx.node.inputs[i]
  if name == nil or name == "" then return nil end
  return name
end

local function dims_text(dims)
  local parts = {}
  for i, d in ipairs(dims) do parts[i] = tostring(d) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

-- The bytes of a tensor (raw_data, or packed float_data of float32), checked against its dims and type.
local function tensor_bytes(ctx, t, what)
  if t.external then
    fail(ctx, "%s %s is stored in an external data file, %s (vggc reads weights inside the .onnx only: save "
         .. "the model without external data)", what, show(t.name), show(t.external.location))
  end
  if t.segment then fail(ctx, "%s %s is segmented (not supported)", what, show(t.name)) end
  local dtype = DTYPES[t.data_type]
  if not dtype then fail(ctx, "%s %s has data type %d (float32, float16, bfloat16 or int64)", what, show(t.name),
                         t.data_type) end
  local elements = 1.0
  for _, d in ipairs(t.dims) do
    if d < 0 or d > (1 << 31) then fail(ctx, "%s %s has dimension %d", what, show(t.name), d) end
    elements = elements * d
  end
  if elements * dtype[2] > #ctx.bytes then
    fail(ctx, "%s %s has shape %s, more data than the file holds", what, show(t.name), dims_text(t.dims))
  end
  local want = format.product(t.dims) * dtype[2]
  local span = t.raw or (t.data_type == 1 and t.float_data or nil)
  if t.data_type == 7 and not span and t.int64_data then
    if #t.int64_data ~= format.product(t.dims) then
      fail(ctx, "%s %s holds %d numbers for shape %s", what, show(t.name), #t.int64_data, dims_text(t.dims))
    end
    return nil, dtype
  end
  local have = span and span.last - span.first + 1 or 0
  if have ~= want then
    fail(ctx, "%s %s has %d bytes of data for shape %s (expected %d)", what, show(t.name), have, dims_text(t.dims),
         want)
  end
  return span and ctx.bytes:sub(span.first, span.last) or "", dtype
end

-- The whole numbers of an int64 tensor.
local function tensor_ints(ctx, t, what)
  if t.data_type ~= 7 then fail(ctx, "%s %s is not int64", what, show(t.name)) end
  local data = tensor_bytes(ctx, t, what)
  if not data then return t.int64_data end
  local list = {}
  for i = 1, #data // 8 do list[i] = string.unpack("<i8", data, i * 8 - 7) end
  return list
end

-- A tensor as a constant {dims, data} (onnx_constants.lua): int64 or float32, a handful of numbers.
local function tensor_constant(ctx, t, what)
  if t.data_type == 7 then return { dims = t.dims, data = tensor_ints(ctx, t, what) } end
  if t.data_type ~= 1 or format.product(t.dims) > 4096 then
    fail(ctx, "%s %s is not a small int64 or float32 constant", what, show(t.name))
  end
  local data, list = tensor_bytes(ctx, t, what), {}
  for i = 1, #data // 4 do list[i] = string.unpack("<f", data, i * 4 - 3) end
  return { dims = t.dims, data = list }
end

-- The constant named `name`: computed by an earlier node, or a small initializer; nil when it is neither.
local function constant(ctx, name)
  if ctx.constants[name] then return ctx.constants[name] end
  local t = ctx.inits[name]
  if t and (t.data_type == 7 or (t.data_type == 1 and format.product(t.dims) <= 4096)) then
    return tensor_constant(ctx, t, "initializer")
  end
  return nil
end

-- A constant list of whole numbers (Pad's pads, Reshape's shape), known before run time.
local function constant_ints(ctx, name, what)
  local c = constant(ctx, name)
  if not c then fail(ctx, "%s %s is not a constant (vggc needs it fixed in the file)", what, show(name)) end
  local list = {}
  for i, v in ipairs(c.data) do
    if math.type(v) ~= "integer" then fail(ctx, "%s %s is not a list of whole numbers known before run time", what,
                                           show(name)) end
    list[i] = v
  end
  return list
end

-- A weight: the initializer `name`, whose dims must be `want` (nil entries: any), recorded for the safetensors
-- file. transpose: the 2-D (in, out) weight of a MatMul is written as (out, in).
local function weight(ctx, name, what, want, transpose)
  local t = ctx.inits[name]
  if not t then fail(ctx, "%s %s is not an initializer (vggc needs the weights in the file)", what, show(name)) end
  if ctx.used[name] then
    fail(ctx, "initializer %s is used by two layers (shared weights are not supported)", show(name))
  end
  modules.check_tensor_name(ctx.where .. ": " .. ctx.label .. ": " .. what, name)
  local data, dtype = tensor_bytes(ctx, t, what)
  local ok = data ~= nil and #t.dims == #want and dtype[1] ~= "I64"
  for i, d in ipairs(want) do ok = ok and (d == false or t.dims[i] == d) end
  if not ok then
    local parts = {}
    for i, d in ipairs(want) do parts[i] = d == false and "*" or tostring(d) end
    fail(ctx, "%s %s has shape %s (expected [%s])", what, show(name), dims_text(t.dims), table.concat(parts, ", "))
  end
  local shape = { table.unpack(t.dims) }
  if transpose then
    data = ctx.host.transpose(data, 1, shape[1], shape[2], dtype[2])
    shape = { shape[2], shape[1] }
  end
  ctx.used[name] = true
  ctx.tensors[#ctx.tensors + 1] = { name = name, dtype = dtype[1], shape = shape, data = data }
  return shape
end

-- ---- windows: kernel, strides, pads, dilations ----------------------------------------------------------------

local function pair_attr(ctx, name, default)
  local v = attr(ctx, name, "ints", nil)
  if v == nil then return { default, default } end
  if #v ~= 2 then fail(ctx, "attribute '%s' has %d values (expected 2, for a 2-D input)", name, #v) end
  return v
end

-- pads = {top, left, bottom, right} from auto_pad and pads (ONNX: [h_begin, w_begin, h_end, w_end]).
local function pads_attr(ctx, kernel, strides, dilations)
  local auto = attr(ctx, "auto_pad", "string", "NOTSET")
  local pads = attr(ctx, "pads", "ints", nil)
  if auto == "VALID" or (auto == "NOTSET" and pads == nil) then return { 0, 0, 0, 0 } end
  if auto == "NOTSET" then
    if #pads ~= 4 then fail(ctx, "attribute 'pads' has %d values (expected 4, for a 2-D input)", #pads) end
    for _, p in ipairs(pads) do if p < 0 then fail(ctx, "a negative pad %d is not supported", p) end end
    return { pads[1], pads[2], pads[3], pads[4] }
  end
  if auto ~= "SAME_UPPER" and auto ~= "SAME_LOWER" then fail(ctx, "auto_pad %s is not supported", show(auto)) end
  if strides[1] ~= 1 or strides[2] ~= 1 then
    fail(ctx, "auto_pad %s with stride %dx%d is not supported (stride 1 only: give pads)", auto, strides[1], strides[2])
  end
  local th, tw = dilations[1] * (kernel[1] - 1), dilations[2] * (kernel[2] - 1)
  local small_h, small_w = th // 2, tw // 2
  if auto == "SAME_UPPER" then return { small_h, small_w, th - small_h, tw - small_w } end
  return { th - small_h, tw - small_w, small_h, small_w }
end

-- A Pad node whose output this node reads is folded into its padding (ctx.pad, see OPS.Pad).
local function take_pad(ctx, pads, allowed)
  local p = ctx.pad
  if not p then return pads end
  ctx.pad = nil
  if not allowed then
    errors.raise(ctx.where, "%s: its Pad (value %g) cannot be folded into %s", p.label, p.value, ctx.label)
  end
  return { pads[1] + p.pads[1], pads[2] + p.pads[2], pads[3] + p.pads[3], pads[4] + p.pads[4] }
end

-- 2 for {2, 2}; the list otherwise
local function compact(pair)
  if pair[1] == pair[2] then return pair[1] end
  return pair
end

-- padding as the model file writes it: 1, {1, 2} (height, width) or {top, left, bottom, right}
local function pads_value(pads)
  if pads[1] == pads[3] and pads[2] == pads[4] then return compact({ pads[1], pads[2] }) end
  return pads
end

-- ---- the ops ------------------------------------------------------------------------------------------------

local OPS = {}

-- A module path is a name modules.lua takes: letters, digits, _ and dots, at most 200.
local function module_path(name)
  return name and #name <= 200 and name:match("^[%w_][%w_.]*$") and not name:find("..", 1, true)
         and name:sub(-1) ~= "." and name or nil
end

-- A layer's module name from its weight's ("layer1.conv1.weight" -> "layer1.conv1") or from its node's scopes,
-- where torch writes a Sequential's child as "<the Sequential's name>.<index>" ("/layer1/layer1.0/conv1/Conv" ->
-- "layer1.0.conv1", "/layer2/layer2.0/downsample/downsample.0/Conv" -> "layer2.0.downsample.0"); nil when neither
-- makes one.
local function module_name(ctx, weight_name)
  local from_weight = module_path(weight_name and weight_name:match("^(.+)%.weight$"))
  if from_weight then return from_weight end
  local parts, levels = {}, {}
  for part in ctx.node.name:gmatch("[^/]+") do parts[#parts + 1] = part end
  for i = 1, #parts - 1 do -- "downsample" then "downsample.0": one level, the Sequential's child
    local last = levels[#levels]
    if last and parts[i]:sub(1, #last + 1) == last .. "." then levels[#levels] = parts[i]
    else levels[#levels + 1] = parts[i] end
  end
  return module_path(#levels > 0 and table.concat(levels, ".") or nil)
end

-- tensors = {...} only where a name differs from "<module name>.<role>" (once every entry has its name:
-- onnx_graph.name)
local function tensor_field(entry, roles)
  local own = {}
  for role, name in pairs(roles) do
    if entry.name == nil or name ~= entry.name .. "." .. role then own[role] = name end
  end
  if next(own) then entry.tensors = own end
end

function OPS.Conv(ctx)
  local w, b = input(ctx, 2), input(ctx, 3)
  if not w then fail(ctx, "no weight input") end
  local group = attr(ctx, "group", "int", 1)
  if group ~= 1 then
    fail(ctx, "group %d is not supported (group 1 only: grouped and depthwise convs are not)", group)
  end
  local shape = weight(ctx, w, "weight", { false, false, false, false })
  local kernel = pair_attr(ctx, "kernel_shape", nil)
  if kernel[1] == nil then kernel = { shape[3], shape[4] } end
  if kernel[1] ~= shape[3] or kernel[2] ~= shape[4] then
    fail(ctx, "kernel_shape %dx%d, but the weight is %dx%d", kernel[1], kernel[2], shape[3], shape[4])
  end
  if b then weight(ctx, b, "bias", { shape[1] }) end
  local strides, dilations = pair_attr(ctx, "strides", 1), pair_attr(ctx, "dilations", 1)
  local pads = take_pad(ctx, pads_attr(ctx, kernel, strides, dilations), ctx.pad and ctx.pad.value == 0)
  local entry = { "Conv2d", shape[2], shape[1], compact(kernel), padding = pads_value(pads),
                  name = module_name(ctx, w) }
  if strides[1] ~= 1 or strides[2] ~= 1 then entry.stride = compact(strides) end
  if dilations[1] ~= 1 or dilations[2] ~= 1 then entry.dilation = compact(dilations) end
  if not b then entry.bias = false end
  ctx.roles = { weight = w, bias = b }
  return entry
end

function OPS.Relu(ctx)
  return { "ReLU", name = module_name(ctx) }
end

local function pool_window(ctx, default_pad_ok)
  local kernel = pair_attr(ctx, "kernel_shape", nil)
  if kernel[1] == nil then fail(ctx, "no kernel_shape") end
  local strides = pair_attr(ctx, "strides", 1)
  local pads = take_pad(ctx, pads_attr(ctx, kernel, strides, { 1, 1 }), default_pad_ok)
  return kernel, strides, pads
end

function OPS.MaxPool(ctx)
  if #ctx.node.outputs > 1 and ctx.node.outputs[2] ~= "" then fail(ctx, "the Indices output is not supported") end
  if attr(ctx, "storage_order", "int", 0) ~= 0 then fail(ctx, "storage_order 1 is not supported") end
  -- a Pad of 0 never wins a max over values that are >= 0 (after a ReLU), so it folds like -inf
  local pad_ok = ctx.pad and (ctx.pad.value == -math.huge or (ctx.pad.value == 0 and ctx.nonnegative))
  local dilations = pair_attr(ctx, "dilations", 1)
  local kernel, strides, pads = pool_window(ctx, pad_ok)
  local entry = { "MaxPool2d", compact(kernel), stride = compact(strides),
                  padding = pads_value(pads), name = module_name(ctx) }
  if dilations[1] ~= 1 or dilations[2] ~= 1 then entry.dilation = compact(dilations) end
  if attr(ctx, "ceil_mode", "int", 0) ~= 0 then entry.ceil_mode = true end
  return entry
end

function OPS.AveragePool(ctx)
  local padded = ctx.pad ~= nil -- a Pad of zeros before it: its cells count, as count_include_pad
  local count = attr(ctx, "count_include_pad", "int", 0) ~= 0
  local own = attr(ctx, "pads", "ints", nil)
  local own_pads = own ~= nil and (own[1] ~= 0 or own[2] ~= 0 or own[3] ~= 0 or own[4] ~= 0)
  local kernel, strides, pads = pool_window(ctx, ctx.pad and ctx.pad.value == 0 and (count or not own_pads))
  local entry = { "AvgPool2d", compact(kernel), stride = compact(strides),
                  padding = pads_value(pads), name = module_name(ctx) }
  if attr(ctx, "ceil_mode", "int", 0) ~= 0 then entry.ceil_mode = true end
  if not (count or padded) then entry.count_include_pad = false end
  return entry
end

function OPS.GlobalAveragePool(ctx)
  return { "AdaptiveAvgPool2d", 1, name = module_name(ctx) }
end

-- Pad: remembered, and folded into the Conv or pool right after it.
function OPS.Pad(ctx)
  local mode = attr(ctx, "mode", "string", "constant")
  if mode ~= "constant" then fail(ctx, "mode %s is not supported (constant only)", show(mode)) end
  if input(ctx, 4) then fail(ctx, "the axes input is not supported") end
  local pads = constant_ints(ctx, input(ctx, 2) or "", "pads")
  if #pads ~= 8 then fail(ctx, "%d pads (expected 8, for an N x C x H x W input)", #pads) end
  if pads[1] ~= 0 or pads[2] ~= 0 or pads[5] ~= 0 or pads[6] ~= 0 then
    fail(ctx, "pads the batch or the channels (only height and width can be padded)")
  end
  for _, p in ipairs(pads) do if p < 0 then fail(ctx, "a negative pad %d is not supported", p) end end
  local value = 0.0
  local v = input(ctx, 3)
  if v then
    local c = constant(ctx, v)
    if not c or #c.data ~= 1 or type(c.data[1]) ~= "number" then
      fail(ctx, "constant_value %s is not one number known before run time", show(v))
    end
    value = c.data[1] + 0.0
  end
  local p = { pads[3], pads[4], pads[7], pads[8] }
  if ctx.pad and ctx.pad.value ~= value then fail(ctx, "two Pads in a row with different values (%g, %g)",
                                                  ctx.pad.value, value) end
  if ctx.pad then for i = 1, 4 do p[i] = p[i] + ctx.pad.pads[i] end end
  ctx.pad = { pads = p, value = value, label = ctx.pad and ctx.pad.label or ctx.label }
  return nil
end

function OPS.BatchNormalization(ctx)
  if attr(ctx, "training_mode", "int", 0) ~= 0 then fail(ctx, "training_mode 1 is not supported (inference only)") end
  attr(ctx, "momentum", "float", 0.9)
  local eps = attr(ctx, "epsilon", "float", 1e-5)
  local names = { weight = input(ctx, 2), bias = input(ctx, 3), running_mean = input(ctx, 4),
                  running_var = input(ctx, 5) }
  if not (names.weight and names.bias and names.running_mean and names.running_var) then
    fail(ctx, "needs scale, B, mean and var")
  end
  local c = weight(ctx, names.weight, "scale", { false })[1]
  for _, role in ipairs({ "bias", "running_mean", "running_var" }) do weight(ctx, names[role], role, { c }) end
  if eps <= 0 then fail(ctx, "epsilon %g is not positive", eps) end
  local entry = { "BatchNorm2d", c, eps = eps, name = module_name(ctx, names.weight) }
  ctx.roles = names
  return entry
end

function OPS.LRN(ctx)
  local size = attr(ctx, "size", "int", nil)
  if size == nil then fail(ctx, "no size") end
  if size < 1 or size % 2 == 0 then
    fail(ctx, "size %d is not supported (an odd size: for an even one ONNX and PyTorch sum different channels)", size)
  end
  return { "LocalResponseNorm", size, alpha = attr(ctx, "alpha", "float", 1e-4),
           beta = attr(ctx, "beta", "float", 0.75), k = attr(ctx, "bias", "float", 1.0), name = module_name(ctx) }
end

local function linear(ctx, w, b, transpose)
  local shape = weight(ctx, w, "weight", { false, false }, transpose)
  if b then
    local t = ctx.inits[b]
    local want = t and #t.dims == 2 and { 1, shape[1] } or { shape[1] }
    weight(ctx, b, "bias", want)
    ctx.tensors[#ctx.tensors].shape = { shape[1] }
  end
  local entry = { "Linear", shape[2], shape[1], name = module_name(ctx, w) }
  if not b then entry.bias = false end
  ctx.roles = { weight = w, bias = b }
  return entry
end

function OPS.Gemm(ctx)
  if attr(ctx, "alpha", "float", 1.0) ~= 1.0 or attr(ctx, "beta", "float", 1.0) ~= 1.0 then
    fail(ctx, "alpha and beta other than 1 are not supported")
  end
  if attr(ctx, "transA", "int", 0) ~= 0 then fail(ctx, "transA 1 is not supported") end
  local w = input(ctx, 2)
  if not w then fail(ctx, "no weight input") end
  return linear(ctx, w, input(ctx, 3), attr(ctx, "transB", "int", 0) == 0)
end

-- MatMul with an (in, out) initializer, and the Add of an (out) initializer that alone reads it: a Linear.
function OPS.MatMul(ctx)
  local w = input(ctx, 2)
  if not w then fail(ctx, "no weight input") end
  local readers, b = ctx.readers[ctx.node.outputs[1] or ""] or {}, nil
  local nxt = readers[1]
  if #readers == 1 and nxt.op == "Add" and nxt.inputs[1] == ctx.node.outputs[1] and ctx.inits[nxt.inputs[2] or ""]
     and #nxt.inputs == 2 then
    b = nxt.inputs[2]
    ctx.skip[nxt], ctx.also = true, nxt.outputs[1]
  end
  return linear(ctx, w, b, true)
end

-- The sum of two layers' outputs (`out += identity`); an Add of a constant is a bias, right after its MatMul.
function OPS.Add(ctx)
  if #ctx.data ~= 2 then fail(ctx, "an Add of a constant is supported only right after a MatMul, as its bias") end
  return { "Add", name = module_name(ctx) }
end

-- torch.cat along the channels.
function OPS.Concat(ctx)
  local axis = attr(ctx, "axis", "int", nil)
  if axis ~= 1 and not (axis == -3 and ctx.rank == 4) then
    fail(ctx, "axis %s is not supported (a concatenation along the channels: axis 1)", tostring(axis))
  end
  if #ctx.data ~= #ctx.node.inputs then fail(ctx, "a Concat of constants and layers is not supported") end
  return { "Concat", name = module_name(ctx) }
end

function OPS.Flatten(ctx)
  if attr(ctx, "axis", "int", 1) ~= 1 then fail(ctx, "axis other than 1 is not supported") end
  return { "Flatten", name = module_name(ctx) }
end

-- Reshape to (batch, -1) or (batch, C * H * W), as x.view(x.size(0), -1) exports: a Flatten (net.lua checks the
-- size against ctx.flat).
function OPS.Reshape(ctx)
  if attr(ctx, "allowzero", "int", 0) ~= 0 then fail(ctx, "allowzero 1 is not supported") end
  local shape = constant_ints(ctx, input(ctx, 2) or "", "shape")
  local first, second = shape[1], shape[2]
  if #shape ~= 2 or not (first == -1 or first == 0 or first == ctx.onnx_batch) or not (second == -1 or second >= 1) then
    fail(ctx, "shape %s is not supported (only a flatten to (batch, -1) or (batch, features))", dims_text(shape))
  end
  return { "Flatten", name = module_name(ctx) }, second ~= -1 and second or nil
end

function OPS.Dropout(ctx)
  local training = input(ctx, 3)
  if training then
    local v = constant_ints(ctx, training, "training_mode")
    if v[1] ~= 0 then fail(ctx, "training_mode is true (inference only)") end
  end
  attr(ctx, "seed", "int", 0)
  attr(ctx, "ratio", "float", 0.5)
  return { "Dropout", name = module_name(ctx) }
end

function OPS.Identity(ctx)
  return { "Identity", name = module_name(ctx) }
end

function OPS.Softmax(ctx)
  local axis = attr(ctx, "axis", "int", ctx.opset >= 13 and -1 or 1)
  if axis ~= 1 and axis ~= -1 then fail(ctx, "axis %d is not supported (softmax over the classes)", axis) end
  return { "Softmax", dim = 1, name = module_name(ctx) }
end

M.ops = { "Constant" } -- and the ops of onnx_constants.lua, when they compute constants
for op in pairs(OPS) do M.ops[#M.ops + 1] = op end
table.sort(M.ops)

-- A node that computes a constant from constants (or the Shape of the layers' data): folded, no layer.
local function fold(ctx)
  local node = ctx.node
  local data = ctx.values[node.inputs[1] or ""]
  local shape_of_data = node.op == "Shape" and data ~= nil
  if not (constants.ops[node.op] and (shape_of_data or node.op ~= "Shape")) then return false end
  local inputs = {}
  for i, name in ipairs(node.inputs) do
    if name ~= "" and not shape_of_data then
      inputs[i] = constant(ctx, name)
      if not inputs[i] then return false end
    end
  end
  local function attr_of(name, kind, default)
    if kind == "constant" then
      local t = attr(ctx, name, "tensor", nil)
      return t and tensor_constant(ctx, t, "attribute '" .. name .. "'")
    end
    return attr(ctx, name, kind, default)
  end
  local function fail_fold(fmt, ...) fail(ctx, "cannot compute this constant: " .. fmt, ...) end
  local known = { batch = ctx.onnx_batch, rank = data and data.rank }
  local c = constants.fold(node.op, inputs, #node.inputs, ctx.opset, attr_of, known, fail_fold)
  unread_attributes(ctx)
  if #node.outputs ~= 1 then fail(ctx, "%d outputs (expected 1)", #node.outputs) end
  ctx.constants[node.outputs[1]] = c
  return true
end

-- ---- the graph ----------------------------------------------------------------------------------------------

local function check_opset(where, model)
  local version = model.opsets[""] or model.opsets["ai.onnx"]
  if not version then errors.raise(where, "no ONNX opset is imported (opsets %d to %d)", M.opsets[1], M.opsets[2]) end
  if version < M.opsets[1] or version > M.opsets[2] then
    errors.raise(where, "opset %d is not supported (%d to %d)", version, M.opsets[1], M.opsets[2])
  end
  return version
end

-- The one graph input that is not an initializer: (N, C, H, W) float, C, H and W fixed.
local function graph_input(where, graph, inits)
  local found
  for _, v in ipairs(graph.inputs) do
    if not inits[v.name] then
      if found then errors.raise(where, "two inputs, %s and %s (vggc imports one image input)", show(found.name),
                                 show(v.name)) end
      found = v
    end
  end
  if not found then errors.raise(where, "the graph has no input") end
  local d = found.dims
  if #d ~= 4 or math.type(d[2]) ~= "integer" or math.type(d[3]) ~= "integer" or math.type(d[4]) ~= "integer"
     or d[2] < 1 or d[3] < 1 or d[4] < 1 then
    errors.raise(where, "input %s has shape %s (expected N x C x H x W with C, H and W fixed)", show(found.name),
                 dims_text(d))
  end
  if found.elem_type ~= 1 then errors.raise(where, "input %s is not float32", show(found.name)) end
  return found
end

-- Which inputs of a node are the layers' data: all of an Add's or a Concat's, the first of every other op.
local ALL_DATA = { Add = true, Concat = true }

-- The values (ctx.values) a node reads: ctx.data, their first's rank in ctx.rank, and in ctx.pad the Pad the first
-- one is the output of (folded into a Conv or pool, refused anywhere else).
local function read_data(ctx)
  local node = ctx.node
  if node.domain ~= "" and node.domain ~= "ai.onnx" then fail(ctx, "domain %s is not supported", show(node.domain)) end
  ctx.data, ctx.pad = {}, nil
  for i, name in ipairs(node.inputs) do
    local v = ctx.values[name]
    if v and (i == 1 or ALL_DATA[node.op]) then
      if v.pad and node.op ~= "Conv" and node.op ~= "MaxPool" and node.op ~= "AveragePool" and node.op ~= "Pad" then
        errors.raise(ctx.where, "%s: a Pad is supported only right before a Conv, MaxPool or AveragePool (here %s)",
                     v.pad.label, ctx.label)
      end
      ctx.data[#ctx.data + 1] = v
    end
  end
  local first = ctx.data[1]
  if not first or ctx.values[node.inputs[1]] ~= first then
    fail(ctx, "input 1 %s is not a layer's output or the graph's input (a constant or a weight)",
         show(node.inputs[1] or ""))
  end
  ctx.rank, ctx.pad = first.rank, first.pad
  ctx.nonnegative = (first.pad and first.base or first).nonnegative
end

-- The value a layer's output is: the entry, its rank, and whether it is >= 0 (after a ReLU; a max pool, dropout or
-- identity keeps it, a Concat of such values too).
local KEEPS_SIGN = { MaxPool = true, Dropout = true, Identity = true, Concat = true }

local function output_value(ctx, entry)
  local sources, nonnegative = {}, KEEPS_SIGN[ctx.node.op] or false
  for i, v in ipairs(ctx.data) do
    local base = v.pad and v.base or v
    sources[i], nonnegative = base.entry, nonnegative and base.nonnegative
  end
  ctx.entries[#ctx.entries + 1] = entry
  local n = #ctx.entries
  ctx.origins[n], ctx.sources[n], ctx.ops[n], ctx.entry_roles[n] = ctx.label, sources, ctx.node.op, ctx.roles
  return { entry = n, rank = (entry[1] == "Flatten" or entry[1] == "Linear") and 2 or ctx.rank,
           nonnegative = nonnegative or ctx.node.op == "Relu" }
end

-- An Identity of an initializer is another name for it (torch writes one where two layers' weights are equal).
local function alias(ctx)
  local node = ctx.node
  local t = node.op == "Identity" and ctx.inits[node.inputs[1] or ""]
  if not t or #node.outputs ~= 1 then return false end
  ctx.inits[node.outputs[1]] = t
  return true
end

local function translate_node(ctx)
  local node = ctx.node
  ctx.label = onnx_graph.label(node)
  ctx.read = {}
  if (node.domain == "" or node.domain == "ai.onnx") and (alias(ctx) or fold(ctx)) then return end
  local handler = OPS[node.op]
  local data = ctx.values[node.inputs[1] or ""]
  if node.op == "Gather" and data and data.entry == 0 then -- torchvision's googlenet(transform_input=True)
    fail(ctx, "splits the input into channels, as torchvision's googlenet with transform_input=True does (not "
         .. "supported: export it with transform_input=False and normalize the input with mean 0.5 and std 0.5, "
         .. "which is what transform_input computes from ImageNet's normalization)")
  end
  if not handler then
    fail(ctx, "op %s is not supported (supported: %s)", show(node.op), table.concat(M.ops, ", "))
  end
  read_data(ctx)
  ctx.read, ctx.roles, ctx.also = {}, nil, nil
  local entry, flat = handler(ctx)
  unread_attributes(ctx)
  local out
  if entry then
    out = output_value(ctx, entry)
    ctx.flats[#ctx.entries] = flat
  else -- a Pad: the value it pads, padded
    out = { pad = ctx.pad, base = ctx.data[1].pad and ctx.data[1].base or ctx.data[1], rank = ctx.rank }
  end
  ctx.values[node.outputs[1] or ""] = out
  if ctx.also then ctx.values[ctx.also] = out end
end

local function new_context(where, bytes, host, model)
  local ctx = { where = where, bytes = bytes, host = host, inits = {}, constants = {}, used = {}, tensors = {},
                entries = {}, origins = {}, flats = {}, sources = {}, ops = {}, entry_roles = {}, values = {},
                skip = {}, opset = check_opset(where, model) }
  for _, t in ipairs(model.graph.initializers) do ctx.inits[t.name] = t end
  return ctx
end

-- The graph's one output must be its last layer's (a layer after it would be one nobody reads).
local function check_output(ctx, g)
  if #g.outputs ~= 1 then
    errors.raise(ctx.where, "the graph has %d outputs (vggc imports one output)", #g.outputs)
  end
  local v = ctx.values[g.outputs[1].name]
  if v and v.pad then errors.raise(ctx.where, "%s: a Pad at the end of the graph is not supported", v.pad.label) end
  if #ctx.entries == 0 then errors.raise(ctx.where, "the graph has no layers") end
  if not v or v.entry ~= #ctx.entries then
    errors.raise(ctx.where, "the graph's output %s is not the output of its last layer (vggc imports one output)",
                 show(g.outputs[1].name))
  end
end

-- translate(where, bytes, host, batch option or nil) -> the import (see the top of the file)
function M.translate(where, bytes, host, batch)
  local model = onnx.read(where, bytes)
  local ctx = new_context(where, bytes, host, model)
  local g = model.graph
  local x = graph_input(where, g, ctx.inits)
  ctx.onnx_batch = math.type(x.dims[1]) == "integer" and x.dims[1] or nil
  ctx.values[x.name] = { entry = 0, rank = 4, nonnegative = false }
  local known = { [x.name] = true }
  for name in pairs(ctx.inits) do known[name] = true end
  local nodes
  nodes, ctx.readers = onnx_graph.order(where, g, known)
  for _, node in ipairs(nodes) do
    ctx.node = node
    if not ctx.skip[node] then translate_node(ctx) end
  end
  check_output(ctx, g)
  onnx_graph.name(ctx.entries, ctx.ops, ctx.sources, function(i, e)
    if ctx.entry_roles[i] then tensor_field(e, ctx.entry_roles[i]) end
  end)
  local onnx_batch = ctx.onnx_batch and ctx.onnx_batch >= 1 and ctx.onnx_batch or 1
  return { entries = ctx.entries, origins = ctx.origins, flats = ctx.flats, tensors = ctx.tensors,
           input = { x.dims[2], x.dims[3], x.dims[4] }, batch = batch or onnx_batch }
end

-- ---- the model and the files ----------------------------------------------------------------------------------

-- read(path) -> the file's bytes
function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise(path, "cannot read the ONNX file (%s)", (err:gsub("^.-: ", ""))) end
  local bytes, rerr = f:read("a")
  f:close()
  if not bytes then errors.raise(path, "cannot read the ONNX file (%s)", (tostring(rerr):gsub("^.-: ", ""))) end
  return bytes
end

-- model(imp, path, name) -> the model description (model.lua's) of an import, each layer knowing its node
function M.model(imp, path, name)
  return { source = "onnx file " .. path:gsub("^.*/", ""), input = imp.input, batch = imp.batch, name = name,
           layers = modules.parse_entries(path, imp.entries, imp.origins) }
end

-- A Reshape to (batch, F) must see F features per image.
function M.check(net, imp)
  for _, u in ipairs(net.units) do
    local entry = u.origin and u.kind == "flatten" and imp.flats[u.entry]
    if entry and entry ~= u.output[1] then
      errors.raise(net.model.source, "%s: reshapes to %d features per image, but its input has %d", u.origin, entry,
                   u.output[1])
    end
  end
end

-- files(imp, model, dir, version) -> {{path, text}, ...}: DIR/NAME.lua and DIR/NAME.safetensors
function M.files(imp, model, dir, version, path)
  local comment = { string.format("%s: imported by vggc %s from %s (`vggc import`).", model.name .. ".lua", version,
                                  path:gsub("^.*/", "")),
                    "The per-layer form of a model file (README: Model files); the weights are in "
                    .. model.name .. ".safetensors, named as the ONNX initializers." }
  local text = require("modelfile").text({ name = model.name, input = imp.input, batch = imp.batch,
                                          entries = imp.entries, comment = comment })
  local weights = require("safetensors").bytes(imp.tensors, { format = "pt", producer = "vggc import " .. version })
  return { { path = dir .. "/" .. model.name .. ".lua", text = text },
           { path = dir .. "/" .. model.name .. ".safetensors", text = weights } }
end

return M
