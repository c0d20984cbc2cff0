-- AlexNet as the classic-CNN document writes it (AlexNet(num_classes=1000)), on 3x224x224 images. The document
-- prints the last max pool with stride 1, which cannot feed its own 256*6*6 classifier at 224; stride 2 is the
-- original AlexNet's. No AdaptiveAvgPool2d (torchvision's alexnet, the preset `alexnet`, has one); the classifier
-- starts with Dropout, so its indices are torchvision's: classifier.1, classifier.4, classifier.6.
--   vggc report models/alexnet.lua              (61,100,840 parameters)
return {
  name = "alexnet",
  input = "3x224x224",
  layers = {
    { "Sequential", name = "features",
      { "Conv2d", 3, 64, 11, stride = 4, padding = 2 }, { "ReLU" },
      { "MaxPool2d", 3, stride = 2 },
      { "Conv2d", 64, 192, 5, padding = 2 }, { "ReLU" },
      { "MaxPool2d", 3, stride = 2 },
      { "Conv2d", 192, 384, 3, padding = 1 }, { "ReLU" },
      { "Conv2d", 384, 256, 3, padding = 1 }, { "ReLU" },
      { "Conv2d", 256, 256, 3, padding = 1 }, { "ReLU" },
      { "MaxPool2d", 3, stride = 2 } },
    { "Flatten" },                                   -- x.view(x.size(0), 256 * 6 * 6)
    { "Sequential", name = "classifier",
      { "Dropout" },
      { "Linear", 256 * 6 * 6, 4096 }, { "ReLU" },
      { "Dropout" },
      { "Linear", 4096, 4096 }, { "ReLU" },
      { "Linear", 4096, 1000 } },
  },
}
