-- layers/avgpool.lua — AdaptiveAvgPool2d((oh, ow)) with PyTorch's bins. torchvision module: avgpool.
-- When the map already has the target size it is the identity and no code runs.
local K = { takes_map = true, template = "templates/layers/avgpool.c.in" }

function K.label(u)
  return string.format("avgpool %dx%d", u.oh, u.ow)
end

function K.computes(u, shape)
  return not (shape[2] == u.oh and shape[3] == u.ow)
end

function K.infer(u, shape)
  return { shape[1], u.oh, u.ow }
end

function K.describe(u, shape)
  local what = string.format("adaptive average pool %dx%d -> %dx%d", shape[2], shape[3], u.oh, u.ow)
  return K.computes(u, shape) and what or what .. " (identity: no code)"
end

function K.args(u, shape)
  return { c = shape[1], h = shape[2], w = shape[3], oh = u.oh, ow = u.ow }
end

return K
