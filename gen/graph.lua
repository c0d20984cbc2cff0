-- graph.lua — a network as a graph of layers: each layer reads the outputs of the layers its `inputs` list (or the
-- network's input, INPUT). A model written in order (a cfg, a Sequential, a per-layer list without `from`) is a
-- chain: each layer reads the one before. Here: the names of a model file's `from` resolved to layers (modules.lua
-- builds the scopes they are looked up in), the checks that make a list of layers one network (every input
-- produced, every output used, no cycle), and the order layers run in.
local errors = require("errors")

local M = {}

M.INPUT = setmetatable({}, { __tostring = function() return "input" end }) -- the network's input, as an input

-- ---- names in a model file's `from` ------------------------------------------------------------------------
-- A scope is one list of entries (the model's `layers`, or a Sequential's children): {owner = the Sequential's
-- node or nil at the top, parent = the enclosing scope, names = {[own name] = node}, list = {node, ...}}. A node is
-- {layer = L} or {scope = its children's scope}, with {own = its name in its list, from = {ref, ...} or nil,
-- in_scope = the scope it is in, index = its place there, where}. A ref names a node of this scope or an enclosing
-- one ("branch1", "layer1.0.bn2": a path down from there), or is "input", the input of the list the entry is in.

local SHOWN_NAMES = 8

local function names_in_reach(scope)
  local names, s = {}, scope
  while s and #names < SHOWN_NAMES do
    for _, node in ipairs(s.list) do
      if #names < SHOWN_NAMES then names[#names + 1] = node.own end
    end
    s = s.parent
  end
  return names
end

-- The node a name denotes from scope: an entry of scope or of a scope around it, by its own name ("bn2",
-- "layer1.0.conv2" when that is its name) or by a path down from one ("layer1.0.bn2"); the innermost match wins.
-- nil if none, false when two entries of one list share the name.
local function find(scope, ref)
  local s = scope
  while s do
    if s.names[ref] ~= nil then return s.names[ref] end
    local first, rest = ref:match("^([^.]+)%.(.+)$")
    local node = first and s.names[first]
    for part in (node ~= nil and rest or ""):gmatch("[^.]+") do
      if node then node = node.scope and node.scope.names[part] end
    end
    if node ~= nil then return node end
    s = s.parent
  end
  return nil
end

local wiring = {}

-- The value a node gives: a layer, or for a Sequential its last child's (its input when it has none).
function wiring.output(ctx, node)
  if node.layer then return node.layer end
  local last = node.scope.list[#node.scope.list]
  if last then return wiring.output(ctx, last) end
  return wiring.inputs(ctx, node)[1]
end

function wiring.scope_input(ctx, scope)
  if not scope.owner then return M.INPUT end
  return wiring.inputs(ctx, scope.owner)[1]
end

function wiring.resolve(ctx, node, ref)
  if ref == "input" then return wiring.scope_input(ctx, node.in_scope) end
  local found = find(node.in_scope, ref)
  if found == false then
    errors.raise(node.where, "from '%s': two entries of one list are named so (give one of them another name)", ref)
  end
  if not found then
    errors.raise(node.where, "from '%s': no layer or Sequential here is named '%s', so this input is never produced "
                 .. "(in reach: %s; or 'input', the input of this list)", ref, ref,
                 table.concat(names_in_reach(node.in_scope), ", "))
  end
  return wiring.output(ctx, found)
end

-- The values a node reads: its `from`, else the output of the entry before it, else its list's input.
function wiring.inputs(ctx, node)
  if ctx.done[node] then return ctx.done[node] end
  if ctx.busy[node] then
    errors.raise(node.where, "from: the names go round in a circle through Sequentials without layers (a cycle)")
  end
  ctx.busy[node] = true
  local values = {}
  if node.from then
    for i, ref in ipairs(node.from) do values[i] = wiring.resolve(ctx, node, ref) end
  elseif node.index > 1 then
    values[1] = wiring.output(ctx, node.in_scope.list[node.index - 1])
  else
    values[1] = wiring.scope_input(ctx, node.in_scope)
  end
  ctx.busy[node], ctx.done[node] = nil, values
  return values
end

-- wire(nodes): every layer node's layer.inputs from the names (and the order) of the model file.
function M.wire(nodes)
  local ctx = { done = {}, busy = {} }
  for _, node in ipairs(nodes) do
    if node.layer then node.layer.inputs = wiring.inputs(ctx, node) end
  end
end

-- ---- one network ---------------------------------------------------------------------------------------------

-- Layers without inputs (a cfg's, the presets written in order) read the layer before them.
function M.chain(layers)
  for i, layer in ipairs(layers) do
    if not layer.inputs then layer.inputs = { i == 1 and M.INPUT or layers[i - 1] } end
  end
end

-- consumers(nodes, inputs_of) -> {[node] = {consumer, ...}} (a consumer once per input it takes from node)
function M.consumers(nodes, inputs_of)
  local list = {}
  for _, n in ipairs(nodes) do list[n] = {} end
  for _, n in ipairs(nodes) do
    for _, v in ipairs(inputs_of(n)) do
      if list[v] then list[v][#list[v] + 1] = n end
    end
  end
  return list
end

-- The nodes in an order where each comes after every node it reads, the given order kept wherever the graph
-- allows it (a chain keeps its order). A cycle is the user's error: "a -> b -> a".
function M.order(where, nodes, inputs_of, label)
  local position, waiting, readers = {}, {}, {}
  for i, n in ipairs(nodes) do position[n], waiting[n], readers[n] = i, 0, {} end
  for _, n in ipairs(nodes) do
    for _, v in ipairs(inputs_of(n)) do
      if position[v] then
        waiting[n] = waiting[n] + 1
        readers[v][#readers[v] + 1] = n
      end
    end
  end
  local order, placed = {}, {}
  while #order < #nodes do
    local next_node
    for _, n in ipairs(nodes) do -- the first in the given order whose inputs are all placed
      if not placed[n] and waiting[n] == 0 then next_node = n break end
    end
    if not next_node then M.raise_cycle(where, nodes, inputs_of, placed, label) end
    placed[next_node], order[#order + 1] = true, next_node
    for _, r in ipairs(readers[next_node]) do waiting[r] = waiting[r] - 1 end
  end
  return order
end

-- Walk back from a node that could not be placed through inputs that could not either, until a node repeats.
function M.raise_cycle(where, nodes, inputs_of, placed, label)
  local seen, path, n = {}, {}, nil
  for _, m in ipairs(nodes) do if not placed[m] then n = m break end end
  while not seen[n] do
    seen[n], path[#path + 1] = #path + 1, n
    for _, v in ipairs(inputs_of(n)) do
      if v ~= M.INPUT and not placed[v] then n = v break end
    end
  end
  local names = { label(n) }
  for i = #path, seen[n] + 1, -1 do names[#names + 1] = label(path[i]) end
  names[#names + 1] = label(n)
  errors.raise(where, "the layers form a cycle: %s (each reads the one before it; an input must come from a layer "
               .. "that does not depend on it)", table.concat(names, " -> "))
end

return M
