-- onnx_constants.lua — fold the small integer subgraphs that torch.onnx.export writes around a network's layers
-- (F.pad's pads: Constant -> ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Cast; x.view's shape:
-- Shape -> Gather -> Unsqueeze -> Concat) into constants. A constant is {dims, data}: data in C order, each value
-- a number or false when it is not known before run time (a Shape of the layers' data knows only the batch).
--
-- fold(node, inputs, attr, known) -> constant: inputs are the constants the node reads (in order, nil where an
-- optional input is absent); attr(name, kind, default) reads its attributes; known = {batch, rank} of the layers'
-- data for Shape. Raises through fail(fmt, ...) when the node cannot be folded.
local M = {}

local MAX_ELEMENTS = 4096 -- these subgraphs hold a handful of numbers

local function count(dims)
  local n = 1
  for _, d in ipairs(dims) do n = n * d end
  return n
end

local function make(fail, dims, data)
  if #dims > 8 then fail("a constant of rank %d", #dims) end
  for _, d in ipairs(dims) do
    if math.type(d) ~= "integer" or d < 0 or d > MAX_ELEMENTS then fail("a constant of dimension %s", tostring(d)) end
  end
  if count(dims) > MAX_ELEMENTS then fail("a constant of more than %d numbers", MAX_ELEMENTS) end
  return { dims = dims, data = data }
end

-- The known whole numbers of a 1-D (or scalar) constant.
local function ints(fail, c, what)
  if not c then fail("no %s", what) end
  local out = {}
  for i, v in ipairs(c.data) do
    if math.type(v) ~= "integer" then fail("%s is not known before run time", what) end
    out[i] = v
  end
  if #out ~= count(c.dims) then fail("%s is not known before run time", what) end
  return out
end

-- C-order strides of dims
local function strides(dims)
  local s, acc = {}, 1
  for i = #dims, 1, -1 do
    s[i] = acc
    acc = acc * dims[i]
  end
  return s
end

local OPS = {}

function OPS.Constant(_, _, attr, _, fail)
  local t = attr("value", "constant", nil)
  if t then return t end
  local list = attr("value_ints", "ints", nil)
  if list then return make(fail, { #list }, list) end
  local i = attr("value_int", "int", nil)
  if i then return make(fail, {}, { i }) end
  local f = attr("value_float", "float", nil)
  if f then return make(fail, {}, { f }) end
  fail("no value")
end

function OPS.Shape(_, _, attr, known, fail)
  local data = { known.batch or false }
  for i = 2, known.rank do data[i] = false end
  local first, last = attr("start", "int", 0), attr("end", "int", known.rank)
  if first < 0 then first = first + known.rank end
  if last < 0 then last = last + known.rank end
  first, last = math.max(0, math.min(first, known.rank)), math.max(0, math.min(last, known.rank))
  local out = {}
  for i = first + 1, last do out[#out + 1] = data[i] end
  return make(fail, { #out }, out)
end

function OPS.ConstantOfShape(inputs, _, attr, _, fail)
  local dims = ints(fail, inputs[1], "its shape")
  local v = attr("value", "constant", nil)
  local fill = v and v.data[1] or 0.0
  local c = make(fail, dims, {})
  for i = 1, count(dims) do c.data[i] = fill end
  return c
end

function OPS.Concat(inputs, _, attr, _, fail)
  local axis = attr("axis", "int", nil)
  if axis ~= 0 and axis ~= -1 then fail("axis %s is not supported (1-D constants only)", tostring(axis)) end
  local data = {}
  for i = 1, #inputs do
    local c = inputs[i]
    if #c.dims ~= 1 then fail("input %d is not a 1-D constant", i) end
    for _, v in ipairs(c.data) do data[#data + 1] = v end
  end
  return make(fail, { #data }, data)
end

function OPS.Reshape(inputs, _, attr, _, fail)
  if attr("allowzero", "int", 0) ~= 0 then fail("allowzero 1 is not supported") end
  local c, shape = inputs[1], ints(fail, inputs[2], "its shape")
  local n, dims, free = count(c.dims), {}, nil
  for i, d in ipairs(shape) do
    if d == 0 then d = c.dims[i] or fail("shape entry 0 past the input's rank") end
    if d == -1 then
      if free then fail("two -1 in the shape") end
      free = i
      d = 1
    end
    if d < 0 then fail("shape entry %d", d) end
    dims[i] = d
  end
  local rest = count(dims)
  if free then
    if rest == 0 or n % rest ~= 0 then fail("cannot reshape %d numbers", n) end
    dims[free] = n // rest
  end
  if count(dims) ~= n then fail("cannot reshape %d numbers to %d", n, count(dims)) end
  return make(fail, dims, c.data)
end

function OPS.Cast(inputs, _, attr)
  attr("to", "int", 7)
  return inputs[1]
end

function OPS.Unsqueeze(inputs, opset, attr, _, fail)
  local axes = opset >= 13 and ints(fail, inputs[2], "axes") or attr("axes", "ints", {})
  local c = inputs[1]
  if #axes ~= 1 or (axes[1] ~= 0 and axes[1] ~= -1) or #c.dims > 1 then fail("only a scalar or 1-D constant grows") end
  local dims = #c.dims == 0 and { 1 } or (axes[1] == 0 and { 1, c.dims[1] } or { c.dims[1], 1 })
  return make(fail, dims, c.data)
end

function OPS.Gather(inputs, _, attr, _, fail)
  local c, idx = inputs[1], inputs[2]
  if attr("axis", "int", 0) ~= 0 or #c.dims ~= 1 then fail("only axis 0 of a 1-D constant") end
  local picked = {}
  for i, v in ipairs(ints(fail, idx, "its indices")) do
    if v < 0 then v = v + c.dims[1] end
    if v < 0 or v >= c.dims[1] then fail("index %d is out of range", v) end
    picked[i] = c.data[v + 1]
  end
  return make(fail, #idx.dims == 0 and {} or { #picked }, picked)
end

function OPS.Transpose(inputs, _, attr, _, fail)
  local c = inputs[1]
  local rank = #c.dims
  local perm = attr("perm", "ints", nil)
  if not perm then perm = {} for i = 1, rank do perm[i] = rank - i end end
  if #perm ~= rank then fail("perm has %d axes for a rank-%d constant", #perm, rank) end
  local dims, seen = {}, {}
  for i, p in ipairs(perm) do
    if math.type(p) ~= "integer" or p < 0 or p >= rank or seen[p] then fail("perm is not a permutation") end
    seen[p], dims[i] = true, c.dims[p + 1]
  end
  local from, to, data = strides(c.dims), strides(dims), {}
  for flat = 0, count(c.dims) - 1 do
    local rem, at = flat, 0
    for axis = 1, rank do
      local index = rem // from[axis]
      rem = rem % from[axis]
      for i, p in ipairs(perm) do if p + 1 == axis then at = at + index * to[i] end end
    end
    data[at + 1] = c.data[flat + 1]
  end
  return make(fail, dims, data)
end

-- The indices one axis keeps: start, end, step as ONNX clamps them.
local function kept(n, first, last, step)
  if first < 0 then first = first + n end
  if last < 0 then last = last + n end
  local list = {}
  if step > 0 then
    first, last = math.max(0, math.min(first, n)), math.max(0, math.min(last, n))
    for i = first, last - 1, step do list[#list + 1] = i end
  else
    first, last = math.max(-1, math.min(first, n - 1)), math.max(-1, math.min(last, n - 1))
    for i = first, last + 1, step do list[#list + 1] = i end
  end
  return list
end

function OPS.Slice(inputs, _, _, _, fail)
  local c = inputs[1]
  local starts, ends = ints(fail, inputs[2], "starts"), ints(fail, inputs[3], "ends")
  local axes = inputs[4] and ints(fail, inputs[4], "axes") or {}
  local steps = inputs[5] and ints(fail, inputs[5], "steps") or {}
  local rank, pick = #c.dims, {}
  for axis = 1, rank do pick[axis] = kept(c.dims[axis], 0, c.dims[axis], 1) end
  for i = 1, #starts do
    local axis = (axes[i] or i - 1)
    if axis < 0 then axis = axis + rank end
    if axis < 0 or axis >= rank or ends[i] == nil then fail("axis %d is out of range", axis) end
    local step = steps[i] or 1
    if step == 0 then fail("step 0") end
    pick[axis + 1] = kept(c.dims[axis + 1], starts[i], ends[i], step)
  end
  local dims, from, data = {}, strides(c.dims), {}
  for axis = 1, rank do dims[axis] = #pick[axis] end
  local function walk(axis, offset)
    if axis > rank then data[#data + 1] = c.data[offset + 1] return end
    for _, i in ipairs(pick[axis]) do walk(axis + 1, offset + i * from[axis]) end
  end
  if count(dims) > 0 then walk(1, 0) end
  return make(fail, dims, data)
end

M.ops = OPS

-- The inputs each op needs (Concat: all it lists; the others may list more, optional ones).
local REQUIRED = { Constant = 0, Shape = 0, ConstantOfShape = 1, Concat = 1, Reshape = 2, Cast = 1, Unsqueeze = 1,
                   Gather = 2, Transpose = 1, Slice = 3 }

-- fold(op, inputs, listed, opset, attr, known, fail) -> constant: inputs[i] is the constant of input i (nil where
-- the node leaves an optional one out), listed the number of inputs the node lists.
function M.fold(op, inputs, listed, opset, attr, known, fail)
  local need = op == "Concat" and math.max(listed, 1) or REQUIRED[op]
  for i = 1, need do
    if inputs[i] == nil then fail("input %d is missing", i) end
  end
  for i, c in pairs(inputs) do
    if count(c.dims) ~= #c.data then fail("input %d holds %d numbers for its shape", i, #c.data) end
  end
  return OPS[op](inputs, opset, attr, known, fail)
end

return M
