-- layers/dropout.lua — Dropout(p): the identity at inference, so no code runs. torchvision module: classifier.i.
local K = { computes = false }

function K.label()
  return "dropout"
end

function K.infer(_, shape)
  return shape
end

function K.tensors() return {} end
function K.macs() return 0 end
function K.work() return 0 end

function K.modules(u)
  return { { name = "classifier." .. u.index, type = "Dropout", p = 0.5 } }
end

function K.describe()
  return "dropout p 0.5: the identity at inference (no code)"
end

return K
