-- layers/conv.lua — Conv2d as PyTorch defines it (any kh x kw, stride, padding per side, dilation, with or without
-- bias), with the BatchNorm2d right after it folded in at load and the ReLU right after that, when the model has
-- them. torchvision's VGG convs are 3x3, stride 1, pad 1, + bias, ReLU: features.i Conv2d, [features.i+1
-- BatchNorm2d], features.i+1|i+2 ReLU.
local format = require("format")
local modules = require("modules")
local sizes = require("sizes")
local window = require("window")

local K = { computes = true, takes_map = true }

-- Templates by kind: the algorithm, with winograd2/4/6 one kind "winograd" (their tile, u.tile, is a call argument).
local TEMPLATES = { im2col = "templates/layers/conv.c.in", direct = "templates/layers/conv_direct.c.in",
                    winograd = "templates/layers/conv_winograd.c.in", general = "templates/layers/conv_general.c.in" }
local EX = { direct = "templates/layers/conv_direct_ex.c.in", winograd = "templates/layers/conv_winograd_ex.c.in" }

local function kind(u)
  return u.tile and "winograd" or u.algo or "im2col"
end

-- The ReLU at the end of the epilogue: the conv's own, or the one after the Add it runs.
local function relu(u)
  return u.relu ~= nil or (u.add ~= nil and u.add.relu ~= nil)
end

-- The blocked kernels' plain calls: ReLU, no residual, an output of its own (and for the direct one 1x1 or 3x3,
-- stride 1); the others take a vggc_epilogue (the _ex calls).
local function plain(u)
  return u.relu ~= nil and not u.residual and not u.into and (u.algo ~= "direct" or (u.win.h.k <= 3 and u.win.h.s == 1))
end

function K.template(u)
  if u.scratch then return "templates/layers/conv_direct_nchw.c.in" end
  if EX[kind(u)] and not plain(u) then return EX[kind(u)] end
  return TEMPLATES[kind(u)]
end

function K.label(u)
  return "conv" .. window.label(u.win, false) .. (u.bn and "+bn" or "") .. (u.relu and "+relu" or "")
end

function K.infer(u, shape, ctx)
  if u.cin and u.cin ~= shape[1] then
    ctx.fail(u, "in_channels is %d, but its input has %d channels (%s)", u.cin, shape[1], format.shape(shape))
  end
  if u.bn and u.bn.features and u.bn.features ~= u.out then
    ctx.fail(u, "the BatchNorm2d %s after it has num_features %d (expected %d, the conv's out_channels)",
             u.bn.name, u.bn.features, u.out)
  end
  local oh, ow = window.output(u, shape, ctx)
  return { u.out, oh, ow }
end

-- The state_dict tensors; also names the arrays the generated C passes: u.weight_array, u.bias_array (a zeroed
-- array of its own when the conv has no bias: the kernels and the BatchNorm fold write and read one).
function K.tensors(u, shape)
  local weight, bias = modules.tensor_name(u, "weight"), modules.tensor_name(u, "bias")
  local list = { { name = weight, shape = { u.out, shape[1], u.win.h.k, u.win.w.k }, param = true } }
  if u.bias then list[2] = { name = bias, shape = { u.out }, param = true } end
  u.weight_name, u.bias_name, u.bias_zeroed = weight, bias, not u.bias and u.out or nil
  u.bn_names = {}
  if u.bn then
    for _, part in ipairs({ "weight", "bias", "running_mean", "running_var" }) do
      u.bn_names[part] = modules.tensor_name(u.bn, part)
      list[#list + 1] = { name = u.bn_names[part], shape = { u.out }, param = part == "weight" or part == "bias" }
    end
  end
  return list
end

-- MACs per image: output elements x in_channels x kh x kw
function K.macs(u, shape, out)
  return out[1] * out[2] * out[3] * shape[1] * u.win.h.k * u.win.w.k
end

-- A 1x1 conv with stride 1, no padding and no dilation reads its input as the GEMM's right-hand side.
local function pointwise(win)
  local h, w = win.h, win.w
  return h.k == 1 and w.k == 1 and h.s == 1 and w.s == 1 and h.p0 + h.p1 + w.p0 + w.p1 == 0
end

-- floats of workspace one call needs in the im2col paths: the unfolded input of one image (algo.lua sets the
-- fast paths' own)
function K.work(u, shape)
  if pointwise(u.win) then return 0 end
  return shape[1] * u.win.h.k * u.win.w.k * sizes.window(shape[2], u.win.h) * sizes.window(shape[3], u.win.w)
end

local HOW = { im2col = "im2col + sgemm", direct = "direct, blocked", winograd = "Winograd F(%dx%d,3x3), blocked",
              general = "im2col + sgemm" }

-- What the epilogue does besides the bias: ", + layer 7's output, relu", ", into channels 64.. of layer 12"
local function epilogue_text(u)
  local parts = {}
  if u.residual then
    parts[#parts + 1] = string.format(", + %s (the Add of layer %d)", u.residual.is_input and "the input"
                                      or string.format("layer %d's output", u.residual.number), u.add.number)
  end
  if relu(u) then parts[#parts + 1] = ", relu" end
  if u.pool then parts[#parts + 1] = ", maxpool 2x2 fused" end
  if u.into then
    parts[#parts + 1] = string.format(", written as channels %d..%d of layer %d", u.into.c0,
                                      u.into.c0 + u.out - 1, u.into.concat.number)
  end
  return table.concat(parts)
end

function K.describe(u, shape)
  local h, w = u.win.h, u.win.w
  local how = HOW[kind(u)]:format(u.tile, u.tile) .. (u.scratch and ", reads the NCHW input" or "")
  return string.format("conv%dx%d %d -> %d, %s, %s%s%s [%s]", h.k, w.k, shape[1], u.out, window.describe(u.win),
                       u.bias and "+ bias" or "no bias",
                       u.bn and string.format(", batchnorm %s (eps %g) folded in at load", u.bn.name, u.bn.eps) or "",
                       epilogue_text(u), how)
end

-- The vggc_epilogue of an _ex call, as a compound literal.
local function epilogue(u, ctx)
  return string.format("&(const vggc_epilogue){%d, %s, %d}", relu(u) and 1 or 0,
                       u.residual_src and ctx.expr(u.residual_src) or "NULL", u.dst_value.blocks or 0)
end

function K.args(u, shape, ctx)
  local weight = ctx.array(u.weight_name)
  local v = { bias = ctx.array(u.bias_name), cin = shape[1], h = shape[2], w = shape[3], cout = u.out }
  local work = u.work_tensor and u.work_tensor.name or "NULL"
  if u.algo == "direct" then
    v.prepared, v.k, v.pool = weight .. u.prepared.suffix, u.win.h.k, u.pool and 1 or 0
    if u.scratch then v.scratch = u.scratch.name end
  elseif u.tile then
    v.prepared, v.work, v.m, v.pool = weight .. u.prepared.suffix, work, u.tile, u.pool and 1 or 0
  elseif u.algo == "general" then
    v.weight, v.work, v.oh, v.ow, v.relu = weight, work, u.output[2], u.output[3], relu(u) and 1 or 0
    v.window = window.literal(u.win)
  else
    v.weight, v.work, v.k, v.relu = weight, work, u.win.h.k, relu(u) and 1 or 0
  end
  if K.template(u) == EX[kind(u)] then
    v.epilogue = epilogue(u, ctx)
    if u.algo == "direct" then v.stride = u.win.h.s end
  end
  return v
end

-- A BatchNorm folded into this conv at load: the arrays and sizes of its vggc_bn_fold row.
function K.fold(u, shape)
  if not u.bn then return nil end
  local bn = u.bn_names
  return { weight = u.weight_name, bias = u.bias_name, gamma = bn.weight, beta = bn.bias,
           mean = bn.running_mean, var = bn.running_var, channels = u.out,
           per_channel = shape[1] * u.win.h.k * u.win.w.k, eps = u.bn.eps }
end

return K
