-- LeNet-5 as the classic-CNN document writes it: two conv + max pool blocks and three Linear layers, with no
-- activation anywhere, on 1x32x32 images, 10 classes; 61,706 parameters. Its state_dict names are the document's
-- (layer1.conv1.weight ... layer3.fc3.bias), so `torch.save(model.state_dict(), ...)` loads by name.
--   vggc report models/lenet5.lua
return {
  name = "lenet5",
  input = "1x32x32",
  layers = {
    { "Sequential", name = "layer1",
      { "Conv2d", 1, 6, 5, name = "conv1" },
      { "MaxPool2d", 2, 2, name = "pool1" } },
    { "Sequential", name = "layer2",
      { "Conv2d", 6, 16, 5, name = "conv2" },
      { "MaxPool2d", 2, 2, name = "pool2" } },
    { "Flatten" },                                   -- x.view(x.size(0), -1)
    { "Sequential", name = "layer3",
      { "Linear", 400, 120, name = "fc1" },
      { "Linear", 120, 84, name = "fc2" },
      { "Linear", 84, 10, name = "fc3" } },
  },
}
