-- onnx_graph.lua — the graph of an ONNX file as `vggc import` walks it: its nodes in an order that runs each after
-- the nodes whose outputs it reads (an input that nothing produces and a cycle are the user's errors, found before
-- any node is translated), who reads each value, and at the end the model file's entries named, each once, and
-- wired: an entry that does not read the entry before it says what it reads (`from`, modules.lua).
local errors = require("errors")
local graph = require("graph")

local M = {}

local SHOWN = 60

local function show(name)
  name = tostring(name)
  return "'" .. (#name > SHOWN and name:sub(1, SHOWN) .. "..." or name) .. "'"
end

-- "node 3 'conv1' (Conv)"
function M.label(node)
  return string.format("node %d %s (%s)", node.index, show(node.name), node.op)
end

-- order(where, graph, known) -> the nodes in running order, each with node.index (its place in the file), and
-- {[value name] = {node, ...}} (the nodes that read each value). known[name] is true for the graph's input and the
-- initializers.
function M.order(where, g, known)
  local producer, readers = {}, {}
  for i, node in ipairs(g.nodes) do
    node.index = i
    for _, out in ipairs(node.outputs) do
      if out ~= "" then producer[out] = node end
    end
  end
  for _, node in ipairs(g.nodes) do
    for i, name in ipairs(node.inputs) do
      if name ~= "" and not known[name] and not producer[name] then
        errors.raise(where, "%s: input %d %s is never produced (no node writes it, and it is neither the graph's "
                     .. "input nor an initializer)", M.label(node), i, show(name))
      end
      if name ~= "" then
        readers[name] = readers[name] or {}
        readers[name][#readers[name] + 1] = node
      end
    end
  end
  local function inputs_of(node)
    local list = {}
    for _, name in ipairs(node.inputs) do
      if producer[name] then list[#list + 1] = producer[name] end
    end
    return list
  end
  return graph.order(where, g.nodes, inputs_of, M.label), readers
end

-- The module name of each entry, each different ("relu", "relu_2"; never "input", the name of the network's
-- input in `from`): entry.name where the translation found one, else its op in lower case.
local function unique_names(entries, ops)
  local used = { input = true }
  for i, e in ipairs(entries) do
    local base = e.name or ops[i]:lower()
    local name, k = base, 1
    while used[name] do
      k = k + 1
      name = base .. "_" .. k
    end
    used[name], e.name = true, name
  end
end

-- name(entries, ops, sources, name_tensors): every entry named once, then name_tensors(i, entry) (the tensors
-- whose names differ from the module's), then `from` on each entry whose inputs (sources[i]: entry numbers, 0 for
-- the network's input) are not just the entry before it.
function M.name(entries, ops, sources, name_tensors)
  unique_names(entries, ops)
  for i, e in ipairs(entries) do
    name_tensors(i, e)
    local src = sources[i]
    if not (#src == 1 and src[1] == i - 1) then
      local refs = {}
      for j, s in ipairs(src) do refs[j] = s == 0 and "input" or entries[s].name end
      e.from = #refs == 1 and refs[1] or refs
    end
  end
end

return M
