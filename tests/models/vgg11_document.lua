-- The VGG11 document's VGG11(in_channels=3, num_classes=1000) with its own module names: conv_layers.0 ...
-- conv_layers.18, x.view(x.size(0), -1) (no avgpool), linear_layers.0/3/6 with Dropout2d. 132,863,336 parameters.
local function conv(cin, c) return { "Conv2d", cin, c, 3, padding = 1 } end
local pool = { "MaxPool2d", 2, 2 }
return {
  name = "vgg11_document",
  input = "3x224x224",
  layers = {
    { "Sequential", name = "conv_layers",
      conv(3, 64), { "ReLU" }, pool,
      conv(64, 128), { "ReLU" }, pool,
      conv(128, 256), { "ReLU" }, conv(256, 256), { "ReLU" }, pool,
      conv(256, 512), { "ReLU" }, conv(512, 512), { "ReLU" }, pool,
      conv(512, 512), { "ReLU" }, conv(512, 512), { "ReLU" }, pool },
    { "Flatten" },
    { "Sequential", name = "linear_layers",
      { "Linear", 512 * 7 * 7, 4096 }, { "ReLU" }, { "Dropout2d", 0.5 },
      { "Linear", 4096, 4096 }, { "ReLU" }, { "Dropout2d", 0.5 },
      { "Linear", 4096, 1000 } },
  },
}
