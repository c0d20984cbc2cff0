-- safetensors.lua — write a safetensors file: a little-endian u64 header length, the JSON header (each tensor's
-- dtype, shape and data_offsets, padded with spaces to 8 bytes), then the tensors' bytes in header order.
local json = require("json")

local M = {}

-- bytes({{name, dtype, shape, data}, ...}, metadata) -> the file's bytes
function M.bytes(tensors, metadata)
  local header, keys, offset = { __metadata__ = metadata }, { "__metadata__" }, 0
  for _, t in ipairs(tensors) do
    header[t.name] = json.ordered({ dtype = t.dtype, shape = t.shape, data_offsets = { offset, offset + #t.data } },
                                  { "dtype", "shape", "data_offsets" })
    keys[#keys + 1] = t.name
    offset = offset + #t.data
  end
  local text = json.encode(json.ordered(header, keys))
  text = text .. string.rep(" ", -#text % 8)
  local parts = { string.pack("<I8", #text), text }
  for _, t in ipairs(tensors) do parts[#parts + 1] = t.data end
  return table.concat(parts)
end

return M
