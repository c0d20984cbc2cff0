-- template.lua — fill a C template's {{name}} placeholders. A placeholder with no value, or a value no
-- placeholder asks for, is a bug in vggc, never an empty string.
local M = {}

-- load(host, "templates/model.c.in") -> template text
function M.load(host, path)
  local text = host.embedded(path)
  if not text then error("template " .. path .. " is not embedded in vggc") end
  return { path = path, text = text }
end

function M.fill(tpl, values)
  local used = {}
  local out = tpl.text:gsub("{{([%w_]+)}}", function(key)
    local v = values[key]
    if v == nil then error(tpl.path .. ": no value for placeholder {{" .. key .. "}}") end
    used[key] = true
    return tostring(v)
  end)
  for key in pairs(values) do
    if not used[key] then error(tpl.path .. ": value '" .. key .. "' has no placeholder") end
  end
  return out
end

return M
