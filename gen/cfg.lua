-- cfg.lua — a VGG given as a cfg (preset, inline list or a model file's `features`) plus its head, as the layers
-- torchvision's VGG has, with its state_dict names: make_layers' `features.<i>` (Conv2d [BatchNorm2d] ReLU per
-- conv, MaxPool2d(2, 2), LocalResponseNorm), `avgpool`, then `classifier.<i>` (Linear ReLU Dropout per hidden
-- width, and the last Linear). VGG.forward's torch.flatten(x, 1) is no module: the first Linear flattens.
local window = require("window")

local M = {}

local function conv(f)
  local p = f.k // 2
  return { kind = "conv", type = "Conv2d", out = f.out, bias = true,
           win = window.new({ f.k, f.k }, { 1, 1 }, { p, p, p, p }, { 1, 1 }, false) }
end

local function maxpool()
  return { kind = "maxpool", type = "MaxPool2d", win = window.new({ 2, 2 }, { 2, 2 }, { 0, 0, 0, 0 }, { 1, 1 }, false) }
end

local function features(list, batch_norm, layers)
  local index = 0
  local function add(layer)
    layer.name = "features." .. index
    layers[#layers + 1] = layer
    index = index + 1
  end
  for _, f in ipairs(list) do
    if f.kind == "conv" then
      add(conv(f))
      if batch_norm then add({ kind = "batchnorm", type = "BatchNorm2d", eps = 1e-5 }) end
      add({ kind = "relu", type = "ReLU" })
    elseif f.kind == "maxpool" then
      add(maxpool())
    else
      add({ kind = "lrn", type = "LocalResponseNorm", size = f.size, alpha = f.alpha, beta = f.beta, k = f.k })
    end
  end
end

local function head(model, layers)
  local function add(layer, name)
    layer.name = name
    layers[#layers + 1] = layer
  end
  if model.avgpool then
    add({ kind = "avgpool", type = "AdaptiveAvgPool2d", oh = model.avgpool[1], ow = model.avgpool[2] }, "avgpool")
  end
  local index, first = 0, #layers + 1
  for _, width in ipairs(model.classifier) do
    add({ kind = "linear", type = "Linear", out = width, bias = true }, "classifier." .. index)
    add({ kind = "relu", type = "ReLU" }, "classifier." .. index + 1)
    add({ kind = "identity", type = "Dropout", p = 0.5 }, "classifier." .. index + 2)
    index = index + 3
  end
  add({ kind = "linear", type = "Linear", out = model.classes, bias = true }, "classifier." .. index)
  layers[first].flattens = true
end

-- layers(model) -> the layers of model = {features (parsed cfg tokens), batch_norm, avgpool, classifier, classes}
function M.layers(model)
  local layers = {}
  features(model.features, model.batch_norm, layers)
  head(model, layers)
  return layers
end

return M
