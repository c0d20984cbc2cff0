-- layers/init.lua — the registry of unit kinds (net.lua groups a Conv2d with its BatchNorm2d and ReLU, and a
-- Linear with its ReLU, into one unit). Each kind is one file with the same interface:
--   label(u)                  the report's short name ("conv3x3+relu")
--   infer(u, shape, ctx)      output shape from input shape (raises a user error when impossible); shape is the
--                             first input's, u.input_shapes every input's (Concat, Add)
--   tensors(u, shape)         state_dict tensors {name, shape, param}          (default: none)
--   macs(u, shape, out)       multiply-accumulates per image                   (default: 0)
--   work(u, shape)            floats of scratch one call needs                 (default: 0)
--   describe(u, shape)        first line of its comment block in the generated C
--   args(u, shape, ctx)       values for its call template (templates/layers/<kind>.c.in)
--   computes                  false (or a function returning false) when it is the identity and emits nothing
--   takes_map                 true when its input must be a (C, H, W) map, not a vector
-- The torch modules a unit stands for are its layers (modules.describe). To add a kind: copy identity.lua (the
-- smallest), fill in the functions, add it here, give it a template, and its PyTorch module to modules.lua.
local kinds = {
  conv = require("layers.conv"),
  maxpool = require("layers.maxpool"),
  avgpool2d = require("layers.avgpool2d"),
  lrn = require("layers.lrn"),
  avgpool = require("layers.avgpool"),
  linear = require("layers.linear"),
  relu = require("layers.relu"),
  softmax = require("layers.softmax"),
  flatten = require("layers.flatten"),
  identity = require("layers.identity"),
  concat = require("layers.concat"),
  add = require("layers.add"),
}

local function none() return {} end
local function zero() return 0 end

for _, kind in pairs(kinds) do
  kind.tensors, kind.macs, kind.work = kind.tensors or none, kind.macs or zero, kind.work or zero
end

return kinds
