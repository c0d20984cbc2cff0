-- layers/identity.lua — Dropout, Dropout2d and Identity: the identity at inference, so no code runs.
-- torchvision modules: classifier.i Dropout.
local K = { computes = false }

function K.label(u)
  return u.type:lower()
end

function K.infer(_, shape)
  return shape
end

function K.describe(u)
  local what = u.p and string.format("%s p %g", u.type:lower(), u.p) or u.type:lower()
  return what .. ": the identity at inference (no code)"
end

return K
