-- A small network with one of each general layer, as an nn.Sequential (tests/seed_networks.py's ops_every_layer):
-- its unnamed layers take their index as nn.Sequential names them, so its state_dict ("0.weight", "1.running_var",
-- ...) loads by name. A conv without bias and its BatchNorm with eps 1e-3, a ceil-mode padded max pool, a ReLU
-- after a pool, LocalResponseNorm, an average pool that does not count its padding, a non-square strided dilated
-- conv with padding only at the sides, Dropout2d, a Linear without bias and softmax.
return {
  name = "ops_every_layer",
  input = "3x13x11",
  layers = {
    { "Conv2d", 3, 8, 3, padding = 1, bias = false },
    { "BatchNorm2d", 8, eps = 1e-3 },
    { "ReLU" },
    { "MaxPool2d", 3, stride = 2, padding = 1, ceil_mode = true },
    { "ReLU" },
    { "LocalResponseNorm", 3, alpha = 1e-3, beta = 0.75, k = 2.0 },
    { "AvgPool2d", 3, stride = 1, padding = 1, count_include_pad = false },
    { "Conv2d", 8, 8, { 3, 1 }, stride = { 2, 1 }, padding = { 0, 1 }, dilation = { 1, 2 } },
    { "Dropout2d" },
    { "Flatten" },
    { "Linear", 192, 6, bias = false },
    { "Softmax", dim = 1 },
  },
}
