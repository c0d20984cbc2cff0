-- layers/linear.lua — Linear(in, out, bias) [+ the ReLU right after it]. Its input is a vector per image; the first
-- Linear of a cfg model flattens a (C, H, W) map itself, as torchvision's VGG.forward does with torch.flatten(x, 1).
-- torchvision modules: classifier.i Linear, classifier.i+1 ReLU.
local format = require("format")
local modules = require("modules")

local K = { computes = true, template = "templates/layers/linear.c.in" }

function K.label(u)
  return u.relu and "linear+relu" or "linear"
end

function K.infer(u, shape, ctx)
  if #shape ~= 1 and not u.flattens then
    ctx.fail(u, "its input is a %s map (a Linear takes a vector: add {'Flatten'} before it, as x.view(x.size(0), -1))",
             format.shape(shape))
  end
  if u.fin and u.fin ~= format.product(shape) then
    local map = ctx.flattened or (#shape > 1 and shape)
    ctx.fail(u, "in_features is %d, but its input has %d features%s", u.fin, format.product(shape),
             map and " (" .. format.shape(map) .. " flattened)" or "")
  end
  return { u.out }
end

-- The state_dict tensors; u.weight_name and u.bias_name name the arrays the call passes (a zeroed one of its own
-- when there is no bias).
function K.tensors(u, shape)
  local weight, bias = modules.tensor_name(u, "weight"), modules.tensor_name(u, "bias")
  local list = { { name = weight, shape = { u.out, format.product(shape) }, param = true } }
  if u.bias then list[2] = { name = bias, shape = { u.out }, param = true } end
  u.weight_name, u.bias_name, u.bias_zeroed = weight, bias, not u.bias and u.out or nil
  return list
end

function K.macs(u, shape)
  return format.product(shape) * u.out
end

function K.work() return 0 end

function K.describe(u, shape)
  return string.format("linear %d -> %d, %s%s%s", format.product(shape), u.out, u.bias and "+ bias" or "no bias",
                       u.relu and ", relu" or "",
                       #shape > 1 and string.format(" (flattens %s)", format.tuple(shape)) or "")
end

-- The host's vggc_dense reads the weight packed (in, out): the prepared copy, or the blob's packed array.
function K.args(u, shape, ctx)
  local weight = ctx.array(u.weight_name) .. (u.prepared and u.prepared.suffix or "")
  return { weight = weight, bias = ctx.array(u.bias_name), in_f = format.product(shape),
           out_f = u.out, relu = u.relu and 1 or 0 }
end

return K
