-- limits.lua — what generated C can hold: every tensor and buffer is indexed with int in the runtime's
-- dimension arguments, so no single one may pass 2^31 - 1 elements.
local errors = require("errors")
local format = require("format")

local M = {}

local MAX = (1 << 31) - 1

function M.check(net, plan)
  local where = net.model.source .. " at " .. format.shape(net.model.input)
  for _, u in ipairs(net.units) do
    local out = format.product(u.output) * net.model.batch
    if out > MAX or u.work > MAX then
      errors.raise(where, "layer %d (%s) has %s elements, more than generated code can index (%s)", u.number,
                   u.label, format.thousands(math.max(out, u.work)), format.thousands(MAX))
    end
    for _, t in ipairs(u.tensors) do
      if t.count > MAX then
        errors.raise(where, "%s has %s elements, more than generated code can index (%s)", t.name,
                     format.thousands(t.count), format.thousands(MAX))
      end
    end
  end
  if plan.floats > MAX then
    errors.raise(where, "the workspace needs %s floats, more than generated code can index", format.thousands(plan.floats))
  end
end

return M
