-- modelfile.lua — write a model file in the per-layer form (modules.lua) as Lua text a person can read and edit:
-- one layer per line, positional arguments first, then the named ones in a fixed order.
local format = require("format")

local M = {}

local ORDER = { "stride", "padding", "dilation", "ceil_mode", "count_include_pad", "bias", "eps", "alpha", "beta",
                "k", "dim", "name", "from", "tensors" }

local value

local function number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  return format.float(v)
end

local function list(v)
  local parts = {}
  for i, x in ipairs(v) do parts[i] = value(x) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- {weight = "a", bias = "b"} with its keys sorted
local function record(v)
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. " = " .. value(v[k]) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

function value(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then return number(v) end
  if type(v) == "boolean" then return tostring(v) end
  if #v > 0 then return list(v) end
  return record(v)
end

local function entry(e)
  local parts = {}
  for i, x in ipairs(e) do parts[i] = value(x) end
  for _, k in ipairs(ORDER) do
    if e[k] ~= nil then parts[#parts + 1] = k .. " = " .. value(e[k]) end
  end
  return "    { " .. table.concat(parts, ", ") .. " },"
end

-- text({name, input = {C, H, W}, batch, entries, comment = {lines}}) -> the file's text
function M.text(m)
  local out = {}
  for _, line in ipairs(m.comment) do out[#out + 1] = "-- " .. line end
  out[#out + 1] = "return {"
  out[#out + 1] = string.format("  name = %q,", m.name)
  out[#out + 1] = string.format("  input = \"%s\",", format.shape(m.input))
  out[#out + 1] = string.format("  batch = %d,", m.batch)
  out[#out + 1] = "  layers = {"
  for _, e in ipairs(m.entries) do out[#out + 1] = entry(e) end
  out[#out + 1] = "  },"
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

return M
