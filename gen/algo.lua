-- algo.lua — choose how each layer runs, between shapes and buffer planning. A conv runs as
--   im2col     NCHW: im2col + single-threaded SGEMM per piece (vggc_conv2d), the plain path
--   direct     blocked: direct convolution, k odd up to 7, stride 1 or 2 (vggc_conv_direct, _ex)
--   winograd2  blocked: Winograd F(2x2, 3x3) (vggc_conv_winograd, m = 2)
--   winograd3  blocked: Winograd F(3x3, 3x3) (vggc_conv_winograd, m = 3; its odd tiles do not take a fused pool)
--   winograd4  blocked: Winograd F(4x4, 3x3) (vggc_conv_winograd, m = 4)
--   winograd5  blocked: Winograd F(5x5, 3x3) (vggc_conv_winograd, m = 5; its odd tiles do not take a fused pool)
--   winograd6  blocked: Winograd F(6x6, 3x3) (vggc_conv_winograd, m = 6)
--   general    NCHW: im2col + SGEMM for any window (vggc_conv2d_general): every conv the others do not fit
-- "blocked" is the fast path's layout: channels in blocks of 16, (n, cpad / 16, h, w, 16). A blocked conv's
-- epilogue takes the plain 2x2 max pool right after it, or the Add of a residual (and the ReLU after that), and
-- writes its channels of a Concat in place. Pools, ReLUs, Adds and Concats run in either layout; LRN, softmax, a
-- computing adaptive avgpool and the classifier read NCHW; plan.lua inserts the conversions. The size formulas here
-- mirror runtime/vggc.h's macros, and the generated C checks every one of them with _Static_assert.
local errors = require("errors")
local format = require("format")
local kinds = require("layers")

local M = {}

M.names = { "auto", "im2col", "direct", "winograd2", "winograd3", "winograd4", "winograd5", "winograd6" }
M.default = "auto"

local TILE = { winograd2 = 2, winograd3 = 3, winograd4 = 4, winograd5 = 5, winograd6 = 6 }

-- Transformed weights the runtime re-reads from L3 on every pass of tiles (runtime/winograd.c's U_CACHED_BYTES).
local U_CACHED_BYTES = 12 << 20
-- Floats after each transform point's V and M in the Winograd work (vggc.h's VGGC_WINOGRAD_SKEW).
local WINOGRAD_SKEW = 16

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

-- V and M of every tile, each transform point's followed by WINOGRAD_SKEW floats (runtime/winograd.c).
function M.winograd_work(n, cin, h, w, cout, m)
  return (m + 2) * (m + 2) * (M.cpad(M.winograd_tiles(n, h, w, m)) * (M.cpad(cin) + M.cpad(cout)) + 2 * WINOGRAD_SKEW)
end

function M.direct_weights(cin, cout, k)
  return M.cpad(cout) * cin * k * k
end

-- A linear layer's packed weight (vggc_dense_pack, vggc.h): the transpose (fin, fout), fout rounded up to 16, in
-- panels of 1024 outputs, each (fin, its row stride) and contiguous; a stride is the panel's width rounded up to an
-- odd number of 16-float lines.
function M.dense_weights(fin, fout)
  local width, columns = (fout + 15) // 16 * 16, 0
  for p0 = 0, width - 1, 1024 do columns = columns + 16 * (math.min(1024, width - p0) // 16 | 1) end
  return fin * columns
end

-- The automatic choice, from bench/layers.c and bench/run on the project's machine (README: Speed). The direct conv
-- wins for few input channels (VGG's first layer: 1.3 ms, against 5.3 for F(4x4) and 8.2 for im2col) and runs
-- 1x1 convs, strided convs and kernels other than 3x3. F(4x4) beat F(2x2) and im2col on every 3x3 layer with 64 or
-- more input channels once there are enough tiles to share its 36 transformed weight matrices (2.25x the F(2x2)
-- bytes): at VGG11's 14x14 maps it took 14.8 ms against 20.3 for F(2x2) at batch 8, and at batch 1, where its 16
-- tiles per matrix leave it streaming weights from memory, 1.8-2.1 ms against 2.5-2.6 once the GEMM prefetches the
-- next piece's weights. With fewer tiles (a 7x7 map at batch 1: 4) the weights dominate and F(2x2) reads 2.25x fewer
-- bytes; with 16 or more, F(4x4) wins on maps smaller than 8x8 too (resnet18's 512->512 at 7x7 on the AVX2
-- machine: 5.9 ms against 10.1 at batch 8, 3.2 against 4.3 at batch 4). Tiny maps run direct.
-- F(6x6) does 64 products per 36 outputs against F(4x4)'s 36 per 16, 0.79x the GEMM, but its 6x6 tiles overhang
-- maps that are not multiples of 6 (56: 10 tiles of 6 cover 60, 0.91x the GEMM) and its weights are 1.78x larger.
-- It wins where its GEMM (64 x its tiles) is at most 0.91 of F(4x4)'s (36 x tiles), with 64 tiles or more to share
-- its weights, unless F(4x4)'s weights stay cached between passes and F(6x6)'s staged work (V and M of every tile)
-- would not fit in L3 either (bench/layers.c, 2 threads, on the AVX2 machine and on the AVX2 and AVX-512 rows of a
-- Zen 5: 64->64 at 224 and 64->128, 128->128 at 112 took 0.79-0.87 of F(4x4)'s time; at 56, batch 1, 0.89-0.97;
-- 128->256 at 56, batch 8, 0.83-0.90; 256->256 at 56, batch 8 (105 MB of work, against F(4x4)'s cached passes)
-- 1.04-1.13; at 28, batch 1 (25 tiles: 1.78x the weights streamed from memory for each) 0.92-0.97 on the Zen 5 but
-- slower on the Zen 3; at 14 (0.97-1.0x the GEMM) 1.15-1.9 at batch 1).
local STAGED_L3_BYTES = 16 << 20

local function sixes_win(u, shape, batch)
  local cin, h, w = shape[1], shape[2], shape[3]
  local tiles = M.winograd_tiles(batch, h, w, 6)
  local gemm = 64 * tiles / (36 * M.winograd_tiles(batch, h, w, 4))
  if gemm > 0.91 or tiles < 64 then return false end
  local cached = function(m) return M.winograd_weights(cin, u.out, m) * 4 <= U_CACHED_BYTES end
  return cached(6) or not cached(4) or M.winograd_work(batch, cin, h, w, u.out, 6) * 4 <= STAGED_L3_BYTES
end

-- F(5x5) does 49 products per 25 outputs, 0.87x F(4x4)'s per output, and covers maps of 5k - 1 .. 5k with less
-- overhang: on 13..15 (VGG's and resnet18's 14x14) its GEMM is 0.77 of F(4x4)'s, on 9..10 0.6; on 28 or 56 it is
-- the same. It takes the layer where its GEMM is at most 0.8 of F(4x4)'s (and smaller than F(6x6)'s when that one
-- wins too) with 16 tiles or more: its weights are 1.36x F(4x4)'s, and at batch 1 a 14x14 map has 9 tiles to share
-- weights that stream from memory (on a Zen 5 3-11 % faster than F(4x4) on the AVX2 row alone, but in VGG16 its
-- 14x14 layers took 2.01-2.12 ms against 2.08-2.24 and, with the pool it cannot fuse, the model 58.3-59.4 against
-- 58.2-59.5 (2026-12-02); undecidable on the AVX-512 row, and likely slower on the Zen 3, whose 14x14 layers already
-- wait on their weights: runtime/KERNELS.md). With
-- 18 tiles or more it ran in 0.74-0.88 of F(4x4)'s time (bench/layers.c, 2 threads, Zen 5: batch 2, 4 and 8: AVX2
-- 2.9 / 5.5 / 10.5 ms against 3.8 / 7.2 / 13.9, AVX-512 1.7 / 3.0 / 6.4 against 1.9 / 3.9 / 8.6; weights read
-- cold, bench/wino_cold.c, batch 2: 3.2-3.3 against 4.0-4.1 and 2.4-2.5 against 2.5-2.7).
local function fives_win(shape, batch)
  local h, w = shape[2], shape[3]
  local tiles = M.winograd_tiles(batch, h, w, 5)
  return h >= 5 and w >= 5 and tiles >= 16 and 49 * tiles <= 0.8 * 36 * M.winograd_tiles(batch, h, w, 4)
end

-- F(3x3) does 25 products per 9 outputs, 1.24x F(4x4)'s per output, from 0.69x its weights. Where F(4x4)'s weights
-- are too big to stay cached (over U_CACHED_BYTES) and have fewer than 32 tiles to share them (batch 1 on maps of 13
-- to 19), the layer streams them from memory and waits on them; F(3x3) takes it when its GEMM is at most 1.1x
-- F(4x4)'s (on 13..15 it is 1.09x: 25 tiles against 16). 512->512 at 14x14, batch 1 (37.7 MB of F(4x4) weights),
-- read cold (bench/wino_cold.c, 3 alternations, 2 threads, an Intel Xeon): 1.76-1.78 ms against F(4x4)'s 1.88-2.03
-- and F(2x2)'s 2.04-2.07 on the AVX2 row, 1.11-1.29 against 1.57-1.61 and 1.20-1.28 on the AVX-512 row; in VGG11
-- (alternated with the F(4x4) build, 4 rounds) 2.12 -> 1.99 ms per 14x14 layer on the AVX2 row, 1.90 -> 1.53 on the
-- AVX-512 row. 256->256 at 14x14 (9.4 MB, cached) stays F(4x4): 0.44-0.48 ms against 0.48-0.55 (AVX2), 0.28-0.30
-- against 0.30-0.31 (AVX-512). On 7x7 maps (4 tiles) F(2x2), with 0.64x F(3x3)'s weights, stays the faster
-- (0.65-0.70 ms against 0.79-0.80 on the AVX2 row).
local function threes_win(u, shape, batch)
  local cin, h, w = shape[1], shape[2], shape[3]
  local tiles4 = M.winograd_tiles(batch, h, w, 4)
  return tiles4 >= 16 and tiles4 < 32 and M.winograd_weights(cin, u.out, 4) * 4 > U_CACHED_BYTES
     and 25 * M.winograd_tiles(batch, h, w, 3) <= 1.1 * 36 * tiles4
end

local function auto(u, shape, batch)
  local cin, h, w = shape[1], shape[2], shape[3]
  if u.win.h.k ~= 3 or u.win.h.s ~= 1 or cin < 16 then return "direct" end
  local sixes = h >= 6 and w >= 6 and M.winograd_tiles(batch, h, w, 6) >= 16 and sixes_win(u, shape, batch)
  if fives_win(shape, batch)
     and not (sixes and 64 * M.winograd_tiles(batch, h, w, 6) < 49 * M.winograd_tiles(batch, h, w, 5)) then
    return "winograd5"
  end
  if sixes then return "winograd6" end
  if threes_win(u, shape, batch) then return "winograd3" end
  if h >= 4 and w >= 4 and M.winograd_tiles(batch, h, w, 4) >= 16 then return "winograd4" end
  if h >= 4 and w >= 4 then return "winograd2" end
  return "direct"
end

-- The one place that says which convs each algorithm runs: a square k x k window with k odd, padding k // 2 on
-- every side, no dilation, and then for the direct conv (vggc_conv_direct_ex) k up to 7 and stride 1 or 2, for
-- im2col (vggc_conv2d) stride 1, for Winograd k = 3 and stride 1. ReLU or not; the blocked kernels' epilogue
-- (vggc_epilogue) also adds a residual and writes into a concatenation. Every other conv runs "general".
local function fits(u, algo)
  local h, w = u.win.h, u.win.w
  local k, s = h.k, h.s
  if not (k % 2 == 1 and w.k == k and w.s == s and h.d == 1 and w.d == 1 and h.p0 == k // 2 and h.p1 == k // 2
          and w.p0 == k // 2 and w.p1 == k // 2) then
    return false
  end
  if algo == "direct" then return k <= 7 and (s == 1 or s == 2) end
  if algo == "im2col" then return s == 1 end
  return k == 3 and s == 1
end

local function conv(u, mode, batch)
  local shape = u.input
  local algo = mode == "auto" and auto(u, shape, batch) or mode
  if TILE[algo] and not fits(u, algo) then algo = "direct" end -- a forced Winograd keeps the others direct
  if not fits(u, algo) then algo = "general" end
  u.algo = algo
  if algo == "general" or algo == "im2col" then
    u.layout = "nchw"
    return
  end
  u.layout = "blocked"
  local cin, h, w = shape[1], shape[2], shape[3]
  if algo == "direct" then
    u.prepared = { kind = "VGGC_PREPARE_DIRECT", suffix = "_direct", floats = M.direct_weights(cin, u.out, u.win.h.k),
                   m = 0, cin = cin, k = u.win.h.k }
    u.work = 0
  else
    local m = TILE[algo]
    u.tile = m
    u.prepared = { kind = "VGGC_PREPARE_WINOGRAD", suffix = "_winograd", floats = M.winograd_weights(cin, u.out, m),
                   m = m, cin = cin, k = u.win.h.k }
    u.work = M.winograd_work(batch, cin, h, w, u.out, m)
  end
end

-- A linear layer runs on its weight transposed, (in, out) (vggc_dense): packed at load, or, built in, by the
-- generator into the blob (mcu.read).
local function linear(u, built_in)
  local fin = format.product(u.input)
  u.packed = true
  if not built_in then
    u.prepared = { kind = "VGGC_PREPARE_DENSE", suffix = "_dense", floats = M.dense_weights(fin, u.out), m = 0,
                   cin = fin, k = 0 }
  end
end

-- A unit that only one other reads, and that one reads it once.
local function read_only_by(u, reader)
  return #u.consumers == 1 and u.consumers[1] == reader
end

-- A blocked conv whose epilogue can still take something: no pool, no residual, no ReLU yet.
local function open_epilogue(c)
  return c.kind == "conv" and c.layout == "blocked" and not c.pool and not c.residual and not c.relu
end

-- A plain 2x2 max pool after a blocked stride-1 conv that only it reads runs in the conv's epilogue (not after
-- F(3x3) or F(5x5), whose odd tiles would cut the pool's windows).
local function fuse_pool(u)
  local c = u.inputs[1]
  if kinds.maxpool.plain(u, u.input) and c.kind == "conv" and c.layout == "blocked" and c.win.h.s == 1
     and not c.pool and not c.residual and read_only_by(c, u) and (c.tile or 0) % 2 == 0 then
    c.pool, c.written = true, u.output
    u.computes, u.algo, u.fused = false, "fused", c
  end
end

-- An Add whose later input is a blocked conv that only it reads runs in that conv's epilogue: the other input,
-- computed before, is the conv's residual, and the Add's ReLU is the conv's (torch: out += identity; relu(out)).
local function fuse_add(u)
  local a, b = u.inputs[1], u.inputs[2]
  local c, other = b, a
  if a.number > b.number then c, other = a, b end
  if c == other or not open_epilogue(c) or not read_only_by(c, u) then return end
  c.residual, c.add = other, u
  u.computes, u.algo, u.fused = false, "fused", c
end

-- Layers that run in either layout take their first input's (a max or average pool, a ReLU, the identities); an
-- Add or a Concat the blocked one when any input has it. Sets u.layout_out on every unit.
local FOLLOWS = { maxpool = true, avgpool2d = true, relu = true, identity = true, flatten = true, avgpool = true }

local function settle_layouts(net)
  net.input.layout_out = "nchw"
  for _, u in ipairs(net.units) do
    if u.fused then
      u.layout_out = u.fused.layout
    elseif u.kind == "add" or u.kind == "concat" then
      u.layout = "nchw"
      for _, v in ipairs(u.inputs) do
        if v.layout_out == "blocked" then u.layout = "blocked" end
      end
    elseif FOLLOWS[u.kind] and not (u.kind == "avgpool" and u.computes) then
      u.layout = nil
    elseif u.computes and u.kind ~= "conv" then
      u.layout = "nchw"
    end
    u.layout_out = u.layout or u.inputs[1].layout_out
  end
end

-- The writer of a Concat's input when it can write its channel range of the output itself: a blocked conv
-- without a fused pool (its Add fused or not) that only the Concat reads, on a 16-channel boundary, filling whole
-- blocks unless it is the last input (a conv writes zeros past its channels up to its block's end).
local function in_place_writer(cat, v, c0, last)
  local writer = v.fused and v.kind == "add" and v.fused or v
  if writer ~= v and not read_only_by(writer, v) then return nil end
  local ok = writer.kind == "conv" and writer.layout == "blocked" and not writer.pool and read_only_by(v, cat)
             and c0 % 16 == 0 and (v.output[1] % 16 == 0 or last)
  return ok and writer or nil
end

-- Each input of a blocked Concat written in place where it can be; the Concat copies the others (u.copies) and
-- runs no code when there are none.
local function place_concat(u)
  u.copies = {}
  local c0 = 0
  for i, v in ipairs(u.inputs) do
    local writer = u.layout == "blocked" and in_place_writer(u, v, c0, i == #u.inputs)
    if writer then
      writer.into = { concat = u, c0 = c0 }
    else
      u.copies[#u.copies + 1] = { input = i, c0 = c0 }
    end
    c0 = c0 + v.output[1]
  end
  u.algo = #u.copies == 0 and "in place" or #u.copies < #u.inputs and "in place+copy" or "copy"
  if #u.copies == 0 then u.computes = false end
end

-- choose(net, mode): sets u.algo (convs, fused pools and Adds, Concats), u.layout (what a unit reads and writes:
-- "nchw", "blocked", or nil for one that works in either) and u.layout_out (the layout of its output), u.pool and
-- u.written (a conv that also pools), u.residual and u.add (a conv that runs an Add), u.into (a conv that writes its
-- channels of a Concat), u.prepared and u.work.
function M.choose(net, mode)
  mode = mode or M.default
  local known = false
  for _, name in ipairs(M.names) do known = known or name == mode end
  if not known then
    errors.raise("--conv", "unknown algorithm '%s' (expected one of: %s)", mode, table.concat(M.names, ", "))
  end
  net.conv_mode = mode
  for _, u in ipairs(net.units) do
    if u.kind == "conv" then
      conv(u, mode, net.model.batch)
    elseif u.kind == "linear" then
      linear(u, net.built_in)
    elseif u.kind == "maxpool" then
      fuse_pool(u)
    elseif u.kind == "add" then
      fuse_add(u)
    end
  end
  settle_layouts(net)
  net.prepared_floats = 0
  for _, u in ipairs(net.units) do
    if u.kind == "concat" then place_concat(u) end
    if u.prepared then net.prepared_floats = net.prepared_floats + u.prepared.floats end
  end
end

return M
