-- onnx.lua — read an ONNX model (a protobuf ModelProto) straight from its bytes: the wire format, and the fields
-- of the ONNX schema that vggc uses. Nothing in the file is trusted: every varint, length and field is checked
-- against the bytes that are left and the message it belongs to, nesting and counts are bounded, and a field
-- vggc does not use is skipped by its wire type. Weights are not copied: a tensor's data is a span of the buffer.
--
-- read(where, bytes) -> model = {ir_version, opsets = {[domain] = version}, graph = {nodes, initializers, inputs,
--   outputs}}; node = {name, op, domain, inputs, outputs, attributes = {[name] = attribute}};
--   attribute = {name, type, f, i, s, t, floats, ints}; tensor = {name, dims, data_type, raw = {first, last},
--   float_data = {first, last} (packed), int64_data = {...}, external}; value = {name, elem_type, dims} with
--   dims[i] a number or a string (a symbolic dim_param)
local errors = require("errors")

local M = {}

local MAX_DEPTH = 16      -- messages inside messages
local MAX_REPEATED = 1 << 20 -- entries of one repeated field
local MAX_DIMS = 8

-- ---- the wire format -------------------------------------------------------------------------------------

-- A reader over buf[first..last]: r = {buf, pos, last, where, path}
local function fail(r, fmt, ...)
  errors.raise(r.where, "byte %d: %s: " .. fmt .. " (not a valid ONNX file; truncated or corrupt?)", r.pos - 1,
               r.path, ...)
end

local function varint(r)
  local value, shift = 0, 0
  while true do
    if r.pos > r.last then fail(r, "a number runs past the end of its message") end
    local b = r.buf:byte(r.pos)
    r.pos = r.pos + 1
    if shift == 63 and b > 1 then fail(r, "a number longer than 64 bits") end
    value = value | ((b & 0x7f) << shift)
    if b < 0x80 then return value end
    shift = shift + 7
  end
end

-- The span of a length-delimited field's bytes.
local function span(r)
  local len = varint(r)
  if len < 0 or len > r.last - r.pos + 1 then
    fail(r, "a field of %s bytes runs past the end of its message (%d bytes left)", tostring(len), r.last - r.pos + 1)
  end
  local first = r.pos
  r.pos = r.pos + len
  return first, r.pos - 1
end

local function skip(r, wire)
  if wire == 0 then varint(r)
  elseif wire == 1 or wire == 5 then
    local n = wire == 1 and 8 or 4
    if r.last - r.pos + 1 < n then fail(r, "a fixed-size field runs past the end of its message") end
    r.pos = r.pos + n
  elseif wire == 2 then span(r)
  else fail(r, "wire type %d is not one protobuf writes (0, 1, 2, 5)", wire) end
end

-- ---- the schema ------------------------------------------------------------------------------------------

-- field kinds: int (varint), float (fixed32), string (bytes, copied), bytes (span), message (schema name);
-- `rep` marks a repeated field (ints and floats may be packed)
local SCHEMA = {
  Model = { [1] = { "ir_version", "int" }, [8] = { "opset_import", "OpsetId", rep = true },
            [7] = { "graph", "Graph" } },
  OpsetId = { [1] = { "domain", "string" }, [2] = { "version", "int" } },
  Graph = { [1] = { "node", "Node", rep = true }, [2] = { "name", "string" },
            [5] = { "initializer", "Tensor", rep = true }, [11] = { "input", "Value", rep = true },
            [12] = { "output", "Value", rep = true }, [15] = { "sparse_initializer", "bytes", rep = true } },
  Node = { [1] = { "input", "string", rep = true }, [2] = { "output", "string", rep = true },
           [3] = { "name", "string" }, [4] = { "op_type", "string" }, [7] = { "domain", "string" },
           [5] = { "attribute", "Attribute", rep = true } },
  Attribute = { [1] = { "name", "string" }, [20] = { "type", "int" }, [2] = { "f", "float" }, [3] = { "i", "int" },
                [4] = { "s", "string" }, [5] = { "t", "Tensor" }, [7] = { "floats", "float", rep = true },
                [8] = { "ints", "int", rep = true }, [21] = { "ref_attr_name", "string" } },
  Tensor = { [1] = { "dims", "int", rep = true }, [2] = { "data_type", "int" }, [4] = { "float_data", "bytes32" },
             [7] = { "int64_data", "int", rep = true }, [8] = { "name", "string" }, [9] = { "raw_data", "bytes" },
             [13] = { "external_data", "Entry", rep = true }, [14] = { "data_location", "int" },
             [3] = { "segment", "bytes" } },
  Entry = { [1] = { "key", "string" }, [2] = { "value", "string" } },
  Value = { [1] = { "name", "string" }, [2] = { "type", "Type" } },
  Type = { [1] = { "tensor_type", "TensorType" } },
  TensorType = { [1] = { "elem_type", "int" }, [2] = { "shape", "Shape" } },
  Shape = { [1] = { "dim", "Dim", rep = true } },
  Dim = { [1] = { "dim_value", "int" }, [2] = { "dim_param", "string" } },
}

local WIRE = { int = 0, float = 5, string = 2, bytes = 2, bytes32 = 2 }

local decode

local function add(r, msg, field, value)
  if not field.rep then
    msg[field[1]] = value
    return
  end
  local list = msg[field[1]] or {}
  if #list >= MAX_REPEATED then fail(r, "more than %d entries in %s", MAX_REPEATED, field[1]) end
  list[#list + 1] = value
  msg[field[1]] = list
end

local function scalar(r, kind)
  if kind == "int" then return varint(r) end
  if r.last - r.pos + 1 < 4 then fail(r, "a float runs past the end of its message") end
  local v = string.unpack("<f", r.buf, r.pos)
  r.pos = r.pos + 4
  return v
end

-- Packed ints or floats: the values of one length-delimited field.
local function packed(r, msg, field, kind)
  local first, last = span(r)
  local sub = { buf = r.buf, pos = first, last = last, where = r.where, path = r.path .. "." .. field[1] }
  while sub.pos <= sub.last do add(sub, msg, field, scalar(sub, kind)) end
end

local function read_field(r, msg, field, wire, depth)
  local kind = field[2]
  if (kind == "int" or kind == "float") and field.rep and wire == 2 then return packed(r, msg, field, kind) end
  local want = WIRE[kind] or 2
  if wire ~= want then fail(r, "field %s has wire type %d (expected %d)", field[1], wire, want) end
  if kind == "int" or kind == "float" then return add(r, msg, field, scalar(r, kind)) end
  local first, last = span(r)
  if kind == "string" then return add(r, msg, field, r.buf:sub(first, last)) end
  if kind == "bytes" or kind == "bytes32" then return add(r, msg, field, { first = first, last = last }) end
  local sub = { buf = r.buf, pos = first, last = last, where = r.where, path = r.path .. "." .. field[1] }
  add(r, msg, field, decode(sub, kind, depth + 1))
end

function decode(r, name, depth)
  if depth > MAX_DEPTH then fail(r, "messages nested more than %d deep", MAX_DEPTH) end
  local schema, msg = SCHEMA[name], {}
  while r.pos <= r.last do
    local key = varint(r)
    local number, wire = key >> 3, key & 7
    if number < 1 or number > 536870911 then fail(r, "field number %s is out of range", tostring(number)) end
    local field = schema[number]
    if field then read_field(r, msg, field, wire, depth) else skip(r, wire) end
  end
  return msg
end

-- ---- from messages to vggc's tables ------------------------------------------------------------------------

local function tensor(t)
  local ext = (t.data_location == 1 or (t.external_data and #t.external_data > 0)) and { location = "?" }
  for _, e in ipairs(t.external_data or {}) do
    if e.key == "location" and e.value then ext.location = e.value end
  end
  return { name = t.name or "", dims = t.dims or {}, data_type = t.data_type or 0, raw = t.raw_data,
           float_data = t.float_data, int64_data = t.int64_data, external = ext, segment = t.segment ~= nil }
end

local function value(v)
  local tt = v.type and v.type.tensor_type or {}
  local dims = {}
  for i, d in ipairs(tt.shape and tt.shape.dim or {}) do dims[i] = d.dim_value or d.dim_param or "?" end
  return { name = v.name or "", elem_type = tt.elem_type, dims = dims, ranked = tt.shape ~= nil }
end

local function attribute(a)
  return { name = a.name or "", type = a.type or 0, f = a.f, i = a.i, s = a.s, t = a.t and tensor(a.t),
           floats = a.floats, ints = a.ints, ref = a.ref_attr_name }
end

local function node(n)
  local attrs = {}
  for _, a in ipairs(n.attribute or {}) do attrs[a.name or ""] = attribute(a) end
  return { name = n.name or "", op = n.op_type or "", domain = n.domain or "", inputs = n.input or {},
           outputs = n.output or {}, attributes = attrs }
end

local function map(list, fn)
  local out = {}
  for i, x in ipairs(list or {}) do out[i] = fn(x) end
  return out
end

function M.read(where, bytes)
  local r = { buf = bytes, pos = 1, last = #bytes, where = where, path = "ModelProto" }
  local m = decode(r, "Model", 0)
  if not m.graph then errors.raise(where, "no graph (not an ONNX model, or an empty one)") end
  local opsets = {}
  for _, o in ipairs(m.opset_import or {}) do opsets[o.domain or ""] = o.version end
  local g = m.graph
  for _, t in ipairs(g.initializer or {}) do
    if t.dims and #t.dims > MAX_DIMS then errors.raise(where, "initializer %s has %d dimensions", t.name, #t.dims) end
  end
  return { ir_version = m.ir_version, opsets = opsets,
           graph = { nodes = map(g.node, node), initializers = map(g.initializer, tensor), inputs = map(g.input, value),
                     outputs = map(g.output, value), sparse = g.sparse_initializer ~= nil } }
end

return M
