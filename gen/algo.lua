-- algo.lua — choose how each layer runs, between shapes and buffer planning. A conv runs as
--   im2col     NCHW: im2col + single-threaded SGEMM per piece (vggc_conv2d), the plain path
--   direct     blocked: direct convolution, k = 1 or 3 (vggc_conv_direct)
--   winograd2  blocked: Winograd F(2x2, 3x3) (vggc_conv_winograd, m = 2)
--   winograd4  blocked: Winograd F(4x4, 3x3) (vggc_conv_winograd, m = 4)
--   general    NCHW: im2col + SGEMM for any window (vggc_conv2d_general): every conv the others do not fit
-- "blocked" is the fast path's layout: channels in blocks of 16, (n, cpad / 16, h, w, 16). A plain 2x2 max pool
-- right after a blocked conv is fused into the conv's epilogue. Every other pool, LRN, ReLU, softmax, a computing
-- avgpool and the classifier read NCHW; plan.lua inserts the conversions. The size formulas here mirror
-- runtime/vggc.h's macros, and the generated C
-- checks every one of them with _Static_assert.
local errors = require("errors")
local format = require("format")
local kinds = require("layers")

local M = {}

M.names = { "auto", "im2col", "direct", "winograd2", "winograd4" }
M.default = "auto"

local TILE = { winograd2 = 2, winograd4 = 4 }

function M.cpad(c)
  return (c + 15) // 16 * 16
end

-- floats of a tensor (n, c, h, w) in a layout
function M.floats(layout, n, shape)
  if layout ~= "blocked" then return n * format.product(shape) end
  return n * M.cpad(shape[1]) * shape[2] * shape[3]
end

function M.winograd_tiles(n, h, w, m)
  return n * ((h + m - 1) // m) * ((w + m - 1) // m)
end

function M.winograd_weights(cin, cout, m)
  return (m + 2) * (m + 2) * M.cpad(cin) * M.cpad(cout)
end

function M.winograd_work(n, cin, h, w, cout, m)
  return (m + 2) * (m + 2) * M.cpad(M.winograd_tiles(n, h, w, m)) * (M.cpad(cin) + M.cpad(cout))
end

function M.direct_weights(cin, cout, k)
  return M.cpad(cout) * cin * k * k
end

-- The automatic choice, from bench/layers.c and bench/run on the project's machine (README: Speed). The direct conv
-- wins for few input channels (VGG's first layer: 1.3 ms, against 5.3 for F(4x4) and 8.2 for im2col) and runs
-- 1x1 convs. F(4x4) beat F(2x2) and im2col on every 3x3 layer with 64 or more input channels once there are
-- enough tiles to share its 36 transformed weight matrices (2.25x the F(2x2) bytes): at VGG11's 14x14 maps it
-- took 14.8 ms against 20.3 for F(2x2) at batch 8, and at batch 1, where its 16 tiles per matrix leave it
-- streaming weights from memory, 1.8-2.1 ms against 2.5-2.6 once the GEMM prefetches the next piece's weights.
-- With fewer tiles (a 7x7 map at batch 1: 4) the weights dominate and F(2x2) reads 2.25x fewer bytes. Maps too
-- small for 4x4 tiles take F(2x2); tiny maps run direct.
local function auto(u, shape, batch)
  local cin, h, w = shape[1], shape[2], shape[3]
  if u.win.h.k ~= 3 or cin < 16 then return "direct" end
  if h >= 8 and w >= 8 and M.winograd_tiles(batch, h, w, 4) >= 16 then return "winograd4" end
  if h >= 4 and w >= 4 then return "winograd2" end
  return "direct"
end

-- The one place that says which convs the kernels of the first four algorithms run: k x k (k = 1 or 3), stride 1,
-- padding k // 2 on every side (the map keeps its size), no dilation, ReLU after it (the blocked kernels always
-- apply one). Every other conv runs "general".
local function fits(u)
  local h, w = u.win.h, u.win.w
  local k = h.k
  return (k == 1 or k == 3) and w.k == k and h.s == 1 and w.s == 1 and h.d == 1 and w.d == 1 and h.p0 == k // 2
         and h.p1 == k // 2 and w.p0 == k // 2 and w.p1 == k // 2 and u.relu ~= nil
end

local function conv(u, mode, batch)
  local shape = u.input
  local algo = mode == "auto" and auto(u, shape, batch) or mode
  if TILE[algo] and u.win.h.k ~= 3 then algo = "direct" end -- Winograd is for 3x3; a forced mode keeps 1x1 direct
  if not fits(u) then algo = "general" end
  u.algo = algo
  if algo == "general" then
    u.layout = "nchw"
    return
  end
  u.algo = algo
  if algo == "im2col" then
    u.layout = "nchw"
    return
  end
  u.layout = "blocked"
  local cin, h, w = shape[1], shape[2], shape[3]
  if algo == "direct" then
    u.prepared = { kind = "VGGC_PREPARE_DIRECT", suffix = "_direct", floats = M.direct_weights(cin, u.out, u.win.h.k),
                   m = 0 }
    u.work = 0
  else
    local m = TILE[algo]
    u.tile = m
    u.prepared = { kind = "VGGC_PREPARE_WINOGRAD", suffix = "_winograd", floats = M.winograd_weights(cin, u.out, m),
                   m = m }
    u.work = M.winograd_work(batch, cin, h, w, u.out, m)
  end
end

-- choose(net, mode): sets u.algo (convs and fused pools), u.layout ("nchw", "blocked", or nil for a max pool,
-- which works in either), u.pool and u.written (a conv that also pools), u.prepared and u.work.
function M.choose(net, mode)
  mode = mode or M.default
  local known = false
  for _, name in ipairs(M.names) do known = known or name == mode end
  if not known then
    errors.raise("--conv", "unknown algorithm '%s' (expected one of: %s)", mode, table.concat(M.names, ", "))
  end
  net.conv_mode = mode
  local prev
  for _, u in ipairs(net.units) do
    if u.kind == "conv" then
      conv(u, mode, net.model.batch)
    elseif u.kind == "maxpool" and kinds.maxpool.plain(u, u.input) then
      if prev and prev.kind == "conv" and prev.layout == "blocked" then
        prev.pool, prev.written = true, u.output
        u.computes, u.algo, u.fused = false, "fused", prev.number
      end
    elseif u.computes then
      u.layout = "nchw"
    end
    prev = u
  end
  net.prepared_floats = 0
  for _, u in ipairs(net.units) do
    if u.prepared then net.prepared_floats = net.prepared_floats + u.prepared.floats end
  end
end

return M
