-- layers/softmax.lua — Softmax(dim=1) over each image's class scores (F.softmax(x) on a (batch, classes) tensor).
local K = { computes = true, template = "templates/layers/softmax.c.in" }

function K.label()
  return "softmax"
end

function K.infer(u, shape, ctx)
  if #shape ~= 1 then
    ctx.fail(u, "softmax over a %dx%dx%d map (expected class scores: add a Flatten or a Linear before it)",
             shape[1], shape[2], shape[3])
  end
  return shape
end

function K.describe(_, shape)
  return string.format("softmax over %d classes", shape[1])
end

function K.args(_, shape)
  return { c = shape[1] }
end

return K
