-- modules.lua — the per-layer model form: PyTorch modules written as Lua tables,
--   { "Conv2d", 3, 64, 11, stride = 4, padding = 2 }        -- nn.Conv2d(3, 64, 11, stride=4, padding=2)
-- Positional values are the constructor's parameters in PyTorch's order, named ones its keyword arguments; `name`
-- is the module's state_dict prefix. { "Sequential", name = "features", {...}, {...} } names its children
-- "features.0", "features.1", ... as nn.Sequential does, unless a child has a name of its own, which is then
-- appended ("layer1" + "conv1" -> "layer1.conv1"). The model's `layers` list counts like an unnamed Sequential.
-- A layer's tensors are named "<name>.weight", "<name>.bias", ... unless `tensors` names them itself:
--   { "Conv2d", 3, 64, 3, tensors = { weight = "onnx::Conv_156", bias = "onnx::Conv_157" } }
-- A network that branches names inputs: an entry reads the entry before it in its list (the first one the list's
-- input), unless `from` names what it reads: an entry of its list or of a list around it, by name ("branch1",
-- "layer1.0.bn2"), or "input", the input of its list. { "Concat", from = { "branch1", "branch2" } } is
-- torch.cat([...], 1), { "Add", from = { "bn2", "downsample" } } is `out += identity` (graph.lua wires the names).
--
-- parse(where, list) -> the model's layers, flat, in order: {type, kind, name, inputs, ...} (fields below per kind).
local errors = require("errors")
local format = require("format")
local graph = require("graph")
local sizes = require("sizes")
local window = require("window")

local M = {}

local LIMIT = 1 << 20 -- no size, count or width past a million (as model.lua)
local MAX_LAYERS = 4096
local MAX_DEPTH = 8 -- Sequentials inside Sequentials

local REQUIRED = {} -- a parameter without a default
local SAME_AS_KERNEL = {} -- a pool's stride defaults to its kernel size

-- type -> its parameters in PyTorch's order, {name, default}
local SIGNATURES = {
  Conv2d = { { "in_channels", REQUIRED }, { "out_channels", REQUIRED }, { "kernel_size", REQUIRED }, { "stride", 1 },
             { "padding", 0 }, { "dilation", 1 }, { "groups", 1 }, { "bias", true }, { "padding_mode", "zeros" } },
  MaxPool2d = { { "kernel_size", REQUIRED }, { "stride", SAME_AS_KERNEL }, { "padding", 0 }, { "dilation", 1 },
                { "return_indices", false }, { "ceil_mode", false } },
  AvgPool2d = { { "kernel_size", REQUIRED }, { "stride", SAME_AS_KERNEL }, { "padding", 0 }, { "ceil_mode", false },
                { "count_include_pad", true }, { "divisor_override", false } },
  AdaptiveAvgPool2d = { { "output_size", REQUIRED } },
  BatchNorm2d = { { "num_features", REQUIRED }, { "eps", 1e-5 }, { "momentum", 0.1 }, { "affine", true },
                  { "track_running_stats", true } },
  LocalResponseNorm = { { "size", REQUIRED }, { "alpha", 1e-4 }, { "beta", 0.75 }, { "k", 1.0 } },
  ReLU = { { "inplace", false } },
  Dropout = { { "p", 0.5 }, { "inplace", false } },
  Dropout2d = { { "p", 0.5 }, { "inplace", false } },
  Flatten = { { "start_dim", 1 }, { "end_dim", -1 } },
  Linear = { { "in_features", REQUIRED }, { "out_features", REQUIRED }, { "bias", true } },
  Softmax = { { "dim", 1 } },
  Identity = {},
  Concat = { { "dim", 1 } },
  Add = {},
}

M.types = { "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "LocalResponseNorm",
            "Dropout", "Dropout2d", "Flatten", "Linear", "Softmax", "Identity", "Concat", "Add", "Sequential" }

-- ---- values --------------------------------------------------------------------------------------------------

local function show(v)
  if type(v) == "string" then return "'" .. (#v > 60 and v:sub(1, 60) .. "..." or v) .. "'" end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

-- A whole number from lo to LIMIT.
function M.whole(where, what, v, lo)
  if math.type(v) ~= "integer" or v < lo then
    errors.raise(where, "%s %s must be a whole number >= %d", what, show(v), lo)
  end
  if v > LIMIT then errors.raise(where, "%s %d is too large (at most %d)", what, v, LIMIT) end
  return v
end

-- An int, or a list of `count` ints (PyTorch's int-or-tuple), each from lo.
local function ints(where, what, v, lo, count)
  if type(v) ~= "table" then
    local n = M.whole(where, what, v, lo)
    local list = {}
    for i = 1, count do list[i] = n end
    return list
  end
  if #v ~= count then errors.raise(where, "%s must be one number or %d numbers", what, count) end
  local list = {}
  for i = 1, count do list[i] = M.whole(where, what, v[i], lo) end
  return list
end

local function boolean(where, what, v)
  if type(v) ~= "boolean" then errors.raise(where, "%s %s must be true or false", what, show(v)) end
  return v
end

-- A finite number above lo (eps, alpha, ...).
local function real(where, what, v, lo)
  if type(v) ~= "number" or v ~= v or v == math.huge or v <= lo then
    errors.raise(where, "%s %s must be a number > %g", what, show(v), lo)
  end
  return v + 0.0
end

-- padding: n, {h, w}, {top, left, bottom, right} (as ONNX's pads, which may differ per side), or for Conv2d
-- 'valid' and 'same'. -> {top, left, bottom, right}
local function padding(where, v, conv)
  if v == "valid" and conv then return { 0, 0, 0, 0 } end
  if v == "same" and conv then return "same" end
  if type(v) == "string" then
    errors.raise(where, "padding '%s' is not supported (a number, {h, w}, {top, left, bottom, right}%s)", v,
                 conv and ", 'valid' or 'same'" or "")
  end
  if type(v) == "table" and #v == 4 then return ints(where, "padding", v, 0, 4) end
  local hw = ints(where, "padding", v, 0, 2)
  return { hw[1], hw[2], hw[1], hw[2] }
end

-- ---- one entry's arguments -----------------------------------------------------------------------------------

-- The tensors a layer type has, for `tensors = {...}`.
local TENSORS = { Conv2d = { "weight", "bias" }, Linear = { "weight", "bias" },
                  BatchNorm2d = { "weight", "bias", "running_mean", "running_var" } }

-- A tensor's own name: what a safetensors header and a C string can hold as it is.
function M.check_tensor_name(where, name)
  local ok = type(name) == "string" and #name >= 1 and #name <= 200 and name:match("^[%w_.:/%-]+$")
  if not ok then
    errors.raise(where, "tensor name %s is not one vggc can use (letters, digits and _ . : / -; at most 200)",
                 show(name))
  end
  return name
end

-- tensors = {weight = "...", ...} -> the same table, checked
local function tensor_names(where, type_, v)
  if v == nil then return nil end
  local roles = TENSORS[type_]
  if not roles or type(v) ~= "table" then
    errors.raise(where, "tensors must be a table naming %s", roles and table.concat(roles, ", ") or "nothing here")
  end
  local known = {}
  for _, role in ipairs(roles) do known[role] = true end
  local names = {}
  for role, name in pairs(v) do
    if not known[role] then
      errors.raise(where, "tensors: %s is not a tensor of %s (%s)", show(role), type_, table.concat(roles, ", "))
    end
    names[role] = M.check_tensor_name(where .. ": tensors." .. role, name)
  end
  return names
end

-- A layer's tensor by role ("weight", "bias", "running_mean", ...): its own name, else "<module name>.<role>".
function M.tensor_name(layer, role)
  return layer.tensor_names and layer.tensor_names[role] or layer.name .. "." .. role
end

-- The entry's arguments by name, defaults filled in; unknown names and a parameter given twice are errors.
local function arguments(where, entry, sig, type_)
  local args, known = {}, { name = true, tensors = true, from = true }
  for i, p in ipairs(sig) do
    known[p[1]] = true
    local positional = entry[i + 1]
    if positional ~= nil and entry[p[1]] ~= nil then errors.raise(where, "'%s' given twice", p[1]) end
    local v = positional
    if v == nil then v = entry[p[1]] end
    if v == nil then v = p[2] end
    if v == REQUIRED then errors.raise(where, "%s needs %s", type_, p[1]) end
    args[p[1]] = v
  end
  if #entry > #sig + 1 then
    errors.raise(where, "%d positional arguments (%s takes at most %d)", #entry - 1, type_, #sig)
  end
  for k in pairs(entry) do
    local positional = math.type(k) == "integer" and k >= 1 and k <= #sig + 1
    if not known[k] and not positional then
      local names = {}
      for i, p in ipairs(sig) do names[i] = p[1] end
      names[#names + 1] = "name"
      names[#names + 1] = "from"
      errors.raise(where, "unknown argument %s (%s takes %s)", show(k), type_, table.concat(names, ", "))
    end
  end
  return args
end

-- Settings PyTorch has that vggc does not run are refused by name.
local function refuse(where, args, key, want, what)
  if args[key] ~= want then errors.raise(where, "%s = %s is not supported (%s)", key, show(args[key]), what) end
end

local function pool_stride(where, args, k)
  if args.stride == SAME_AS_KERNEL then return { k[1], k[2] } end
  return ints(where, "stride", args.stride, 1, 2)
end

-- PyTorch: "pad should be at most half of effective kernel size".
local function check_pool_padding(where, win)
  for _, dim in ipairs({ "h", "w" }) do
    local w = win[dim]
    if math.max(w.p0, w.p1) * 2 > w.d * (w.k - 1) + 1 then
      errors.raise(where, "padding %d is more than half the kernel %d (PyTorch's limit for pools)",
                   math.max(w.p0, w.p1), w.k)
    end
  end
end

-- ---- one layer per type --------------------------------------------------------------------------------------

local MAKE = {}

function MAKE.Conv2d(where, a)
  refuse(where, a, "padding_mode", "zeros", "zero padding only")
  if a.groups ~= 1 then
    M.whole(where, "groups", a.groups, 1)
    errors.raise(where, "groups = %s is not supported yet (only groups = 1: grouped and depthwise convs are not)",
                 show(a.groups))
  end
  local k, s, d = ints(where, "kernel_size", a.kernel_size, 1, 2), ints(where, "stride", a.stride, 1, 2),
                  ints(where, "dilation", a.dilation, 1, 2)
  local pads = padding(where, a.padding, true)
  if pads == "same" then
    if s[1] ~= 1 or s[2] ~= 1 then errors.raise(where, "padding 'same' needs stride 1 (as in PyTorch)") end
    local t, b = sizes.same_padding(k[1], d[1])
    local l, r = sizes.same_padding(k[2], d[2])
    pads = { t, l, b, r }
  end
  return { kind = "conv", cin = M.whole(where, "in_channels", a.in_channels, 1),
           out = M.whole(where, "out_channels", a.out_channels, 1), win = window.new(k, s, pads, d, false),
           bias = boolean(where, "bias", a.bias) }
end

function MAKE.MaxPool2d(where, a)
  refuse(where, a, "return_indices", false, "no indices are returned")
  local k = ints(where, "kernel_size", a.kernel_size, 1, 2)
  local win = window.new(k, pool_stride(where, a, k), padding(where, a.padding, false),
                     ints(where, "dilation", a.dilation, 1, 2), boolean(where, "ceil_mode", a.ceil_mode))
  check_pool_padding(where, win)
  return { kind = "maxpool", win = win }
end

function MAKE.AvgPool2d(where, a)
  refuse(where, a, "divisor_override", false, "the divisor is the window's size")
  local k = ints(where, "kernel_size", a.kernel_size, 1, 2)
  local win = window.new(k, pool_stride(where, a, k), padding(where, a.padding, false), { 1, 1 },
                     boolean(where, "ceil_mode", a.ceil_mode))
  check_pool_padding(where, win)
  return { kind = "avgpool2d", win = win, count_include_pad = boolean(where, "count_include_pad", a.count_include_pad) }
end

function MAKE.AdaptiveAvgPool2d(where, a)
  local o = ints(where, "output_size", a.output_size, 1, 2)
  return { kind = "avgpool", oh = o[1], ow = o[2] }
end

function MAKE.BatchNorm2d(where, a)
  refuse(where, a, "affine", true, "BatchNorm2d with its weight and bias")
  refuse(where, a, "track_running_stats", true, "BatchNorm2d with running statistics")
  real(where, "momentum", a.momentum, -1)
  return { kind = "batchnorm", features = M.whole(where, "num_features", a.num_features, 1),
           eps = real(where, "eps", a.eps, 0) }
end

function MAKE.LocalResponseNorm(where, a)
  return { kind = "lrn", size = M.whole(where, "size", a.size, 1), alpha = real(where, "alpha", a.alpha, -math.huge),
           beta = real(where, "beta", a.beta, -math.huge), k = real(where, "k", a.k, 0) }
end

local function inplace(where, a)
  boolean(where, "inplace", a.inplace)
end

function MAKE.ReLU(where, a)
  inplace(where, a)
  return { kind = "relu" }
end

function MAKE.Dropout(where, a)
  inplace(where, a)
  local p = a.p
  if type(p) ~= "number" or not (p >= 0 and p <= 1) then
    errors.raise(where, "p %s must be a number from 0 to 1", show(p))
  end
  return { kind = "identity", p = p + 0.0 }
end
MAKE.Dropout2d = MAKE.Dropout

function MAKE.Identity()
  return { kind = "identity" }
end

function MAKE.Flatten(where, a)
  if a.start_dim ~= 1 or (a.end_dim ~= -1 and a.end_dim ~= 3) then
    errors.raise(where, "only Flatten(1, -1) is supported (every dimension but the batch)")
  end
  return { kind = "flatten" }
end

function MAKE.Linear(where, a)
  return { kind = "linear", fin = M.whole(where, "in_features", a.in_features, 1),
           out = M.whole(where, "out_features", a.out_features, 1), bias = boolean(where, "bias", a.bias) }
end

function MAKE.Concat(where, a)
  if a.dim ~= 1 and a.dim ~= -3 then
    errors.raise(where, "dim %s is not supported (torch.cat along the channels: dim = 1)", show(a.dim))
  end
  return { kind = "concat" }
end

function MAKE.Add()
  return { kind = "add" }
end

function MAKE.Softmax(where, a)
  if a.dim ~= 1 and a.dim ~= -1 then
    errors.raise(where, "dim %s is not supported (softmax over the classes: dim = 1)", show(a.dim))
  end
  return { kind = "softmax" }
end

-- ---- the list ------------------------------------------------------------------------------------------------

-- A child's state_dict prefix: its own name, else its index from 0, after its parent's.
local function child_name(prefix, i, own)
  local part = own ~= nil and own or string.format("%d", i - 1)
  return prefix and prefix .. "." .. part or part
end

local function check_name(where, name)
  local ok = type(name) == "string" and #name <= 200 and name:match("^[%w_][%w_.]*$") and not name:find("..", 1, true)
             and name:sub(-1) ~= "."
  if not ok then
    errors.raise(where, "name %s is not a module name (letters, digits, _ and dots, like 'features.0'; at most 200)",
                 show(name))
  end
end

-- from = "name" or {"name", ...}: the refs as a list, each a module name or "input"
local MAX_FROM = 64

local function parse_from(where, v)
  if v == nil then return nil end
  local list = type(v) == "table" and v or { v }
  if #list == 0 or #list > MAX_FROM then
    errors.raise(where, "from must name 1 to %d inputs (a name, or a list of names like {'branch1', 'branch2'})",
                 MAX_FROM)
  end
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > #list then errors.raise(where, "from must be a list of names") end
  end
  for i = 1, #list do check_name(where .. ": from", list[i]) end
  return list
end

-- How many inputs a type takes: Add two, Concat one or more, every other one.
local function check_arity(where, type_, from)
  local n = from and #from or 1
  if type_ == "Add" and n ~= 2 then
    errors.raise(where, "Add needs from = {a, b}, the two tensors it adds (%s)",
                 from and string.format("%d named", n) or "none named")
  elseif type_ ~= "Add" and type_ ~= "Concat" and n ~= 1 then
    errors.raise(where, "from names %d inputs, but %s takes one", n, type_)
  elseif type_ == "Concat" and not from then
    errors.raise(where, "Concat needs from = {...}, the tensors it concatenates along the channels")
  end
end

local parse_list

-- One entry of a list: a layer, or a Sequential whose children become a scope of their own (graph.lua).
local function parse_entry(ctx, where, entry, prefix, index, scope)
  if type(entry) ~= "table" then
    errors.raise(where, "%s is not a layer (expected a table like {'Conv2d', 3, 64, 3})", show(entry))
  end
  local type_ = entry[1]
  if entry.name ~= nil then check_name(where, entry.name) end
  local name = child_name(prefix, index, entry.name)
  local node = { own = entry.name ~= nil and entry.name or string.format("%d", index - 1), in_scope = scope,
                 index = #scope.list + 1, where = where }
  node.from = parse_from(where, entry.from)
  scope.list[node.index], ctx.nodes[#ctx.nodes + 1] = node, node
  if scope.names[node.own] == nil then scope.names[node.own] = node else scope.names[node.own] = false end
  if type_ == "Sequential" then
    if node.from and #node.from ~= 1 then errors.raise(where, "from names %d inputs, but a Sequential takes one",
                                                       #node.from) end
    node.scope = { owner = node, parent = scope, names = {}, list = {} }
    return parse_list(ctx, where, entry, name, 2, node.scope)
  end
  local sig = SIGNATURES[type_]
  if not sig then
    errors.raise(where, "%s is not a module vggc knows (expected one of: %s)", show(type_), table.concat(M.types, ", "))
  end
  where = string.format("%s (%s)", where, type_)
  node.where = where
  check_arity(where, type_, node.from)
  local layer = MAKE[type_](where, arguments(where, entry, sig, type_))
  layer.type, layer.name, layer.where = type_, name, where
  layer.tensor_names = tensor_names(where, type_, entry.tensors)
  node.layer = layer
  ctx.layers[#ctx.layers + 1] = layer
  if #ctx.layers > MAX_LAYERS then errors.raise(where, "more than %d layers", MAX_LAYERS) end
end

-- The entries list[first], list[first + 1], ... as children of the module named prefix (nil at the top).
function parse_list(ctx, where, list, prefix, first, scope)
  ctx.depth = ctx.depth + 1
  if ctx.depth > MAX_DEPTH then errors.raise(where, "Sequentials nested more than %d deep", MAX_DEPTH) end
  if #list > MAX_LAYERS then errors.raise(where, "%d entries is too many (at most %d)", #list, MAX_LAYERS) end
  for k in pairs(list) do
    if math.type(k) ~= "integer" and k ~= "name" and k ~= "from" then
      errors.raise(where, "unknown field %s in a Sequential (its children, name and from)", show(k))
    end
  end
  for i = first, #list do -- not ipairs: a hole is an error at its index
    parse_entry(ctx, string.format("%s[%d]", where, i - first + 1), list[i], prefix, i - first + 1, scope)
  end
  ctx.depth = ctx.depth - 1
end

local function new_context(depth)
  return { layers = {}, nodes = {}, depth = depth, top = { names = {}, list = {} } }
end

-- parse_entries(where, {entry, ...}, {origin, ...}) -> {layer, ...}: entries of the top-level list, each with the
-- place it came from (vggc import: its ONNX node), which also names the layer in later messages (layer.origin).
function M.parse_entries(where, entries, origins)
  local ctx = new_context(1)
  for i, entry in ipairs(entries) do
    local first = #ctx.layers + 1
    parse_entry(ctx, where .. ": " .. origins[i], entry, nil, i, ctx.top)
    for j = first, #ctx.layers do ctx.layers[j].origin, ctx.layers[j].entry = origins[i], i end
  end
  graph.wire(ctx.nodes)
  return ctx.layers
end

-- parse("net.lua: layers", spec.layers) -> {layer, ...}
function M.parse(where, list)
  if type(list) ~= "table" or #list == 0 then
    errors.raise(where, "must be a non-empty list of layers like {{'Conv2d', 1, 6, 5}, {'ReLU'}}")
  end
  local ctx = new_context(0)
  parse_list(ctx, where, list, nil, 1, ctx.top)
  graph.wire(ctx.nodes)
  return ctx.layers
end

-- ---- the other way: the torch module a layer is ------------------------------------------------------------

-- 3 for {3, 3}, else the list
local function int_or_pair(a, b)
  if a == b then return a end
  return { a, b }
end

local function window_fields(m, win, pool)
  local h, w = win.h, win.w
  m.kernel_size = int_or_pair(h.k, w.k)
  if pool or h.s ~= 1 or w.s ~= 1 then m.stride = int_or_pair(h.s, w.s) end
  if h.p0 == h.p1 and w.p0 == w.p1 then
    if h.p0 ~= 0 or w.p0 ~= 0 or not pool then m.padding = int_or_pair(h.p0, w.p0) end
  else
    m.padding = { h.p0, w.p0, h.p1, w.p1 }
  end
  if h.d ~= 1 or w.d ~= 1 then m.dilation = int_or_pair(h.d, w.d) end
  if h.ceil then m.ceil_mode = true end
end

local DESCRIBE = {
  conv = function(m, l, u)
    m.in_channels, m.out_channels = u.input[1], l.out
    window_fields(m, l.win, false)
    if not l.bias then m.bias = false end
  end,
  batchnorm = function(m, l, u) m.num_features, m.eps = u.out, l.eps end,
  maxpool = function(m, l) window_fields(m, l.win, true) end,
  avgpool2d = function(m, l)
    window_fields(m, l.win, true)
    if not l.count_include_pad then m.count_include_pad = false end
  end,
  avgpool = function(m, l) m.output_size = { l.oh, l.ow } end,
  lrn = function(m, l) m.size, m.alpha, m.beta, m.k = l.size, l.alpha, l.beta, l.k end,
  linear = function(m, l, u)
    m.in_features, m.out_features = format.product(u.input), l.out
    if not l.bias then m.bias = false end
  end,
  identity = function(m, l) m.p = l.p end,
  softmax = function(m) m.dim = 1 end,
}

-- describe(layer, unit) -> {name, type, ...}: the layer as a torch module, for `vggc report --json`
-- (tools/vggc_torch.py builds PyTorch models from it); only the arguments that differ from PyTorch's defaults,
-- and always a conv's padding.
function M.describe(layer, u)
  local m = { name = layer.name, type = layer.type }
  local fill = DESCRIBE[layer.kind]
  if fill then fill(m, layer, u) end
  return m
end

return M
