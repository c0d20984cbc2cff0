-- layers/maxpool.lua — MaxPool2d(2, 2), floor mode. torchvision module: features.i MaxPool2d.
local errors = require("errors")
local sizes = require("sizes")

local K = { computes = true }

-- A max pool works in the layout it is given (algo.lua); one fused into its conv emits nothing.
function K.template(u)
  return u.layout_out == "blocked" and "templates/layers/maxpool_blocked.c.in" or "templates/layers/maxpool.c.in"
end

function K.label()
  return "maxpool2x2"
end

function K.infer(u, shape, ctx)
  local h, w = sizes.maxpool2(shape[2]), sizes.maxpool2(shape[3])
  if h < 1 or w < 1 then
    local need = 1 << ctx.pools
    errors.raise(ctx.input_text, "maxpool after conv %d would make a %dx%d map (input too small for %d pools; "
                 .. "need at least %dx%d)", ctx.convs, math.max(h, 0), math.max(w, 0), ctx.pools, need, need)
  end
  return { shape[1], h, w }
end

function K.tensors() return {} end
function K.macs() return 0 end
function K.work() return 0 end

function K.modules(u)
  return { { name = "features." .. u.index, type = "MaxPool2d", kernel_size = 2, stride = 2 } }
end

function K.describe(u, shape)
  if u.fused then return string.format("maxpool 2x2 stride 2 over %d channels (fused into layer %d)", shape[1], u.fused) end
  return string.format("maxpool 2x2 stride 2 over %d channels%s", shape[1], u.layout_out == "blocked" and ", blocked" or "")
end

function K.args(_, shape)
  return { c = shape[1], h = shape[2], w = shape[3] }
end

return K
