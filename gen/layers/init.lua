-- layers/init.lua — the registry of layer kinds. Each kind is one file with the same interface:
--   label(u)                  the report's short name ("conv3x3+relu")
--   infer(u, shape, ctx)      output shape from input shape (raises a user error when impossible)
--   tensors(u, shape)         state_dict tensors {name, shape, param}
--   macs(u, shape, out)       multiply-accumulates per image
--   work(u, shape)            floats of scratch one call needs
--   modules(u, shape)         the torch modules it stands for (names as torchvision's)
--   describe(u, shape)        first line of its comment block in the generated C
--   args(u, shape, ctx)       values for its call template (templates/layers/<kind>.c.in)
--   computes                  false (or a function returning false) when it is the identity and emits nothing
-- To add a kind: copy dropout.lua (the smallest), fill in the functions, add it here and give it a template.
return {
  conv = require("layers.conv"),
  maxpool = require("layers.maxpool"),
  lrn = require("layers.lrn"),
  avgpool = require("layers.avgpool"),
  linear = require("layers.linear"),
  dropout = require("layers.dropout"),
}
