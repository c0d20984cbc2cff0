-- layers/linear.lua — Linear(in, out) [+ ReLU]; a (C, H, W) input is flattened first, as torch.flatten(x, 1).
-- torchvision modules: classifier.i Linear, classifier.i+1 ReLU.
local format = require("format")

local K = { computes = true, template = "templates/layers/linear.c.in" }

function K.label(u)
  return u.relu and "linear+relu" or "linear"
end

function K.infer(u)
  return { u.out }
end

function K.tensors(u, shape)
  local name = "classifier." .. u.index
  return { { name = name .. ".weight", shape = { u.out, format.product(shape) }, param = true },
           { name = name .. ".bias", shape = { u.out }, param = true } }
end

function K.macs(u, shape)
  return format.product(shape) * u.out
end

function K.work() return 0 end

function K.modules(u, shape)
  local list = { { name = "classifier." .. u.index, type = "Linear", in_features = format.product(shape),
                   out_features = u.out } }
  if u.relu then list[2] = { name = "classifier." .. u.relu, type = "ReLU" } end
  return list
end

function K.describe(u, shape)
  return string.format("linear %d -> %d, + bias%s%s", format.product(shape), u.out, u.relu and ", relu" or "",
                       #shape > 1 and string.format(" (flattens %s)", format.tuple(shape)) or "")
end

function K.args(u, shape, ctx)
  return { weight = ctx.array(u.tensors[1].name), bias = ctx.array(u.tensors[2].name),
           in_f = format.product(shape), out_f = u.out, relu = u.relu and 1 or 0 }
end

return K
