-- files.lua — write output files atomically (temp file in the same directory, then rename) and only when
-- their content changed, so builds don't redo work and a failure leaves earlier outputs untouched.
local errors = require("errors")

local M = {}

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- Whether the existing file at path has no write bit in its mode. A rename would replace it without a word, so
-- vggc refuses, as a policy that holds for root too (whom the permission itself does not stop).
local function read_only(host, path)
  local mode = host.mode(path)
  return mode ~= nil and mode & 146 == 0 -- 146 = 0o222, the three write bits
end

-- What would stop a file from being replaced, found before anything is written.
function M.check_replaceable(host, path)
  if host.isdir(path) then errors.raise(path, "cannot replace: a directory is in the way") end
  if read_only(host, path) then errors.raise(path, "is read-only (not replaced)") end
end

-- Write every {path = ..., text = ...} of list. All temp files are written first; only when all succeeded are
-- they renamed into place, so either every file is current or none was touched.
function M.write_all(host, list)
  local pending, changed = {}, {}
  local function abandon()
    for _, p in ipairs(pending) do os.remove(p.tmp) end
  end
  for _, file in ipairs(list) do
    if M.read(file.path) ~= file.text then
      M.check_replaceable(host, file.path)
      changed[#changed + 1] = file
    end
  end
  for _, file in ipairs(changed) do
    local tmp = string.format("%s.tmp-%d", file.path, host.pid())
    local f, err = io.open(tmp, "wb")
    local ok = f and f:write(file.text)
    local closed = f and f:close()
    if not (f and ok and closed) then
      os.remove(tmp)
      abandon()
      errors.raise(file.path, "cannot write (%s)", (err or "write failed"):gsub("^.-: ", ""))
    end
    pending[#pending + 1] = { tmp = tmp, path = file.path }
  end
  for i, p in ipairs(pending) do
    local ok, err = os.rename(p.tmp, p.path)
    if not ok then
      for j = i, #pending do os.remove(pending[j].tmp) end
      errors.raise(p.path, "cannot replace (%s)", err)
    end
  end
  return #pending
end

return M
