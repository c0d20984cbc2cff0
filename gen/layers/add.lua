-- layers/add.lua — `out += identity`: the sum of two tensors of one shape [+ the ReLU right after it]. Where one
-- input is a blocked conv that nothing else reads, the Add runs in that conv's epilogue (algo.lua) and emits nothing.
local format = require("format")

local K = { computes = true, template = "templates/layers/add.c.in" }

function K.label(u)
  return u.relu and "add+relu" or "add"
end

function K.infer(u, shape, ctx)
  local other = u.input_shapes[2]
  if format.shape(other) ~= format.shape(shape) then
    ctx.fail(u, "its inputs are %s (%s) and %s (%s) (an Add needs two tensors of the same shape)", format.shape(shape),
             ctx.input_name(u.inputs[1]), format.shape(other), ctx.input_name(u.inputs[2]))
  end
  return shape
end

function K.describe(u, shape)
  return string.format("add two %s tensors%s", format.tuple(shape), u.relu and ", relu" or "")
end

-- per image, in the layout of its inputs (a blocked tensor's padded lanes are 0 + 0)
function K.args(u, _, ctx)
  local a = u.srcs[1]
  return { other = ctx.expr(u.srcs[2]), count = require("algo").floats(a.layout, 1, a.shape),
           relu = u.relu and 1 or 0 }
end

return K
