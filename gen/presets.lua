-- presets.lua — the configurations a user can name: torchvision's cfgs A, B, D, E (± BatchNorm) and the paper's
-- C (1x1 convs closing blocks 3-5) and A-LRN (LRN after the first conv + ReLU). Tokens as in inline lists:
-- a number is a 3x3 conv, "N:1" a 1x1 conv, "M" a 2x2 max pool, "L" a LocalResponseNorm(5, 1e-4, 0.75, 2).
local M = {}

local cfgs = {
  A = { 64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M" },
  ["A-LRN"] = { 64, "L", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M" },
  B = { 64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M" },
  C = { 64, 64, "M", 128, 128, "M", 256, 256, "256:1", "M", 512, 512, "512:1", "M", 512, 512, "512:1", "M" },
  D = { 64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M" },
  E = { 64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M" },
}

-- name -> {cfg letter, batch_norm}
local names = {
  vgg11 = { "A", false }, vgg13 = { "B", false }, vgg16 = { "D", false }, vgg19 = { "E", false },
  vgg11_bn = { "A", true }, vgg13_bn = { "B", true }, vgg16_bn = { "D", true }, vgg19_bn = { "E", true },
  A = { "A", false }, B = { "B", false }, C = { "C", false }, D = { "D", false }, E = { "E", false },
  ["A-LRN"] = { "A-LRN", false },
}

M.order = { "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
            "A", "A-LRN", "B", "C", "D", "E" }

-- find("vgg16_bn") -> {features = {...}, batch_norm = true}, or nil
function M.find(name)
  local entry = names[name]
  if not entry then return nil end
  local features = {}
  for i, tok in ipairs(cfgs[entry[1]]) do features[i] = tok end
  return { features = features, batch_norm = entry[2] }
end

return M
