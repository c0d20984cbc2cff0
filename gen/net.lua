-- net.lua — expand a normalized model into layer units with torchvision's module indices, then infer every
-- shape, parameter count and MAC count in one pass over the units.
local format = require("format")
local kinds = require("layers")

local M = {}

-- features.* units: conv [bn] relu per conv, one module per "M" and "L", indexed as torchvision's make_layers
local function feature_units(model)
  local units, index = {}, 0
  for _, f in ipairs(model.features) do
    local u = {}
    for k, v in pairs(f) do u[k] = v end
    u.index = index
    if f.kind == "conv" then
      u.bn = model.batch_norm and index + 1 or nil
      u.relu = index + (model.batch_norm and 2 or 1)
      index = u.relu + 1
    else
      index = index + 1
    end
    units[#units + 1] = u
  end
  return units
end

-- avgpool, then classifier.*: Linear, ReLU, Dropout per hidden width, and the last Linear
local function head_units(model, units)
  if model.avgpool then units[#units + 1] = { kind = "avgpool", oh = model.avgpool[1], ow = model.avgpool[2] } end
  local index = 0
  for _, width in ipairs(model.classifier) do
    units[#units + 1] = { kind = "linear", index = index, out = width, relu = index + 1 }
    units[#units + 1] = { kind = "dropout", index = index + 2 }
    index = index + 3
  end
  units[#units + 1] = { kind = "linear", index = index, out = model.classes }
end

local function count_pools(units)
  local n = 0
  for _, u in ipairs(units) do if u.kind == "maxpool" then n = n + 1 end end
  return n
end

local function computes(kind, u, shape)
  if type(kind.computes) == "function" then return kind.computes(u, shape) end
  return kind.computes
end

-- Fill u.input, u.output, u.params, u.macs (for the whole batch), u.tensors, u.work, u.computes.
local function infer_unit(u, shape, ctx, batch)
  local kind = kinds[u.kind]
  if u.kind == "conv" then ctx.convs = ctx.convs + 1 end
  u.input, u.output = shape, kind.infer(u, shape, ctx)
  u.tensors = kind.tensors(u, shape)
  u.params = 0
  for _, t in ipairs(u.tensors) do
    t.count = format.product(t.shape)
    if t.param then u.params = u.params + t.count end
  end
  u.macs = kind.macs(u, shape, u.output) * batch
  u.work = kind.work(u, shape)
  u.computes = computes(kind, u, shape)
  u.label = kind.label(u)
  return u.output
end

-- build(model) -> net = {model, units, total_params, total_macs, activation_floats}
function M.build(model)
  local units = feature_units(model)
  head_units(model, units)
  local ctx = { convs = 0, pools = count_pools(units), input_text = format.shape(model.input) }
  local shape = model.input
  local net = { model = model, units = units, total_params = 0, total_macs = 0, activation_floats = 0 }
  for i, u in ipairs(units) do
    u.number = i
    shape = infer_unit(u, shape, ctx, model.batch)
    net.total_params = net.total_params + u.params
    net.total_macs = net.total_macs + u.macs
    net.activation_floats = net.activation_floats + format.product(u.output) * model.batch
  end
  return net
end

-- The torch modules of the whole net, in order (for JSON and the PyTorch side).
function M.modules(net)
  local list = {}
  for _, u in ipairs(net.units) do
    for _, m in ipairs(kinds[u.kind].modules(u, u.input)) do list[#list + 1] = m end
  end
  return list
end

return M
