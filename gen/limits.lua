-- limits.lua — what generated C can hold: every tensor and buffer is indexed with int in the runtime's
-- dimension arguments, so no single one may pass 2^31 - 1 elements.
local errors = require("errors")
local format = require("format")

local M = {}

local MAX = (1 << 31) - 1

-- Every tensor has its own name and its own C array (emit.c_name: "a.b" and "a_b" would share one).
local function check_names(net, where)
  local c_name = require("emit").c_name
  local seen = {}
  for _, u in ipairs(net.units) do
    local arrays = {}
    for _, t in ipairs(u.tensors) do arrays[#arrays + 1] = t.name end
    if u.bias_zeroed then arrays[#arrays + 1] = u.bias_name end
    for _, name in ipairs(arrays) do
      local c = c_name(name)
      if seen[c] then
        errors.raise(where, "tensors %s and %s would both be the C array %s (give one another name)", seen[c], name, c)
      end
      seen[c] = name
    end
  end
end

function M.check(net, plan)
  local where = net.model.source .. " at " .. format.shape(net.model.input)
  check_names(net, where)
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
