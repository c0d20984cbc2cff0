-- fashion_vgg.lua — a small VGG for Fashion-MNIST (1x28x28, 10 classes), trained by tools/train_fashion_mnist.py.
-- Two narrow conv blocks with BatchNorm (so two epochs train in minutes on 2 CPU threads), no avgpool, one hidden
-- layer of 128: 28 -> 14 -> 7, 32*7*7 = 1568 features, 218,682 params.
return {
  name = "fashion_vgg",
  features = {16, 16, "M", 32, 32, "M"},
  batch_norm = true,
  input = "1x28x28",
  avgpool = "none",
  classifier = {128},
  classes = 10,
}
