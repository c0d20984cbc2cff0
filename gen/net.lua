-- net.lua — expand a normalized model into layer units with torchvision's module indices, then infer every
-- shape, parameter count and MAC count in one pass over the units.
local errors = require("errors")
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

-- Counts stay below 2^62, so no integer product or sum of them wraps around (Lua integers wrap silently).
local TOO_MANY = 2.0 ^ 62

local function floats(dims)
  local f = {}
  for i, d in ipairs(dims) do f[i] = d + 0.0 end
  return f
end

-- u's counts once more in floating point, which does not wrap: a layer too large to count is the user's error.
-- Returns u's elements and MACs for the whole batch, as floats.
local function check_counts(u, kind, shape, ctx, batch)
  local fin, fout = floats(shape), floats(u.output)
  local elements, macs = format.product(fout) * batch, kind.macs(u, fin, fout) * batch
  local biggest = math.max(elements, macs, kind.work(u, fin))
  for _, t in ipairs(kind.tensors(u, fin)) do biggest = math.max(biggest, format.product(t.shape)) end
  if biggest >= TOO_MANY then
    errors.raise(ctx.where, "layer %d (%s) is too large to count (%.3g elements or MACs; at most 2^62)", u.number,
                 kind.label(u), biggest)
  end
  return elements, macs
end

-- Fill u.input, u.output, u.params, u.macs (for the whole batch), u.tensors, u.work, u.computes.
local function infer_unit(u, shape, ctx, batch)
  local kind = kinds[u.kind]
  if u.kind == "conv" then ctx.convs = ctx.convs + 1 end
  u.input, u.output = shape, kind.infer(u, shape, ctx)
  local elements, macs = check_counts(u, kind, shape, ctx, batch)
  ctx.total_elements, ctx.total_macs = ctx.total_elements + elements, ctx.total_macs + macs
  if ctx.total_elements >= TOO_MANY or ctx.total_macs >= TOO_MANY then
    errors.raise(ctx.where, "the net is too large to count (more than 2^62 elements or MACs in all)")
  end
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
  local ctx = { convs = 0, pools = count_pools(units), input_text = format.shape(model.input),
                where = model.source .. " at " .. format.shape(model.input), total_elements = 0.0, total_macs = 0.0 }
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
