-- layers/conv.lua — Conv2d k x k (k = 1 or 3), stride 1, pad k // 2, + bias, [BatchNorm folded at load], ReLU.
-- torchvision modules: features.i Conv2d, [features.i+1 BatchNorm2d], features.i+1|i+2 ReLU.
local sizes = require("sizes")

local K = { computes = true }

local TEMPLATES = { im2col = "templates/layers/conv.c.in", direct = "templates/layers/conv_direct.c.in",
                    winograd2 = "templates/layers/conv_winograd.c.in", winograd4 = "templates/layers/conv_winograd.c.in" }

function K.template(u)
  return TEMPLATES[u.algo or "im2col"]
end

function K.label(u)
  return string.format("conv%dx%d%s+relu", u.k, u.k, u.bn and "+bn" or "")
end

function K.infer(u, shape)
  return { u.out, sizes.conv(shape[2], u.k), sizes.conv(shape[3], u.k) }
end

function K.tensors(u, shape)
  local conv = "features." .. u.index
  local list = {
    { name = conv .. ".weight", shape = { u.out, shape[1], u.k, u.k }, param = true },
    { name = conv .. ".bias", shape = { u.out }, param = true },
  }
  if u.bn then
    local bn = "features." .. u.bn
    list[3] = { name = bn .. ".weight", shape = { u.out }, param = true }
    list[4] = { name = bn .. ".bias", shape = { u.out }, param = true }
    list[5] = { name = bn .. ".running_mean", shape = { u.out }, param = false }
    list[6] = { name = bn .. ".running_var", shape = { u.out }, param = false }
  end
  return list
end

-- MACs per image: output elements x in_channels x k x k
function K.macs(u, shape, out)
  return out[1] * out[2] * out[3] * shape[1] * u.k * u.k
end

-- floats of workspace one call needs (im2col of one image)
function K.work(u, shape)
  return u.k == 1 and 0 or shape[1] * u.k * u.k * shape[2] * shape[3]
end

function K.modules(u, shape)
  local list = { { name = "features." .. u.index, type = "Conv2d", in_channels = shape[1], out_channels = u.out,
                   kernel_size = u.k, padding = u.k // 2 } }
  if u.bn then list[2] = { name = "features." .. u.bn, type = "BatchNorm2d", num_features = u.out, eps = 1e-5 } end
  list[#list + 1] = { name = "features." .. u.relu, type = "ReLU" }
  return list
end

local HOW = { im2col = "im2col + sgemm", direct = "direct, blocked", winograd2 = "Winograd F(2x2,3x3), blocked",
              winograd4 = "Winograd F(4x4,3x3), blocked" }

function K.describe(u, shape)
  return string.format("conv%dx%d %d -> %d, pad %d, + bias%s, relu%s [%s]", u.k, u.k, shape[1], u.out, u.k // 2,
                       u.bn and string.format(", batchnorm features.%d folded in at load", u.bn) or "",
                       u.pool and ", maxpool 2x2 fused" or "", HOW[u.algo or "im2col"])
end

function K.args(u, shape, ctx)
  local weight = ctx.array(u.tensors[1].name)
  local v = { bias = ctx.array(u.tensors[2].name), cin = shape[1], h = shape[2], w = shape[3], cout = u.out }
  if u.algo == "direct" then
    v.prepared, v.k, v.pool = weight .. u.prepared.suffix, u.k, u.pool and 1 or 0
  elseif u.tile then
    v.prepared, v.work, v.m, v.pool = weight .. u.prepared.suffix, ctx.work, u.tile, u.pool and 1 or 0
  else
    v.weight, v.work, v.k = weight, ctx.work, u.k
  end
  return v
end

return K
