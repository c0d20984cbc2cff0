-- A small network around the classic-CNN document's ResNet BasicBlock (tests/seed_networks.py's basicblock_seed):
-- a stem, BasicBlock(12, 12) whose residual is its input, and BasicBlock(12, 20, stride=2) whose residual is
-- downsample(x), a strided 1x1 conv + BatchNorm2d; then a global average pool and a Linear. The block is written
-- as the document writes it (residual = x; ...; out += residual; out = self.relu(out)), with its names, so the
-- state_dict of `BlockNet()` (layer2.downsample.0.weight, ...) loads by name.

local function BasicBlock(name, inplanes, planes, stride)
  local block = { "Sequential", name = name,                          -- forward(self, x):
    { "Conv2d", inplanes, planes, 3, stride = stride, padding = 1, bias = false, name = "conv1" },
    { "BatchNorm2d", planes, name = "bn1" },
    { "ReLU", name = "relu" },
    { "Conv2d", planes, planes, 3, padding = 1, bias = false, name = "conv2" },
    { "BatchNorm2d", planes, name = "bn2" },
  }
  local residual = "input"                                            --   residual = x
  if stride ~= 1 or inplanes ~= planes then                           --   residual = self.downsample(x)
    block[#block + 1] = { "Sequential", name = "downsample", from = "input",
                          { "Conv2d", inplanes, planes, 1, stride = stride, bias = false },
                          { "BatchNorm2d", planes } }
    residual = "downsample"
  end
  block[#block + 1] = { "Add", from = { "bn2", residual } }           --   out += residual
  block[#block + 1] = { "ReLU" }                                      --   out = self.relu(out)
  return block
end

return {
  name = "basicblock_seed",
  input = "3x17x15",
  batch = 2,
  layers = {
    { "Conv2d", 3, 12, 3, padding = 1, bias = false, name = "conv1" },
    { "BatchNorm2d", 12, name = "bn1" },
    { "ReLU", name = "relu" },
    BasicBlock("layer1", 12, 12, 1),
    BasicBlock("layer2", 12, 20, 2),
    { "AdaptiveAvgPool2d", { 1, 1 }, name = "avgpool" },
    { "Flatten" },                                                    -- torch.flatten(x, 1)
    { "Linear", 20, 10, name = "fc" },
  },
}
