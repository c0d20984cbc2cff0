-- net.lua — group a model's layers into units, the rows of the report and the calls of the generated C (a Conv2d
-- with the BatchNorm2d folded into it and the ReLU that follows it is one unit, as is a Linear and its ReLU), then
-- infer every shape, parameter count and MAC count in one pass over the units.
local errors = require("errors")
local format = require("format")
local kinds = require("layers")
local modules = require("modules")

local M = {}

-- A unit starts as a copy of its first layer; u.layers lists the layers it stands for.
local function unit_of(layer)
  local u = { layers = { layer } }
  for k, v in pairs(layer) do u[k] = v end
  return u
end

-- Conv2d [BatchNorm2d] [ReLU] and Linear [ReLU] become one unit each; every other layer is a unit of its own.
local function group(layers)
  local units, i = {}, 1
  while i <= #layers do
    local u = unit_of(layers[i])
    if u.kind == "batchnorm" then
      errors.raise(u.where or u.name, "BatchNorm2d must follow a Conv2d directly (vggc folds it into the conv)")
    end
    if u.kind == "conv" and layers[i + 1] and layers[i + 1].kind == "batchnorm" then
      i = i + 1
      u.bn, u.layers[#u.layers + 1] = layers[i], layers[i]
    end
    if (u.kind == "conv" or u.kind == "linear") and layers[i + 1] and layers[i + 1].kind == "relu" then
      i = i + 1
      u.relu, u.layers[#u.layers + 1] = layers[i], layers[i]
    end
    units[#units + 1] = u
    i = i + 1
  end
  return units
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
  if kind.takes_map and #shape ~= 3 then
    ctx.fail(u, "its input is a vector of %d features, not a C x H x W map (it must come before the Flatten)",
             format.product(shape))
  end
  u.input, u.output = shape, kind.infer(u, shape, ctx)
  if u.kind ~= "flatten" and u.kind ~= "identity" then ctx.flattened = nil end
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
  local units = group(model.layers)
  local where = model.source .. " at " .. format.shape(model.input)
  local ctx = { convs = 0, pools = count_pools(units), input_text = format.shape(model.input), units = units,
                where = where, total_elements = 0.0, total_macs = 0.0 }
  -- "layer 3 (Conv2d layer2.conv2)", or for an imported model the ONNX node it came from
  function ctx.layer_text(u)
    return u.origin or string.format("layer %d (%s %s)", u.number, u.type, u.name)
  end
  -- a layer that does not fit its input: "<model> at <input>: layer 3 (Conv2d layer2.conv2): <what>"
  function ctx.fail(u, fmt, ...)
    errors.raise(where, "%s: " .. fmt, ctx.layer_text(u), ...)
  end
  local shape = model.input
  local net = { model = model, units = units, total_params = 0, total_macs = 0, activation_floats = 0 }
  for i, u in ipairs(units) do
    u.number = i
    shape = infer_unit(u, shape, ctx, model.batch)
    net.total_params = net.total_params + u.params
    net.total_macs = net.total_macs + u.macs
    net.activation_floats = net.activation_floats + format.product(u.output) * model.batch
  end
  if #shape ~= 1 then
    errors.raise(ctx.where, "the network ends in a %s map (expected a vector of class scores: end with a Linear, "
                 .. "or add a Flatten)", format.shape(shape))
  end
  model.classes = shape[1]
  return net
end

-- The torch modules of the whole net, in order (for JSON and the PyTorch side).
function M.modules(net)
  local list = {}
  for _, u in ipairs(net.units) do
    for _, layer in ipairs(u.layers) do list[#list + 1] = modules.describe(layer, u) end
  end
  return list
end

return M
