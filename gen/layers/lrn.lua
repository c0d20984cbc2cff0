-- layers/lrn.lua — LocalResponseNorm(size, alpha, beta, k) across channels. torchvision module: features.i.
local format = require("format")

local K = { computes = true, takes_map = true, template = "templates/layers/lrn.c.in" }

function K.label()
  return "lrn"
end

function K.infer(_, shape)
  return { shape[1], shape[2], shape[3] }
end

function K.describe(u)
  return string.format("local response norm, size %d, alpha %g, beta %g, k %g", u.size, u.alpha, u.beta, u.k)
end

function K.args(u, shape)
  return { c = shape[1], h = shape[2], w = shape[3], size = u.size, alpha = format.float(u.alpha) .. "f",
           beta = format.float(u.beta) .. "f", k = format.float(u.k) .. "f" }
end

return K
