-- emit.lua — the generated C: a header with shape macros, and a source with a provenance header, a summary
-- table, static weight storage named after torchvision's state_dict, the loader's manifest, one static workspace
-- and a flat forward function with one commented call per layer.
local format = require("format")
local kinds = require("layers")
local template = require("template")

local M = {}

-- "features.0.weight" -> features_0_weight; a name that would not start with a letter or not end in a tensor's
-- role ("0.weight", "onnx::Conv_156") is prefixed with t_, so that no tensor is a C keyword or a name of the file.
local function c_name(tensor_name)
  local c = tensor_name:gsub("[^%w]", "_")
  local role = c:match("_weight$") or c:match("_bias$") or c:match("_running_mean$") or c:match("_running_var$")
  if not (c:match("^%a") and role) then c = "t_" .. c end
  return c
end
M.c_name = c_name

-- The layers a unit reads, by number ("input" for the network's input): "3, 5"
local function from_text(u, sep)
  local parts = {}
  for i, v in ipairs(u.inputs) do parts[i] = v.is_input and "input" or string.format("%d", v.number) end
  return table.concat(parts, sep or ", ")
end
M.from_text = from_text

local function summary(net)
  local fmt = " * %3s  %-18s %-12s %-14s %13s %12s  %s"
  local lines = { string.format(fmt, "#", "layer", "from", "output", "params", "MACs", "algorithm") }
  for i, u in ipairs(net.units) do
    lines[#lines + 1] = string.format(fmt, i, u.label, from_text(u, ","), format.shape(u.output),
                                      format.thousands(u.params), format.mega(u.macs), u.algo or "")
  end
  lines[#lines + 1] = string.format(fmt, "", "total", "", "", format.thousands(net.total_params),
                                    format.mega(net.total_macs), "")
  return (table.concat(lines, "\n"):gsub(" +\n", "\n"):gsub(" +$", ""))
end
M.summary = summary -- mcu.lua's files have the same table

-- fn(t, u, index) for every tensor of every unit, index counting from 0 as the manifest's rows do
local function each_tensor(net, fn)
  local index = 0
  for _, u in ipairs(net.units) do
    for _, t in ipairs(u.tensors) do
      fn(t, u, index)
      index = index + 1
    end
  end
end

-- The raw weight of a conv or linear layer that runs on a prepared copy is not stored: the loader makes the copy
-- from the file.
-- Weights built in at generate time (net.blob, `--weights`) are not stored for a loader either: they are const.
local function stored(t, u, net)
  return not net.blob and not (u.prepared and t.name == u.weight_name)
end

local function weights(net)
  if net.blob then return require("mcu").weight_decls(net, net.blob) end
  local lines = {}
  each_tensor(net, function(t, u)
    if stored(t, u, net) then
      lines[#lines + 1] = string.format("_Alignas(64) static float %s[%s]; /* %s */", c_name(t.name),
                                        format.shape(t.shape, " * "), format.tuple(t.shape))
    else
      lines[#lines + 1] = string.format("/* %s %s: not stored; only its prepared copy %s */", t.name,
                                        format.tuple(t.shape), c_name(t.name) .. u.prepared.suffix)
    end
  end)
  for _, u in ipairs(net.units) do -- a layer without bias passes zeros (a BatchNorm fold writes its own there)
    if u.bias_zeroed then
      lines[#lines + 1] = string.format("_Alignas(64) static float %s[%d]; /* (%d): no %s in the state_dict, zeros */",
                                        c_name(u.bias_name), u.bias_zeroed, u.bias_zeroed, u.bias_name)
    end
  end
  return table.concat(lines, "\n")
end

-- The C size macro (runtime/vggc.h) each prepared array must match.
local function prepared_macro(u)
  local p = u.prepared
  if p.kind == "VGGC_PREPARE_DENSE" then return string.format("VGGC_DENSE_WEIGHT_FLOATS(%d, %d)", p.cin, u.out) end
  if p.kind == "VGGC_PREPARE_DIRECT" then
    return string.format("VGGC_DIRECT_WEIGHT_FLOATS(%d, %d, %d)", p.cin, u.out, p.k)
  end
  return string.format("VGGC_WINOGRAD_WEIGHT_FLOATS(%d, %d, %d)", p.cin, u.out, p.m)
end

-- Where each unit's conv weight sits in the manifest, and each folding unit's row in folds[] (from 0).
local function rows_of(net)
  local first, fold, n_folds = {}, {}, 0
  each_tensor(net, function(t, u, index)
    if t.name == u.weight_name then first[u] = index end
  end)
  for _, u in ipairs(net.units) do
    if kinds[u.kind].fold and kinds[u.kind].fold(u, u.input) then
      fold[u], n_folds = n_folds, n_folds + 1
    end
  end
  return first, fold
end

-- With the weights built in, the prepared copies are made once before main (the kernels' layout depends on the
-- instruction set the process runs), from the const raw weights: BatchNorm is folded already, so nothing is written
-- to them (vggc_prepare_weight writes its weight only to fold).
local function built_in_prepare(raws)
  return "\n/* the prepared copies, made before main from the built-in weights (no load step) */\n"
         .. "static const float *const raw_weights[] = {" .. table.concat(raws, ", ") .. "};\n\n"
         .. "__attribute__((constructor)) static void prepare_built_in(void)\n{\n"
         .. "    for (size_t i = 0; i < sizeof prepares / sizeof prepares[0]; i++)\n"
         .. "        vggc_prepare_weight(&prepares[i], (float *)raw_weights[i]); /* read only: no fold */\n}\n"
end

-- Weights rearranged at load for the fast kernels, the manifest rows that fill them (the raw weight's row in
-- tensors[], the BatchNorm folded into it), and the checks that the generator's sizes (algo.lua) are the runtime's.
local function prepared(net)
  local arrays, rows, checks, raws = {}, {}, {}, {}
  local first, fold = rows_of(net)
  for _, u in ipairs(net.units) do
    if u.prepared then
      local name = c_name(u.weight_name) .. u.prepared.suffix
      arrays[#arrays + 1] = string.format("_Alignas(64) static float %s[%d]; /* %s of %s */", name, u.prepared.floats,
                                          u.algo or "transposed", u.weight_name)
      rows[#rows + 1] = string.format("    {%s, %s, %d, %s, %d, %d, %d, %d},", u.prepared.kind, name, first[u],
                                      fold[u] and not net.blob and string.format("&folds[%d]", fold[u]) or "NULL",
                                      u.prepared.cin, u.out, u.prepared.k, u.prepared.m)
      raws[#raws + 1] = net.blob and string.format("%s_weights + %d", net.model.name, net.blob.offsets[u.weight_name])
      checks[#checks + 1] = string.format("_Static_assert(sizeof %s / sizeof(float) == %s, \"%s\");", name,
                                          prepared_macro(u), name)
    end
    if u.tile then
      checks[#checks + 1] = string.format(
        "_Static_assert(%d >= VGGC_WINOGRAD_WORK_FLOATS(%d, %d, %d, %d, %d, %d), \"work for layer %d\");",
        u.work_tensor.floats, net.model.batch, u.input[1], u.input[2], u.input[3], u.out, u.tile, u.number)
    end
  end
  if #rows == 0 then return { arrays = "", table = "", ref = "NULL", n = 0, checks = table.concat(checks, "\n") } end
  return { arrays = "\n/* prepared at load (" .. format.thousands(net.prepared_floats * 4) .. " bytes), each straight "
                    .. "from the file's weight, BatchNorm folded in */\n" .. table.concat(arrays, "\n"),
           table = "\n/* {kind, copy, raw weight's row in tensors[], BatchNorm folded in, cin, cout, k, m} */\n"
                   .. "static const vggc_prepare prepares[] = {\n" .. table.concat(rows, "\n") .. "\n};\n"
                   .. (net.blob and built_in_prepare(raws) or ""),
           ref = "prepares", n = #rows, checks = table.concat(checks, "\n") }
end

local function tensor_rows(net)
  local rows, n = {}, 0
  each_tensor(net, function(t, u)
    local dims = {}
    for i = 1, 4 do dims[i] = string.format("%d", t.shape[i] or 0) end
    rows[#rows + 1] = string.format('    {"%s", %s, %d, {%s}, %d, %d},', t.name, stored(t, u, net) and c_name(t.name) or "NULL",
                                    #t.shape, table.concat(dims, ", "), t.count, t.param and 1 or 0)
    n = n + 1
  end)
  return table.concat(rows, "\n"), n
end

-- BatchNorms folded at load: {conv weight (NULL when only prepared), conv bias, gamma, beta, mean, var, channels,
-- per_channel, eps}
local function folds(net)
  if net.blob then return "", "NULL", 0 end -- folded by vggc already
  local rows = {}
  for _, u in ipairs(net.units) do
    local f = kinds[u.kind].fold and kinds[u.kind].fold(u, u.input)
    if f then
      local weight = u.prepared and "NULL" or c_name(f.weight)
      rows[#rows + 1] = string.format("    {%s, %s, %s, %s, %s, %s, %d, %d, %sf},", weight, c_name(f.bias),
                                      c_name(f.gamma), c_name(f.beta), c_name(f.mean), c_name(f.var), f.channels,
                                      f.per_channel, format.float(f.eps))
    end
  end
  if #rows == 0 then return "", "NULL", 0 end
  return "\nstatic const vggc_bn_fold folds[] = {\n" .. table.concat(rows, "\n") .. "\n};\n", "folds", #rows
end

-- The parameter count from the storage, a prepared-only weight by its shape.
local function param_sum(net)
  local terms = {}
  each_tensor(net, function(t, u)
    if t.param and stored(t, u, net) then
      terms[#terms + 1] = "sizeof " .. c_name(t.name) .. " / sizeof(float)"
    elseif t.param then
      terms[#terms + 1] = format.shape(t.shape, " * ") .. " /* " .. t.name .. " */"
    end
  end)
  return table.concat(terms, " +\n               ")
end

local function buffer_decls(plan)
  local lines = {}
  for _, b in ipairs(plan.buffers) do
    lines[#lines + 1] = string.format("    float *%s = ws + %d; /* %s %s, steps %d-%d: %s */", b.name, b.offset,
                                      b.layout, format.tuple(b.shape), b.first, b.last, b.role)
  end
  return table.concat(lines, "\n")
end
M.buffer_decls = buffer_decls -- mcu.lua's run() declares the same buffers

local expr = require("plan").expr


local function comment(u, kind)
  local lines = { string.format("    /* layer %d: %s", u.number, kind.describe(u, u.input)),
                  string.format("     *   from %s  in  %s  out %s", from_text(u), format.tuple(u.input),
                                format.tuple(u.output)) }
  for _, t in ipairs(u.tensors) do
    lines[#lines + 1] = string.format("     *   %s %s", t.param and "weights" or "buffer ", t.name .. " "
                                      .. format.tuple(t.shape))
  end
  lines[#lines + 1] = string.format("     *   %s params   %s MACs */", format.thousands(u.params),
                                    format.mega(u.macs))
  return table.concat(lines, "\n")
end

local function call(host, path, values)
  return "    " .. template.fill(template.load(host, path), values):gsub("\n$", "")
end

-- a layout conversion {op, src, dst, shape} from plan.lua
local function conversion(host, c, batch)
  return call(host, "templates/layers/" .. c.op .. ".c.in", { dst = expr(c.dst), src = expr(c.src), n = batch,
                                                              c = c.shape[1], h = c.shape[2], w = c.shape[3] })
end

-- What a unit that runs no code says in its place.
local function no_call(u)
  if u.fused then return string.format("    /* done by layer %d */", u.fused.number) end
  if u.kind == "concat" then
    local writers = {}
    for i, v in ipairs(u.inputs) do writers[i] = string.format("%d", (v.fused or v).number) end
    return string.format("    /* written in place by layers %s */", table.concat(writers, ", "))
  end
  return "    /* nothing to run */"
end

-- The unit's calls ({template path, values} from its kind, by default one), each timed under -DVGGC_PROFILE
-- (TIC/TOC in templates/model.c.in).
local function layer_call(host, u, kind, batch, ctx)
  if not u.computes then return no_call(u) end
  local calls = kind.calls and kind.calls(u, ctx) or nil
  if not calls then
    local values = kind.args(u, u.input, ctx)
    values.dst, values.src, values.n = u.dst, u.src, batch
    local path = type(kind.template) == "function" and kind.template(u) or kind.template
    calls = { { path, values } }
  end
  local lines = { "    TIC();" }
  for _, c in ipairs(u.converts) do lines[#lines + 1] = conversion(host, c, batch) end
  for _, c in ipairs(calls) do lines[#lines + 1] = call(host, c[1], c[2]) end
  if u.finish then lines[#lines + 1] = conversion(host, u.finish, batch) end
  lines[#lines + 1] = string.format("    TOC(%d);", u.number - 1)
  return table.concat(lines, "\n")
end

local function layers(host, net)
  local ctx = { array = c_name, expr = expr, batch = net.model.batch }
  local blocks = {}
  for _, u in ipairs(net.units) do
    local kind = kinds[u.kind]
    blocks[#blocks + 1] = comment(u, kind) .. "\n" .. layer_call(host, u, kind, net.model.batch, ctx)
  end
  return table.concat(blocks, "\n\n")
end

local function buffer_list(plan)
  return string.format("%d tensors placed by liveness; a buffer per tensor would take %s bytes", #plan.buffers,
                       format.thousands(plan.per_tensor_bytes))
end

-- The values both files share.
local function common(host, net, plan, command)
  local m = net.model
  return {
    name = m.name, PREFIX = m.name:upper(), version = host.version, source = m.source, command = command,
    input = format.shape(m.input), batch = m.batch, classes = m.classes, in_c = m.input[1], in_h = m.input[2],
    in_w = m.input[3], params = net.total_params, static_bytes = plan.static_bytes,
  }
end

local function header(host, net, plan, command)
  local v = common(host, net, plan, command)
  v.in_count, v.out_count = net.model.batch * format.product(net.model.input), net.model.batch * net.model.classes
  v.workspace_floats = plan.floats
  v.prepared_bytes, v.n_layers = (net.prepared_floats or 0) * 4, #net.units
  v.embedded = net.blob and 1 or 0
  v.weights_note = net.blob and string.format("The weights are built in (%s_weights.S: .incbin of %s_weights.bin, "
    .. "BatchNorm folded by vggc)\n * and the prepared copies are made before main: nothing to load.", net.model.name,
    net.model.name) or string.format("Load weights first (vggc_load_safetensors(&%s_model, path, VGGC_MATCH_BY_NAME, "
    .. "&err)), then run.", net.model.name)
  return template.fill(template.load(host, "templates/model.h.in"), v)
end

local function source(host, net, plan, command)
  local v = common(host, net, plan, command)
  v.summary, v.weights = summary(net), weights(net)
  v.tensor_rows, v.n_tensors = tensor_rows(net)
  v.folds, v.folds_ref, v.n_folds = folds(net)
  v.param_sum, v.buffer_list = param_sum(net), buffer_list(plan)
  v.buffer_decls, v.layers = buffer_decls(plan), layers(host, net)
  local p = prepared(net)
  v.prepared, v.prepare_table, v.prepares_ref, v.n_prepares, v.checks = p.arrays, p.table, p.ref, p.n, p.checks
  v.n_layers = #net.units
  return template.fill(template.load(host, "templates/model.c.in"), v)
end

-- files(host, net, plan, command, dir) -> {{path, text}, {path, text}}
function M.files(host, net, plan, command, dir)
  local name = net.model.name
  return { { path = dir .. "/" .. name .. ".h", text = header(host, net, plan, command) },
           { path = dir .. "/" .. name .. ".c", text = source(host, net, plan, command) } }
end

return M
