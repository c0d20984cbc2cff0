-- net.lua — group a model's layers into units, the rows of the report and the calls of the generated C (a Conv2d
-- with the BatchNorm2d folded into it and the ReLU that follows it is one unit, as is a Linear and its ReLU), then
-- infer every shape, parameter count and MAC count in one pass over the units.
local errors = require("errors")
local format = require("format")
local graph = require("graph")
local kinds = require("layers")
local modules = require("modules")

local M = {}

-- A unit starts as a copy of its first layer; u.layers lists the layers it stands for.
local function unit_of(layer)
  local u = { layers = { layer } }
  for k, v in pairs(layer) do u[k] = v end
  return u
end

-- The layer that reads `layer` and nothing else, when it is the only one reading it; else nil.
local function sole_reader(consumers, layer)
  local list = consumers[layer]
  local r = list and #list == 1 and list[1]
  return r and #r.inputs == 1 and r or nil
end

-- Conv2d [BatchNorm2d] [ReLU], Linear [ReLU] and Add [ReLU] become one unit each, when each layer is the only
-- reader of the one before it; every other layer is a unit of its own. Returns the units in the model's order and
-- {[layer] = unit} for the layer whose output each unit gives.
local function group(layers, consumers)
  local units, unit_of_output, absorbed = {}, {}, {}
  for _, layer in ipairs(layers) do
    if not absorbed[layer] then
      local u, last = unit_of(layer), layer
      if u.kind == "batchnorm" then
        errors.raise(u.where or u.name, "BatchNorm2d must follow a Conv2d directly (vggc folds it into the conv)")
      end
      local nxt = sole_reader(consumers, last)
      if u.kind == "conv" and nxt and nxt.kind == "batchnorm" then
        u.bn, u.layers[#u.layers + 1], absorbed[nxt], last = nxt, nxt, true, nxt
        nxt = sole_reader(consumers, last)
      end
      if (u.kind == "conv" or u.kind == "linear" or u.kind == "add") and nxt and nxt.kind == "relu" then
        u.relu, u.layers[#u.layers + 1], absorbed[nxt], last = nxt, nxt, true, nxt
      end
      units[#units + 1], unit_of_output[last] = u, u
    end
  end
  return units, unit_of_output
end

-- Every layer's output is read, but the last layer's, which is the network's (a layer nobody reads is a mistake).
local function check_used(where, layers, consumers)
  for i = 1, #layers - 1 do
    if #consumers[layers[i]] == 0 then
      local l = layers[i]
      errors.raise(where, "%s: its output is never used (a network has one output, its last layer's)",
                   l.origin or string.format("%s %s", l.type, l.name))
    end
  end
end

-- The units in an order that runs each after its inputs (the model's order where the graph allows it); u.inputs
-- are units, or net.input for the network's input.
local function connect(where, layers, input)
  graph.chain(layers)
  local consumers = graph.consumers(layers, function(l) return l.inputs end)
  local units, unit_of_output = group(layers, consumers)
  for _, u in ipairs(units) do
    u.inputs = {}
    for i, v in ipairs(u.layers[1].inputs) do u.inputs[i] = v == graph.INPUT and input or unit_of_output[v] end
  end
  units = graph.order(where, units, function(u) return u.inputs end, function(u)
    return u.origin or string.format("%s %s", u.type, u.name)
  end)
  check_used(where, layers, consumers)
  local readers = graph.consumers(units, function(u) return u.inputs end)
  for _, u in ipairs(units) do u.consumers = readers[u] end
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

-- Fill u.input (the first input's shape; u.input_shapes all of them), u.output, u.params, u.macs (for the whole
-- batch), u.tensors, u.work, u.computes.
local function infer_unit(u, ctx, batch)
  local kind = kinds[u.kind]
  if u.kind == "conv" then ctx.convs = ctx.convs + 1 end
  u.input_shapes = {}
  for i, v in ipairs(u.inputs) do
    u.input_shapes[i] = v.output
    if kind.takes_map and #v.output ~= 3 then
      ctx.fail(u, "its input is a vector of %d features, not a C x H x W map (it must come before the Flatten)",
               format.product(v.output))
    end
  end
  local shape = u.input_shapes[1]
  ctx.flattened = u.inputs[1].flattened
  u.input, u.output = shape, kind.infer(u, shape, ctx)
  if u.kind == "flatten" or u.kind == "identity" then u.flattened = ctx.flattened end
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

-- build(model) -> net = {model, input, units, total_params, total_macs, activation_floats}; net.input stands for
-- the network's input among a unit's inputs (number 0).
function M.build(model)
  local where = model.source .. " at " .. format.shape(model.input)
  local input = { number = 0, output = model.input, is_input = true, label = "input", name = "input" }
  local units = connect(model.source, model.layers, input)
  local ctx = { convs = 0, pools = count_pools(units), input_text = format.shape(model.input), units = units,
                where = where, total_elements = 0.0, total_macs = 0.0 }
  -- "layer 3 (Conv2d layer2.conv2)", or for an imported model the ONNX node it came from
  function ctx.layer_text(u)
    return u.origin or string.format("layer %d (%s %s)", u.number, u.type, u.name)
  end
  function ctx.input_name(v)
    return v.is_input and "the network's input" or ctx.layer_text(v)
  end
  -- a layer that does not fit its input: "<model> at <input>: layer 3 (Conv2d layer2.conv2): <what>"
  function ctx.fail(u, fmt, ...)
    errors.raise(where, "%s: " .. fmt, ctx.layer_text(u), ...)
  end
  local net = { model = model, input = input, units = units, total_params = 0, total_macs = 0,
                activation_floats = 0 }
  for i, u in ipairs(units) do u.number = i end
  local shape
  for _, u in ipairs(units) do
    shape = infer_unit(u, ctx, model.batch)
    net.total_params = net.total_params + u.params
    net.total_macs = net.total_macs + u.macs
    net.activation_floats = net.activation_floats + format.product(u.output) * model.batch
  end
  if not shape then -- layers that are all empty Sequentials (an identity in torch)
    errors.raise(ctx.where, "the network has no layers (its Sequentials are empty: add a layer that computes, such as "
                 .. "a Linear)")
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
