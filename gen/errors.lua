-- errors.lua — a user's mistake is an error object with a one-line message; the host prints it without a
-- traceback and exits 2. Anything raised another way is a bug in vggc and gets a traceback.
local M = {}

local UserError = {}
UserError.__index = UserError
UserError.__tostring = function(e) return e.message end

-- raise("model.lua", "features[7]: '%s' is not a channel count", tok) -> "model.lua: features[7]: ..."
function M.raise(where, fmt, ...)
  local what = select("#", ...) > 0 and string.format(fmt, ...) or fmt
  error(setmetatable({ message = where .. ": " .. what }, UserError), 0)
end

function M.is_user(e)
  return getmetatable(e) == UserError
end

return M
