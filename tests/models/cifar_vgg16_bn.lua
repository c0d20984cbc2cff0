-- The CIFAR-10 document's optimized VGG16: torchvision's cfg D with BatchNorm after every conv (features.<i> as
-- make_layers numbers them), no avgpool, x.view(x.size(0), -1), classifier Dropout, Linear(512, 512), ReLU,
-- Dropout, Linear(512, 512), ReLU, Linear(512, 10) -> classifier.1/4/6. 15,253,578 parameters at 3x32x32.
local features = {}
local cin = 3
local cfg = { 64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M" }
for i = 1, #cfg do
  local v = cfg[i]
  if v == "M" then
    features[#features + 1] = { "MaxPool2d", 2, stride = 2 }
  else
    features[#features + 1] = { "Conv2d", cin, v, 3, padding = 1 }
    features[#features + 1] = { "BatchNorm2d", v }
    features[#features + 1] = { "ReLU" }
    cin = v
  end
end
local layers = { { "Sequential", name = "features" } }
for i = 1, #features do layers[1][i + 1] = features[i] end
layers[2] = { "Flatten" }
layers[3] = { "Sequential", name = "classifier",
              { "Dropout" }, { "Linear", 512, 512 }, { "ReLU" },
              { "Dropout" }, { "Linear", 512, 512 }, { "ReLU" },
              { "Linear", 512, 10 } }
return { name = "cifar_vgg16_bn", input = "3x32x32", layers = layers }
