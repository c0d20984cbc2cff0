-- presets.lua — the configurations a user can name: torchvision's cfgs A, B, D, E (± BatchNorm) and the paper's
-- C (1x1 convs closing blocks 3-5) and A-LRN (LRN after the first conv + ReLU). Tokens as in inline lists:
-- a number is a 3x3 conv, "N:1" a 1x1 conv, "M" a 2x2 max pool, "L" a LocalResponseNorm(5, 1e-4, 0.75, 2).
-- And two networks in the per-layer form of model files (modules.lua): LeNet-5 as the classic-CNN document writes
-- it (no activation anywhere; its module names) and torchvision's alexnet (its module names).
local M = {}

local layered = {
  lenet5 = {
    { "Sequential", name = "layer1", { "Conv2d", 1, 6, 5, name = "conv1" }, { "MaxPool2d", 2, 2, name = "pool1" } },
    { "Sequential", name = "layer2", { "Conv2d", 6, 16, 5, name = "conv2" }, { "MaxPool2d", 2, 2, name = "pool2" } },
    { "Flatten" },
    { "Sequential", name = "layer3", { "Linear", 400, 120, name = "fc1" }, { "Linear", 120, 84, name = "fc2" },
      { "Linear", 84, 10, name = "fc3" } },
  },
  alexnet = {
    { "Sequential", name = "features",
      { "Conv2d", 3, 64, 11, stride = 4, padding = 2 }, { "ReLU" }, { "MaxPool2d", 3, stride = 2 },
      { "Conv2d", 64, 192, 5, padding = 2 }, { "ReLU" }, { "MaxPool2d", 3, stride = 2 },
      { "Conv2d", 192, 384, 3, padding = 1 }, { "ReLU" },
      { "Conv2d", 384, 256, 3, padding = 1 }, { "ReLU" },
      { "Conv2d", 256, 256, 3, padding = 1 }, { "ReLU" }, { "MaxPool2d", 3, stride = 2 } },
    { "AdaptiveAvgPool2d", { 6, 6 }, name = "avgpool" },
    { "Flatten" },
    { "Sequential", name = "classifier",
      { "Dropout", 0.5 }, { "Linear", 9216, 4096 }, { "ReLU" },
      { "Dropout", 0.5 }, { "Linear", 4096, 4096 }, { "ReLU" },
      { "Linear", 4096, 1000 } },
  },
}
local inputs = { lenet5 = { 1, 32, 32 }, alexnet = { 3, 224, 224 } }

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
            "A", "A-LRN", "B", "C", "D", "E", "lenet5", "alexnet" }

-- find("vgg16_bn") -> {features = {...}, batch_norm = true}; find("lenet5") -> {layers = {...}, input = {1, 32, 32}};
-- or nil
function M.find(name)
  if layered[name] then return { layers = layered[name], input = inputs[name] } end
  local entry = names[name]
  if not entry then return nil end
  local features = {}
  for i, tok in ipairs(cfgs[entry[1]]) do features[i] = tok end
  return { features = features, batch_norm = entry[2] }
end

return M
