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

-- Write every {path = ..., text = ...} of list. All temp files are written first; only when all succeeded are
-- they renamed into place, so either every file is current or none was touched.
function M.write_all(host, list)
  local pending = {}
  local function abandon()
    for _, p in ipairs(pending) do os.remove(p.tmp) end
  end
  for _, file in ipairs(list) do
    if M.read(file.path) ~= file.text then
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
  end
  for _, p in ipairs(pending) do -- what would stop a rename half-way, found before any rename
    if host.isdir(p.path) then
      abandon()
      errors.raise(p.path, "cannot replace: a directory is in the way")
    end
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
