-- window.lua — the sliding window of a conv or a pool: {h = {k, s, p0, p1, d, ceil}, w = {...}} (kernel, stride,
-- padding before and after, dilation, ceil mode, per dimension). Its output size comes from sizes.lua; here are
-- the window's name in the report, its words in the generated C, and the message when it does not fit.
local errors = require("errors")
local sizes = require("sizes")

local M = {}

-- new({kh, kw}, {sh, sw}, {top, left, bottom, right}, {dh, dw}, ceil) -> window
function M.new(k, s, pads, d, ceil)
  return { h = { k = k[1], s = s[1], p0 = pads[1], p1 = pads[3], d = d[1], ceil = ceil },
           w = { k = k[2], s = s[2], p0 = pads[2], p1 = pads[4], d = d[2], ceil = ceil } }
end

-- 3, or "3x1"
local function pair(a, b)
  return a == b and string.format("%d", a) or string.format("%dx%d", a, b)
end

function M.padding_text(win)
  local h, w = win.h, win.w
  if h.p0 == h.p1 and w.p0 == w.p1 then return pair(h.p0, w.p0) end
  return string.format("%d,%d,%d,%d", h.p0, w.p0, h.p1, w.p1) -- top, left, bottom, right
end

-- The report's name of a window: "3x3", then what differs from the kind's usual: stride ("s4"), padding ("p2",
-- "p1x0", "p0,0,1,1" for top, left, bottom, right), dilation ("d2"), ceil mode ("ceil"). A conv's usual stride is
-- 1 and padding k // 2 (its map keeps its size); a pool's usual stride is its kernel and padding 0.
function M.label(win, pool)
  local h, w = win.h, win.w
  local parts = { string.format("%dx%d", h.k, w.k) }
  local sh, sw = pool and h.k or 1, pool and w.k or 1
  if h.s ~= sh or w.s ~= sw then parts[#parts + 1] = "s" .. pair(h.s, w.s) end
  local ph, pw = pool and 0 or h.k // 2, pool and 0 or w.k // 2
  if h.p0 ~= ph or h.p1 ~= ph or w.p0 ~= pw or w.p1 ~= pw then parts[#parts + 1] = "p" .. M.padding_text(win) end
  if h.d ~= 1 or w.d ~= 1 then parts[#parts + 1] = "d" .. pair(h.d, w.d) end
  if h.ceil then parts[#parts + 1] = "ceil" end
  return table.concat(parts)
end

-- The generated C's words: "stride 4, pad 2" (stride and dilation only when not 1).
function M.describe(win)
  local h, w = win.h, win.w
  local parts = {}
  if h.s ~= 1 or w.s ~= 1 then parts[#parts + 1] = "stride " .. pair(h.s, w.s) end
  parts[#parts + 1] = "pad " .. M.padding_text(win)
  if h.d ~= 1 or w.d ~= 1 then parts[#parts + 1] = "dilation " .. pair(h.d, w.d) end
  if h.ceil then parts[#parts + 1] = "ceil mode" end
  return table.concat(parts, ", ")
end

-- The window as a runtime argument: a vggc_window compound literal (runtime/vggc.h).
function M.literal(win)
  local h, w = win.h, win.w
  return string.format("&(const vggc_window){%d, %d, %d, %d, %d, %d, %d, %d, %d, %d}", h.k, w.k, h.s, w.s, h.p0, w.p0,
                       h.p1, w.p1, h.d, w.d)
end

function M.is_plain_2x2(win)
  local h, w = win.h, win.w
  return h.k == 2 and w.k == 2 and h.s == 2 and w.s == 2 and h.p0 + h.p1 + w.p0 + w.p1 == 0 and h.d == 1 and w.d == 1
end

-- The smallest input height (dim "h") or width ("w") for which every window up to unit u fits, found going back
-- through u's first inputs to the network's input (an adaptive pool takes any input).
function M.min_input(u, dim)
  local want = 1
  while u and not u.is_input do
    if u.kind == "avgpool" then want = 1 end
    if u.win then want = sizes.window_input(want, u.win[dim]) end
    u = u.inputs and u.inputs[1]
  end
  return want
end

-- The output height and width of u's window on shape (C, H, W); when it does not fit, the user's error names the
-- layer and the smallest input that fits.
function M.output(u, shape, ctx)
  local oh, ow = sizes.window(shape[2], u.win.h), sizes.window(shape[3], u.win.w)
  if oh >= 1 and ow >= 1 then return oh, ow end
  local h, w = u.win.h, u.win.w
  local need = string.format("%dx%d", M.min_input(u, "h"), M.min_input(u, "w"))
  errors.raise(ctx.input_text, "%s: kernel %dx%d is larger than its %dx%d input padded to %dx%d, so it would make "
               .. "a %dx%d map (input too small; need at least %s)", ctx.layer_text(u), (h.k - 1) * h.d + 1,
               (w.k - 1) * w.d + 1, shape[2], shape[3], shape[2] + h.p0 + h.p1, shape[3] + w.p0 + w.p1,
               math.max(oh, 0), math.max(ow, 0), need)
end

return M
