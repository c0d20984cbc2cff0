-- The joins of a graph that no conv's epilogue takes (tests/seed_networks.py's ops_graph, names as its state_dict):
--   y = torch.cat([relu(a(x)), relu(b(x)), F.max_pool2d(x, 3, 1, 1)], 1)   12 + 20 + 3 channels, each copied
--   z = c(y) + x                                                            an Add whose other input is the input
--   v = relu(relu(d(z)) + relu(z))                                          an Add of two ReLUs' outputs
--   fc(flatten(F.adaptive_avg_pool2d(v, 2)))
return {
  name = "ops_graph",
  input = "3x8x10",
  batch = 2,
  layers = {
    { "Conv2d", 3, 12, 3, padding = 1, name = "a" }, { "ReLU", name = "ra" },
    { "Conv2d", 3, 20, 1, name = "b", from = "input" }, { "ReLU", name = "rb" },
    { "MaxPool2d", 3, stride = 1, padding = 1, name = "pool", from = "input" },
    { "Concat", from = { "ra", "rb", "pool" }, name = "y" },
    { "Conv2d", 35, 3, 3, padding = 1, name = "c" },
    { "Add", from = { "c", "input" }, name = "z" },
    { "Conv2d", 3, 3, 3, padding = 1, name = "d" }, { "ReLU", name = "w" },
    { "ReLU", from = "z", name = "rz" },
    { "Add", from = { "w", "rz" } }, { "ReLU" },
    { "AdaptiveAvgPool2d", 2 },
    { "Flatten" },
    { "Linear", 12, 10, name = "fc" },
  },
}
