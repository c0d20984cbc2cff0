-- mcu.lua — the generated C for a Cortex-M target: NAME.h and NAME.c calling only the freestanding kernels
-- (runtime/freestanding/, written beside them as vggc_fs.h and vggc_fs_*.c), and the weights as const data:
-- NAME_weights.bin (float32, BatchNorm folded in) placed in flash by NAME_weights.S with .incbin, so even large
-- weights never become C text.
local errors = require("errors")
local format = require("format")
local kinds = require("layers")
local target_ = require("target")
local template = require("template")
local window = require("window")

local M = {}

local FREESTANDING = { "conv", "dense", "pool", "activation", "graph" }

-- ---- the weights --------------------------------------------------------------------------------------------

-- The loader's manifest: every tensor of every unit (BatchNorm's too), the folds and the zero biases.
local function manifest(net)
  local tensors, index, folds, zeros = {}, {}, {}, {}
  for _, u in ipairs(net.units) do
    for _, t in ipairs(u.tensors) do
      tensors[#tensors + 1] = { name = t.name, shape = t.shape, param = t.param }
      index[t.name] = #tensors
    end
  end
  for _, u in ipairs(net.units) do
    if u.bias_zeroed then
      zeros[#zeros + 1] = { name = u.bias_name, count = u.bias_zeroed }
      index[u.bias_name] = #tensors + #zeros
    end
  end
  for _, u in ipairs(net.units) do
    local f = kinds[u.kind].fold and kinds[u.kind].fold(u, u.input)
    if f then
      folds[#folds + 1] = { weight = index[f.weight], bias = index[f.bias], gamma = index[f.gamma],
                            beta = index[f.beta], mean = index[f.mean], var = index[f.var], channels = f.channels,
                            per_channel = f.per_channel, eps = f.eps }
    end
  end
  return tensors, folds, zeros
end

-- The alignment (bytes) of the blob and of each array in it: on the host the kernels read whole 64-byte lines (an
-- FC weight off a line makes every AVX-512 load span two), so each array starts on one, zero-padded; a Cortex-M
-- target packs them (flash is counted to the byte; its kernels read floats).
local function blob_align(net)
  return net.target and 16 or 64
end

-- read(host, net, path, by_order) -> {bytes, offsets = {name = float offset}}: the arrays the kernels read, in
-- target.arrays order, from the safetensors file (checked and folded by the runtime's own loader).
function M.read(host, net, path, by_order)
  local tensors, folds, zeros = manifest(net)
  local data, message = host.read_weights(path, net.model.name, tensors, folds, zeros, by_order)
  if not data then errors.raise("--weights", "%s", message) end
  local parts, offsets, at, step = {}, {}, 0, net.target and 1 or blob_align(net) // 4
  for _, a in ipairs(target_.arrays(net)) do
    local pad = (step - at % step) % step
    if pad > 0 then parts[#parts + 1], at = string.rep("\0", 4 * pad), at + pad end
    local bytes = data[a.name]
    if a.role == "weight" and a.unit.packed then -- the host's vggc_dense reads it packed (vggc_dense_pack)
      local shape = a.unit.tensors[1].shape
      bytes = host.dense_pack(bytes, shape[2], shape[1])
    end
    parts[#parts + 1], offsets[a.name] = bytes, at
    at = at + #bytes // 4
  end
  return { bytes = table.concat(parts), offsets = offsets, floats = at }
end

-- ---- the calls -------------------------------------------------------------------------------------------------

-- A layer's window as a const object in flash (a compound literal would be built on the stack at every call):
-- its declaration goes into ctx.windows, the call passes its address.
local function fs_window(u, ctx)
  local h, w = u.win.h, u.win.w
  ctx.windows[#ctx.windows + 1] = string.format("static const vggc_fs_window window_%d = {%d, %d, %d, %d, %d, %d, %d, "
                                                .. "%d, %d, %d};", u.number, h.k, w.k, h.s, w.s, h.p0, w.p0, h.p1,
                                                w.p1, h.d, w.d)
  return "&window_" .. u.number
end

-- per kind: the template and its values (beyond dst, src, n)
local CALLS = {
  conv = function(u, ctx)
    local v = { weight = ctx.array(u.weight_name), bias = ctx.array(u.bias_name), cin = u.input[1],
                cout = u.out, relu = u.relu and 1 or 0 }
    if u.algo == "conv3x3" then
      v.h, v.w, v.pool = u.input[2], u.input[3], u.pool and 1 or 0
      v.scratch = u.pool and u.work_tensor.name or "NULL"
      return "conv3x3", v
    elseif u.algo == "pointwise" then
      v.hw = u.input[2] * u.input[3]
      return "conv1x1", v
    end
    v.h, v.w, v.oh, v.ow, v.window = u.input[2], u.input[3], u.output[2], u.output[3], fs_window(u, ctx)
    v.fn = u.algo == "naive" and "vggc_fs_conv_ref" or "vggc_fs_conv"
    return "conv", v
  end,
  linear = function(u, ctx)
    return "linear", { fn = u.algo == "naive" and "vggc_fs_linear_ref" or "vggc_fs_linear",
                       weight = ctx.array(u.weight_name), bias = ctx.array(u.bias_name),
                       in_f = format.product(u.input), out_f = u.out, relu = u.relu and 1 or 0 }
  end,
  maxpool = function(u, ctx)
    return "maxpool", { c = u.input[1], h = u.input[2], w = u.input[3], oh = u.output[2], ow = u.output[3],
                        window = fs_window(u, ctx) }
  end,
  avgpool2d = function(u, ctx)
    return "avgpool2d", { c = u.input[1], h = u.input[2], w = u.input[3], oh = u.output[2], ow = u.output[3],
                          window = fs_window(u, ctx), count_pad = u.count_include_pad and 1 or 0 }
  end,
  avgpool = function(u)
    return "avgpool", { c = u.input[1], h = u.input[2], w = u.input[3], oh = u.output[2], ow = u.output[3] }
  end,
  relu = function(u, ctx)
    return "relu", { count = format.product(u.input) * ctx.batch }
  end,
  softmax = function(u) return "softmax", { c = u.input[1] } end,
  add = function(u)
    return "add", { other = require("plan").expr(u.srcs[2]), count = format.product(u.output), relu = u.relu and 1 or 0 }
  end,
  concat = function(u, ctx) -- one copy per input; the calls' own dst and src
    local list, expr = {}, require("plan").expr
    for _, c in ipairs(u.copies) do
      local s = u.input_shapes[c.input]
      list[#list + 1] = { dst = expr(u.dst_value), src = expr(u.srcs[c.input]), n = ctx.batch, ctotal = u.output[1],
                          c0 = c.c0, c = s[1], hw = s[2] * s[3] }
    end
    return "concat_copy", list
  end,
  lrn = function(u)
    local v = kinds.lrn.args(u, u.input)
    v.c, v.h, v.w = u.input[1], u.input[2], u.input[3]
    return "lrn", v
  end,
}

local function describe(u)
  if u.kind ~= "conv" then return kinds[u.kind].describe(u, u.input) end
  local h, w = u.win.h, u.win.w
  return string.format("conv%dx%d %d -> %d, %s, %s%s%s%s [%s]", h.k, w.k, u.input[1], u.out, window.describe(u.win),
                       u.bias and "+ bias" or "no bias",
                       u.bn and string.format(", batchnorm %s folded in by vggc", u.bn.name) or "",
                       u.relu and ", relu" or "", u.pool and ", maxpool 2x2 fused" or "", u.algo)
end

local function comment(u)
  return table.concat({ string.format("    /* layer %d: %s", u.number, describe(u)),
                        string.format("     *   from %s  in  %s  out %s   %s params   %s MACs */",
                                      require("emit").from_text(u), format.tuple(u.input), format.tuple(u.output),
                                      format.thousands(u.params), format.mega(u.macs)) },
                      "\n")
end

local function layer_call(host, u, ctx)
  if not u.computes then
    return u.fused and string.format("    /* done by layer %d */", u.fused.number) or "    /* nothing to run */"
  end
  local name, v = CALLS[u.kind](u, ctx)
  local fill = function(values)
    return "    " .. template.fill(template.load(host, "templates/mcu/" .. name .. ".c.in"), values):gsub("\n$", "")
  end
  if u.kind == "concat" then
    local lines = {}
    for i, values in ipairs(v) do lines[i] = fill(values) end
    return table.concat(lines, "\n")
  end
  v.dst, v.src = u.dst, u.src
  if name ~= "relu" then v.n = ctx.batch end -- relu counts the whole batch's elements
  return fill(v)
end

-- the calls, and the windows they pass
local function layers(host, net)
  local ctx = { array = require("emit").c_name, batch = net.model.batch, windows = {} }
  local blocks = {}
  for _, u in ipairs(net.units) do blocks[#blocks + 1] = comment(u) .. "\n" .. layer_call(host, u, ctx) end
  local windows = #ctx.windows > 0 and "\n/* the windows of the layers that take any window */\n"
                  .. table.concat(ctx.windows, "\n") .. "\n" or ""
  return table.concat(blocks, "\n\n"), windows
end

-- ---- the files ---------------------------------------------------------------------------------------------------

local function pointers(net, blob)
  local lines, c_name = {}, require("emit").c_name
  for _, a in ipairs(target_.arrays(net)) do
    local shape = a.role == "weight" and a.unit.tensors[1].shape or { a.count }
    if a.unit.packed and a.role == "weight" then -- a host linear layer's, transposed by mcu.read
      shape = { shape[2], shape[1] }
    end
    if a.unit.prepared and a.role == "weight" then -- a host conv on a prepared copy reads it only before main
      lines[#lines + 1] = string.format("/* %s %s at %s_weights + %d: made into %s before main */", a.name,
                                        format.tuple(shape), net.model.name, blob.offsets[a.name],
                                        c_name(a.name) .. a.unit.prepared.suffix)
    else
      lines[#lines + 1] = string.format("static const float *const %s = %s_weights + %d; /* %s %s */", c_name(a.name),
                                        net.model.name, blob.offsets[a.name], a.name, format.tuple(shape))
    end
  end
  return table.concat(lines, "\n")
end

local function values(host, net, plan, command)
  local m, mem, t = net.model, net.memory, net.target
  local buffers = {}
  for _, b in ipairs(plan.buffers) do buffers[#buffers + 1] = b.name .. " " .. format.thousands(b.floats * 4) end
  return {
    name = m.name, PREFIX = m.name:upper(), version = host.version, source = m.source, command = command,
    target = string.format("%s (%s)", t.name, t.part), input = format.shape(m.input), batch = m.batch,
    classes = m.classes, static_bytes = plan.static_bytes, flash_bytes = mem.flash, weights_bytes = mem.weights,
    code_bytes = mem.code, ram_bytes = mem.ram, stack_bytes = mem.stack, buffer_list = table.concat(buffers, ", "),
  }
end

local function header(host, net, plan, command)
  local v, m = values(host, net, plan, command), net.model
  v.in_c, v.in_h, v.in_w, v.params, v.n_layers = m.input[1], m.input[2], m.input[3], net.total_params, #net.units
  v.in_count, v.out_count = m.batch * format.product(m.input), m.batch * m.classes
  v.workspace_floats = math.max(plan.floats, 1)
  v.static_bytes, v.buffer_list, v.code_bytes = v.workspace_floats * 4, nil, nil
  return template.fill(template.load(host, "templates/mcu/model.h.in"), v)
end

-- The weights' declarations: the blob NAME_weights.S places, and a const pointer into it per array (emit.lua's
-- host files use them too when the weights are built in).
function M.weight_decls(net, blob)
  return string.format("extern const float %s_weights[%d];\n\n", net.model.name, blob.floats) .. pointers(net, blob)
end

-- NAME_weights.bin and NAME_weights.S
function M.blob_files(host, net, dir, command, blob)
  local name = net.model.name
  return {
    { path = dir .. "/" .. name .. "_weights.bin", text = blob.bytes },
    { path = dir .. "/" .. name .. "_weights.S",
      text = template.fill(template.load(host, "templates/mcu/weights.S.in"),
                           { name = name, version = host.version, command = command, bytes = #blob.bytes,
                             align = blob_align(net) }) },
  }
end

local function source(host, net, plan, command, blob)
  local v = values(host, net, plan, command)
  v.summary, v.io_bytes = require("emit").summary(net), format.thousands(net.memory.io)
  for _, k in ipairs({ "flash_bytes", "weights_bytes", "code_bytes", "ram_bytes", "static_bytes", "stack_bytes" }) do
    v[k] = format.thousands(v[k]) -- the comment's numbers, as the report prints them
  end
  v.weight_decls = M.weight_decls(net, blob)
  v.buffer_decls = require("emit").buffer_decls(plan)
  v.layers, v.windows = layers(host, net)
  return template.fill(template.load(host, "templates/mcu/model.c.in"), v)
end

-- files(host, net, plan, command, dir, blob) -> {{path, text}, ...}
function M.files(host, net, plan, command, dir, blob)
  local name = net.model.name
  local list = {
    { path = dir .. "/" .. name .. ".h", text = header(host, net, plan, command) },
    { path = dir .. "/" .. name .. ".c", text = source(host, net, plan, command, blob) },
    { path = dir .. "/vggc_fs.h", text = host.embedded("runtime/freestanding/vggc_fs.h") },
  }
  for _, f in ipairs(M.blob_files(host, net, dir, command, blob)) do list[#list + 1] = f end
  for _, f in ipairs(FREESTANDING) do
    list[#list + 1] = { path = dir .. "/vggc_fs_" .. f .. ".c", text = host.embedded("runtime/freestanding/" .. f .. ".c") }
  end
  return list
end

M.freestanding = FREESTANDING

return M
