-- emit.lua — the generated C: a header with shape macros, and a source with a provenance header, a summary
-- table, static weight storage named after torchvision's state_dict, the loader's manifest, one static workspace
-- and a flat forward function with one commented call per layer.
local format = require("format")
local kinds = require("layers")
local template = require("template")

local M = {}

local function c_name(tensor_name)
  return (tensor_name:gsub("[^%w]", "_"))
end

local function summary(net)
  local lines = { string.format(" * %3s  %-18s %-14s %13s %12s", "#", "layer", "output", "params", "MACs") }
  for i, u in ipairs(net.units) do
    lines[#lines + 1] = string.format(" * %3d  %-18s %-14s %13s %12s", i, u.label, format.shape(u.output),
                                      format.thousands(u.params), format.mega(u.macs))
  end
  lines[#lines + 1] = string.format(" * %3s  %-18s %-14s %13s %12s", "", "total", "",
                                    format.thousands(net.total_params), format.mega(net.total_macs))
  return table.concat(lines, "\n")
end

local function each_tensor(net, fn)
  for _, u in ipairs(net.units) do
    for _, t in ipairs(u.tensors) do fn(t, u) end
  end
end

local function weights(net)
  local lines = {}
  each_tensor(net, function(t)
    lines[#lines + 1] = string.format("static float %s[%s]; /* %s */", c_name(t.name),
                                      format.shape(t.shape, " * "), format.tuple(t.shape))
  end)
  return table.concat(lines, "\n")
end

local function tensor_rows(net)
  local rows, n = {}, 0
  each_tensor(net, function(t)
    local dims = {}
    for i = 1, 4 do dims[i] = string.format("%d", t.shape[i] or 0) end
    rows[#rows + 1] = string.format('    {"%s", %s, %d, {%s}, %d, %d},', t.name, c_name(t.name), #t.shape,
                                    table.concat(dims, ", "), t.count, t.param and 1 or 0)
    n = n + 1
  end)
  return table.concat(rows, "\n"), n
end

-- BatchNorms folded at load: {conv weight, conv bias, gamma, beta, mean, var, channels, per_channel, eps}
local function folds(net)
  local rows = {}
  for _, u in ipairs(net.units) do
    if u.kind == "conv" and u.bn then
      local n = {}
      for i, t in ipairs(u.tensors) do n[i] = c_name(t.name) end
      rows[#rows + 1] = string.format("    {%s, %s, %s, %s, %s, %s, %d, %d, 1e-5f},", n[1], n[2], n[3], n[4], n[5],
                                      n[6], u.out, u.input[1] * u.k * u.k)
    end
  end
  if #rows == 0 then return "", "NULL", 0 end
  return "\nstatic const vggc_bn_fold folds[] = {\n" .. table.concat(rows, "\n") .. "\n};\n", "folds", #rows
end

local function param_sum(net)
  local terms = {}
  each_tensor(net, function(t)
    if t.param then terms[#terms + 1] = "sizeof " .. c_name(t.name) .. " / sizeof(float)" end
  end)
  return table.concat(terms, " +\n               ")
end

local function buffer_decls(plan)
  local lines = {}
  for _, b in ipairs(plan.buffers) do
    lines[#lines + 1] = string.format("    float *%s = ws + %d; /* %s floats */", b.name, b.offset,
                                      format.thousands(b.floats))
  end
  return table.concat(lines, "\n")
end

local function comment(u, kind)
  local lines = { string.format("    /* layer %d: %s", u.number, kind.describe(u, u.input)),
                  string.format("     *   in  %s  out %s", format.tuple(u.input), format.tuple(u.output)) }
  for _, t in ipairs(u.tensors) do
    lines[#lines + 1] = string.format("     *   %s %s", t.param and "weights" or "buffer ", t.name .. " "
                                      .. format.tuple(t.shape))
  end
  lines[#lines + 1] = string.format("     *   %s params   %s MACs */", format.thousands(u.params),
                                    format.mega(u.macs))
  return table.concat(lines, "\n")
end

local function layer_call(host, u, kind, batch, ctx)
  if not u.computes then return "    /* nothing to run */" end
  local values = kind.args(u, u.input, ctx)
  values.dst, values.src, values.n = u.dst, u.src, batch
  return "    " .. template.fill(template.load(host, kind.template), values):gsub("\n$", "")
end

local function layers(host, net, plan)
  local ctx = { array = c_name, work = "NULL" }
  for _, b in ipairs(plan.buffers) do if b.name == "work" then ctx.work = "work" end end
  local blocks = {}
  for _, u in ipairs(net.units) do
    local kind = kinds[u.kind]
    blocks[#blocks + 1] = comment(u, kind) .. "\n" .. layer_call(host, u, kind, net.model.batch, ctx)
  end
  return table.concat(blocks, "\n\n")
end

local function buffer_list(plan)
  local parts = {}
  for _, b in ipairs(plan.buffers) do parts[#parts + 1] = b.name .. " " .. format.thousands(b.floats * 4) end
  return table.concat(parts, ", ")
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
  return template.fill(template.load(host, "templates/model.h.in"), v)
end

local function source(host, net, plan, command)
  local v = common(host, net, plan, command)
  v.summary, v.weights = summary(net), weights(net)
  v.tensor_rows, v.n_tensors = tensor_rows(net)
  v.folds, v.folds_ref, v.n_folds = folds(net)
  v.param_sum, v.buffer_list = param_sum(net), buffer_list(plan)
  v.buffer_decls, v.layers = buffer_decls(plan), layers(host, net, plan)
  return template.fill(template.load(host, "templates/model.c.in"), v)
end

-- files(host, net, plan, command, dir) -> {{path, text}, {path, text}}
function M.files(host, net, plan, command, dir)
  local name = net.model.name
  return { { path = dir .. "/" .. name .. ".h", text = header(host, net, plan, command) },
           { path = dir .. "/" .. name .. ".c", text = source(host, net, plan, command) } }
end

return M
