-- layers/maxpool.lua — MaxPool2d(kernel, stride, padding, dilation, ceil_mode) as PyTorch defines it; a padded
-- cell never wins. torchvision's VGG pools are 2x2, stride 2, floor mode: features.i MaxPool2d.
local errors = require("errors")
local sizes = require("sizes")
local window = require("window")

local K = { computes = true, takes_map = true }

-- The 2x2/2 kernels (NCHW or blocked) serve a plain 2x2 pool whose output is the floor of half the map; every
-- other pool runs the general one (algo.lua). A pool fused into its conv emits nothing.
function K.plain(u, shape)
  return window.is_plain_2x2(u.win) and sizes.window(shape[2], u.win.h) == shape[2] // 2
         and sizes.window(shape[3], u.win.w) == shape[3] // 2
end

function K.template(u)
  local blocked = u.layout_out == "blocked"
  if not K.plain(u, u.input) then
    return blocked and "templates/layers/maxpool_general_blocked.c.in" or "templates/layers/maxpool_general.c.in"
  end
  return blocked and "templates/layers/maxpool_blocked.c.in" or "templates/layers/maxpool.c.in"
end

function K.label(u)
  return "maxpool" .. (window.is_plain_2x2(u.win) and "2x2" or window.label(u.win, true))
end

-- A plain 2x2 pool that leaves nothing says so as it always has, counting the pools; any other names its layer.
function K.infer(u, shape, ctx)
  if not window.is_plain_2x2(u.win) then
    local oh, ow = window.output(u, shape, ctx)
    return { shape[1], oh, ow }
  end
  local h, w = sizes.window(shape[2], u.win.h), sizes.window(shape[3], u.win.w)
  if h < 1 or w < 1 then
    errors.raise(ctx.input_text, "maxpool after conv %d would make a %dx%d map (input too small for %d pools; "
                 .. "need at least %dx%d)", ctx.convs, h, w, ctx.pools, window.min_input(u, "h"),
                 window.min_input(u, "w"))
  end
  return { shape[1], h, w }
end

function K.describe(u, shape)
  local what = window.is_plain_2x2(u.win) and "maxpool 2x2 stride 2"
               or string.format("maxpool %dx%d, %s", u.win.h.k, u.win.w.k, window.describe(u.win))
  if u.fused then
    return string.format("%s over %d channels (fused into layer %d)", what, shape[1], u.fused.number)
  end
  return string.format("%s over %d channels%s", what, shape[1], u.layout_out == "blocked" and ", blocked" or "")
end

function K.args(u, shape)
  local v = { c = shape[1], h = shape[2], w = shape[3] }
  if not K.plain(u, shape) then v.oh, v.ow, v.window = u.output[2], u.output[3], window.literal(u.win) end
  return v
end

return K
