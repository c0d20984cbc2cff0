-- layers/lrn.lua — LocalResponseNorm(size, alpha, beta, k) across channels. torchvision module: features.i.
local K = { computes = true, template = "templates/layers/lrn.c.in" }

function K.label()
  return "lrn"
end

function K.infer(_, shape)
  return { shape[1], shape[2], shape[3] }
end

function K.tensors() return {} end
function K.macs() return 0 end
function K.work() return 0 end

function K.modules(u)
  return { { name = "features." .. u.index, type = "LocalResponseNorm", size = u.size, alpha = u.alpha,
             beta = u.beta, k = u.k } }
end

function K.describe(u)
  return string.format("local response norm, size %d, alpha %g, beta %g, k %g", u.size, u.alpha, u.beta, u.k)
end

-- A C float literal: 2 -> "2.0f", 1e-4 -> "0.0001f"
local function float(x)
  local s = string.format("%.9g", x)
  if not s:find("[.eEn]") then s = s .. ".0" end
  return s .. "f"
end

function K.args(u, shape)
  return { c = shape[1], h = shape[2], w = shape[3], size = u.size, alpha = float(u.alpha), beta = float(u.beta),
           k = float(u.k) }
end

return K
