-- plan.lua — plan the static activation buffers. Units that compute read their input and write their output;
-- identity units (dropout, a same-size avgpool) pass the pointer on. The first computing unit reads the caller's
-- input, the last writes the caller's output, and the ones between alternate between two buffers, a and b, each
-- as large as the largest output it holds. One scratch buffer, work, serves every conv's im2col. The three
-- share one static workspace; each starts on a 64-byte boundary, so the report's bytes are what the C declares.
local format = require("format")

local ALIGN = 16 -- floats

local M = {}

-- plan(net) -> {buffers = {{name, offset, floats}...}, floats, static_bytes}; sets u.src, u.dst on every unit
function M.plan(net)
  local batch = net.model.batch
  local sizes = { a = 0, b = 0, work = 0 }
  local last
  for _, u in ipairs(net.units) do if u.computes then last = u end end
  local current = "input"
  for _, u in ipairs(net.units) do
    u.src = current
    if u.computes then
      if u == last then
        u.dst = "output"
      else
        u.dst = current == "a" and "b" or "a"
        sizes[u.dst] = math.max(sizes[u.dst], format.product(u.output) * batch)
      end
      sizes.work = math.max(sizes.work, u.work)
      current = u.dst
    else
      u.dst = current
    end
  end
  local plan = { buffers = {}, floats = 0 }
  for _, name in ipairs({ "a", "b", "work" }) do
    if sizes[name] > 0 then
      local floats = (sizes[name] + ALIGN - 1) // ALIGN * ALIGN
      plan.buffers[#plan.buffers + 1] = { name = name, offset = plan.floats, floats = floats }
      plan.floats = plan.floats + floats
    end
  end
  plan.static_bytes = plan.floats * 4
  return plan
end

return M
