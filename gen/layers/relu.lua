-- layers/relu.lua — a ReLU that follows neither a Conv2d nor a Linear (those run it in their own epilogue).
local format = require("format")

local K = { computes = true, template = "templates/layers/relu.c.in" }

function K.label()
  return "relu"
end

function K.infer(_, shape)
  return shape
end

function K.describe(_, shape)
  return string.format("relu over %s", format.tuple(shape))
end

-- per image, in the layout of its input (a blocked tensor's padded lanes stay 0)
function K.args(u)
  return { count = require("algo").floats(u.srcs[1].layout, 1, u.srcs[1].shape) }
end

return K
