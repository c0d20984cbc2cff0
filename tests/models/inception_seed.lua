-- A small network around the classic-CNN document's Inception module (tests/seed_networks.py's inception_seed):
-- a stem, Inception(24, pool_features=20), a strided max pool, a global average pool and a Linear. The module is
-- written as the document writes it: every conv a BasicConv2d (Conv2d without bias, BatchNorm2d(eps=0.001),
-- F.relu), four branches on the module's input x, F.avg_pool2d(x, 3, 1, 1) before branch_pool, and
-- torch.cat([branch1X1, branch3X3, branch5X5, branch_pool], 1). Names are the document's, so the state_dict of
-- `InceptionNet()` (stem.conv.weight, inception.branch5X5_2.bn.running_var, ...) loads by name.

local function BasicConv2d(name, cin, cout, k, padding)
  return { "Sequential", name = name,
           { "Conv2d", cin, cout, k, padding = padding or 0, bias = false, name = "conv" },
           { "BatchNorm2d", cout, eps = 0.001, name = "bn" },
           { "ReLU" } }                                                  -- F.relu(x, inplace=True)
end

-- module, reading ref (a name, or "input": the input of the list it is in) instead of the entry before it
local function from(ref, module)
  module.from = ref
  return module
end

local function Inception(name, cin, pool_features)
  return { "Sequential", name = name,                                 -- forward(self, x):
    BasicConv2d("branch1X1", cin, 64, 1),                             --   reads x (the first entry)
    from("input", BasicConv2d("branch5X5_1", cin, 48, 1)),
    BasicConv2d("branch5X5_2", 48, 64, 5, 2),                         --   reads the entry before it
    from("input", BasicConv2d("branch3X3_1", cin, 64, 1)),
    BasicConv2d("branch3X3_2", 64, 96, 3, 1),
    { "AvgPool2d", 3, stride = 1, padding = 1, from = "input" },      --   F.avg_pool2d(x, 3, 1, 1)
    BasicConv2d("branch_pool", cin, pool_features, 1),
    { "Concat", from = { "branch1X1", "branch3X3_2", "branch5X5_2", "branch_pool" } },
  }
end

return {
  name = "inception_seed",
  input = "3x15x13",
  batch = 2,
  layers = {
    BasicConv2d("stem", 3, 24, 3, 1),
    Inception("inception", 24, 20),                                   -- 64 + 96 + 64 + 20 = 244 channels
    { "MaxPool2d", 3, stride = 2, padding = 1, name = "pool" },
    { "AdaptiveAvgPool2d", 1 },                                       -- F.adaptive_avg_pool2d(x, 1)
    { "Flatten" },
    { "Linear", 244, 10, name = "fc" },
  },
}
