-- The first VGG16 of the CIFAR-10 document (`_VGG16_`), written for 3x224x224 input, 10 classes; 134,301,514
-- parameters. Each block opens with an unpadded 3x3 conv, the other convs of the block are padded; every max pool
-- is MaxPool2d(2, stride=2, padding=1); ReLU is applied as F.relu after every conv and after fc1 and fc2, and the
-- output goes through F.softmax. Module names are the document's: conv1_1 ... conv5_3, max_pooling_1 ... _5, fc1,
-- fc2, fc3. At 224: 222 -> pool 112 -> 110 -> pool 56 -> 54 -> pool 28 -> 26 -> pool 14 -> 12 -> pool 7.
--   vggc report models/cifar_vgg16.lua
local function block(n, cin, c, convs)
  local list = { { "Conv2d", cin, c, 3, name = ("conv%d_1"):format(n) }, { "ReLU" } }
  for i = 2, convs do
    list[#list + 1] = { "Conv2d", c, c, 3, padding = 1, name = ("conv%d_%d"):format(n, i) }
    list[#list + 1] = { "ReLU" }
  end
  list[#list + 1] = { "MaxPool2d", 2, stride = 2, padding = 1, name = ("max_pooling_%d"):format(n) }
  return list
end

-- (model files run in an empty environment: no ipairs, so plain loops)
local layers = {}
local blocks = { { 1, 3, 64, 2 }, { 2, 64, 128, 2 }, { 3, 128, 256, 3 }, { 4, 256, 512, 3 }, { 5, 512, 512, 3 } }
for i = 1, #blocks do
  local b = blocks[i]
  local list = block(b[1], b[2], b[3], b[4])
  for j = 1, #list do layers[#layers + 1] = list[j] end
end
local head = {
  { "Flatten" },                                     -- x.view(-1, 7 * 7 * 512)
  { "Linear", 7 * 7 * 512, 4096, name = "fc1" }, { "ReLU" },
  { "Linear", 4096, 4096, name = "fc2" }, { "ReLU" },
  { "Linear", 4096, 10, name = "fc3" },
  { "Softmax", dim = 1 },                            -- F.softmax(x)
}
for i = 1, #head do layers[#layers + 1] = head[i] end

return { name = "cifar_vgg16", input = "3x224x224", layers = layers }
