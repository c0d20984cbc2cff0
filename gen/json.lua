-- json.lua — encode Lua values as JSON. Objects list their keys in the order given by an `order` array
-- (ordered(tbl, {"a", "b"})) or else sorted, so output is deterministic.
local M = {}

local ORDER = setmetatable({}, { __mode = "k" })

function M.ordered(tbl, keys)
  ORDER[tbl] = keys
  return tbl
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\t'] = '\\t', ['\r'] = '\\r' }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function number(n)
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then error("json: cannot encode " .. tostring(n)) end
  for digits = 1, 17 do
    local s = string.format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
end

local encode

local function keys_of(tbl)
  if ORDER[tbl] then return ORDER[tbl] end
  local keys = {}
  for k in pairs(tbl) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function is_array(tbl)
  return ORDER[tbl] == nil and (#tbl > 0 or next(tbl) == nil)
end

function encode(v, indent, depth)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then return number(v) end
  if t == "boolean" then return tostring(v) end
  if v == nil or v == M.null then return "null" end
  local pad = indent and ("\n" .. string.rep(indent, depth + 1)) or ""
  local close = indent and ("\n" .. string.rep(indent, depth)) or ""
  local parts = {}
  if is_array(v) then
    if #v == 0 then return "[]" end
    local flat = true
    for _, x in ipairs(v) do if type(x) == "table" then flat = false end end
    for i, x in ipairs(v) do parts[i] = encode(x, indent, depth + 1) end
    if flat then return "[" .. table.concat(parts, ", ") .. "]" end
    return "[" .. pad .. table.concat(parts, "," .. pad) .. close .. "]"
  end
  for _, k in ipairs(keys_of(v)) do
    if v[k] ~= nil then parts[#parts + 1] = quote(k) .. ": " .. encode(v[k], indent, depth + 1) end
  end
  return "{" .. pad .. table.concat(parts, "," .. pad) .. close .. "}"
end

M.null = setmetatable({}, { __tostring = function() return "null" end })

function M.encode(v, indent)
  return encode(v, indent, 0)
end

return M
