-- layers/flatten.lua — Flatten(): (C, H, W) -> (C * H * W) per image, as x.view(x.size(0), -1). NCHW memory is
-- already in that order, so no code runs (a blocked map is converted by the next layer that reads it, plan.lua).
local format = require("format")

local K = { computes = false }

function K.label()
  return "flatten"
end

function K.infer(_, shape, ctx)
  ctx.flattened = shape -- for the message of a Linear after it
  return { format.product(shape) }
end

function K.describe(_, shape)
  return string.format("flatten %s -> %d (no code)", format.tuple(shape), format.product(shape))
end

return K
