-- layers/avgpool2d.lua — AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad) as PyTorch defines it:
-- a window's divisor counts the padding it covers when count_include_pad (PyTorch's default), never the cells past
-- the padding that ceil mode adds.
local window = require("window")

local K = { computes = true, takes_map = true }

function K.template(u)
  return u.layout_out == "blocked" and "templates/layers/avgpool2d_blocked.c.in" or "templates/layers/avgpool2d.c.in"
end

function K.label(u)
  return "avgpool" .. window.label(u.win, true) .. (u.count_include_pad and "" or "-nopad")
end

function K.infer(u, shape, ctx)
  local oh, ow = window.output(u, shape, ctx)
  return { shape[1], oh, ow }
end

function K.describe(u, shape)
  return string.format("avgpool %dx%d, %s, %s over %d channels%s", u.win.h.k, u.win.w.k, window.describe(u.win),
                       u.count_include_pad and "padding counted" or "padding not counted", shape[1],
                       u.layout_out == "blocked" and ", blocked" or "")
end

function K.args(u, shape)
  return { c = shape[1], h = shape[2], w = shape[3], oh = u.output[2], ow = u.output[3],
           window = window.literal(u.win), count_pad = u.count_include_pad and 1 or 0 }
end

return K
