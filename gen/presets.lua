-- presets.lua — the configurations a user can name: torchvision's cfgs A, B, D, E (± BatchNorm) and the paper's
-- C (1x1 convs closing blocks 3-5) and A-LRN (LRN after the first conv + ReLU). Tokens as in inline lists:
-- a number is a 3x3 conv, "N:1" a 1x1 conv, "M" a 2x2 max pool, "L" a LocalResponseNorm(5, 1e-4, 0.75, 2).
-- And networks in the per-layer form of model files (modules.lua): LeNet-5 as the classic-CNN document writes it
-- (no activation anywhere; its module names), and torchvision's alexnet, resnet18 and googlenet (their module
-- names, so torchvision's state_dicts load by name; googlenet without its auxiliary heads, which only training
-- runs, and with transform_input = False, torchvision's default without pretrained weights: README, Presets).
local M = {}

-- A module with its name set (a helper below builds it unnamed).
local function named(name, module)
  module.name = name
  return module
end

-- torchvision's resnet BasicBlock: conv1 (3x3, stride s), bn1, relu, conv2, bn2; out += identity, or
-- downsample(x) (a strided 1x1 conv + BatchNorm) when the shape changes; relu.
local function basic_block(cin, planes, stride)
  local block = { "Sequential",
    { "Conv2d", cin, planes, 3, stride = stride, padding = 1, bias = false, name = "conv1" },
    { "BatchNorm2d", planes, name = "bn1" }, { "ReLU", name = "relu" },
    { "Conv2d", planes, planes, 3, padding = 1, bias = false, name = "conv2" },
    { "BatchNorm2d", planes, name = "bn2" } }
  local identity = "input"
  if stride ~= 1 or cin ~= planes then
    block[#block + 1] = { "Sequential", name = "downsample", from = "input",
                          { "Conv2d", cin, planes, 1, stride = stride, bias = false }, { "BatchNorm2d", planes } }
    identity = "downsample"
  end
  block[#block + 1] = { "Add", from = { "bn2", identity } }
  block[#block + 1] = { "ReLU" }
  return block
end

local function resnet_layer(name, cin, planes, stride)
  return { "Sequential", name = name, basic_block(cin, planes, stride), basic_block(planes, planes, 1) }
end

-- torchvision's googlenet BasicConv2d: a conv without bias, BatchNorm2d(eps=0.001), F.relu.
local function basic_conv(cin, cout, k, padding, stride)
  return { "Sequential",
           { "Conv2d", cin, cout, k, stride = stride or 1, padding = padding, bias = false, name = "conv" },
           { "BatchNorm2d", cout, eps = 0.001, name = "bn" }, { "ReLU" } }
end

-- torchvision's Inception: four branches on the block's input, concatenated (its branch3 is a 3x3 conv, as
-- torchvision writes it, not the paper's 5x5).
local function inception(cin, c1, c3r, c3, c5r, c5, pool)
  return { "Sequential",
    named("branch1", basic_conv(cin, c1, 1, 0)),
    { "Sequential", name = "branch2", from = "input", basic_conv(cin, c3r, 1, 0), basic_conv(c3r, c3, 3, 1) },
    { "Sequential", name = "branch3", from = "input", basic_conv(cin, c5r, 1, 0), basic_conv(c5r, c5, 3, 1) },
    { "Sequential", name = "branch4", from = "input",
      { "MaxPool2d", 3, stride = 1, padding = 1, ceil_mode = true }, basic_conv(cin, pool, 1, 0) },
    { "Concat", from = { "branch1", "branch2", "branch3", "branch4" } } }
end

local function ceil_pool(k)
  return { "MaxPool2d", k, stride = 2, ceil_mode = true }
end

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
  resnet18 = {
    { "Conv2d", 3, 64, 7, stride = 2, padding = 3, bias = false, name = "conv1" },
    { "BatchNorm2d", 64, name = "bn1" }, { "ReLU", name = "relu" },
    { "MaxPool2d", 3, stride = 2, padding = 1, name = "maxpool" },
    resnet_layer("layer1", 64, 64, 1), resnet_layer("layer2", 64, 128, 2), resnet_layer("layer3", 128, 256, 2),
    resnet_layer("layer4", 256, 512, 2),
    { "AdaptiveAvgPool2d", { 1, 1 }, name = "avgpool" }, { "Flatten" }, { "Linear", 512, 1000, name = "fc" },
  },
  googlenet = {
    named("conv1", basic_conv(3, 64, 7, 3, 2)), named("maxpool1", ceil_pool(3)),
    named("conv2", basic_conv(64, 64, 1, 0)), named("conv3", basic_conv(64, 192, 3, 1)),
    named("maxpool2", ceil_pool(3)),
    named("inception3a", inception(192, 64, 96, 128, 16, 32, 32)),
    named("inception3b", inception(256, 128, 128, 192, 32, 96, 64)), named("maxpool3", ceil_pool(3)),
    named("inception4a", inception(480, 192, 96, 208, 16, 48, 64)),
    named("inception4b", inception(512, 160, 112, 224, 24, 64, 64)),
    named("inception4c", inception(512, 128, 128, 256, 24, 64, 64)),
    named("inception4d", inception(512, 112, 144, 288, 32, 64, 64)),
    named("inception4e", inception(528, 256, 160, 320, 32, 128, 128)), named("maxpool4", ceil_pool(2)),
    named("inception5a", inception(832, 256, 160, 320, 32, 128, 128)),
    named("inception5b", inception(832, 384, 192, 384, 48, 128, 128)),
    { "AdaptiveAvgPool2d", { 1, 1 }, name = "avgpool" }, { "Flatten" }, { "Dropout", 0.2, name = "dropout" },
    { "Linear", 1024, 1000, name = "fc" },
  },
}
local inputs = { lenet5 = { 1, 32, 32 }, alexnet = { 3, 224, 224 }, resnet18 = { 3, 224, 224 },
                 googlenet = { 3, 224, 224 } }

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
            "A", "A-LRN", "B", "C", "D", "E", "lenet5", "alexnet", "resnet18", "googlenet" }

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
