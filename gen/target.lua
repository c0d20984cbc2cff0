-- target.lua — what a network is compiled for: `--target host` (the default: OpenBLAS, OpenMP, the x86 kernel
-- rows, weights loaded at run time) or a Cortex-M microcontroller, whose C calls only the freestanding kernels
-- (runtime/freestanding/: no malloc, no stdio, no OpenMP) and carries its weights in flash. For a Cortex-M target
-- this module chooses each layer's kernel, counts the flash and RAM the network needs (upper bounds the built
-- image meets) and refuses a network that does not fit the target's part.
local errors = require("errors")
local format = require("format")
local window = require("window")

local M = {}

-- Each Cortex-M target: the compiler's flags, the QEMU machine the test firmware runs on (its memory map), and
-- the real part whose memory sizes the report checks against (overridable with --flash and --ram).
M.targets = {
  ["cortex-m4"] = {
    cflags = "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16",
    machine = "mps2-an386", flash_origin = 0x00000000, ram_origin = 0x20000000, board_flash = 4 << 20,
    board_ram = 4 << 20, clock_hz = 25000000,
    part = "STM32F446RE", flash = 512 << 10, ram = 128 << 10,
  },
  ["cortex-m7"] = {
    cflags = "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16",
    machine = "mps2-an500", flash_origin = 0x00000000, ram_origin = 0x20000000, board_flash = 4 << 20,
    board_ram = 4 << 20, clock_hz = 25000000,
    part = "STM32F746NG", flash = 1024 << 10, ram = 320 << 10,
  },
  ["cortex-m33"] = {
    cflags = "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16",
    machine = "mps2-an505", flash_origin = 0x10000000, ram_origin = 0x38000000, board_flash = 4 << 20,
    board_ram = 4 << 20, clock_hz = 20000000,
    part = "STM32L552ZE", flash = 512 << 10, ram = 256 << 10,
  },
}
M.names = { "host", "cortex-m4", "cortex-m7", "cortex-m33" }

-- How convs run on a Cortex-M target (--conv): auto chooses per layer; direct runs every conv through the
-- any-window kernel; naive runs every layer on the plain loop-nest references (the baseline the kernels beat).
M.conv_modes = { "auto", "direct", "naive" }

-- Upper bounds of code (bytes of .text and .rodata, measured with arm-none-eabi-size on every target and rounded up;
-- tests/firmware.py checks the built images against them): each freestanding kernel file a network calls,
-- the generated forward function per call, and libm's expf and powf. (graph.c measured 132 on all three.)
local CODE = {
  conv = 3584, dense = 1024, pool = 1536, activation = 1024, graph = 256, forward = 256, per_call = 96, libm = 4096,
}
-- The stack of one forward pass: the kernels' own bound (VGGC_FS_STACK_BYTES in vggc_fs.h) and the frames of
-- NAME_forward and run() with the arguments they pass.
local STACK = { kernels = 256, forward = 256 }

-- "1048576", "1024K", "1M" -> bytes
local function parse_size(option, text)
  local digits, unit = tostring(text):match("^(%d+)([KkMm]?)$")
  local n = digits and #digits <= 12 and tonumber(digits)
  if not n or n < 1 then
    errors.raise(option .. " " .. tostring(text), "expected a size in bytes like 1048576, 1024K or 1M")
  end
  return n * (({ k = 1024, m = 1048576 })[unit:lower()] or 1)
end

-- resolve(options) -> nil for the host, or {name, part, flash, ram, ...} for a Cortex-M target
function M.resolve(options)
  local name = options.target or "host"
  local known = name == "host" or M.targets[name] ~= nil
  if not known then
    errors.raise("--target", "unknown target '%s' (expected one of: %s)", name, table.concat(M.names, ", "))
  end
  if name == "host" then
    for _, opt in ipairs({ "flash", "ram" }) do
      if options[opt] then errors.raise("--" .. opt, "is for a Cortex-M target (--target cortex-m4|cortex-m7|cortex-m33)") end
    end
    return nil
  end
  local t = { name = name }
  for k, v in pairs(M.targets[name]) do t[k] = v end
  t.flash_from, t.ram_from = "of the " .. t.part, "of the " .. t.part
  if options.flash then t.flash, t.flash_from = parse_size("--flash", options.flash), "given by --flash" end
  if options.ram then t.ram, t.ram_from = parse_size("--ram", options.ram), "given by --ram" end
  return t
end

-- ---- each layer's kernel -------------------------------------------------------------------------------------

local function is_3x3_same(win)
  local h, w = win.h, win.w
  return h.k == 3 and w.k == 3 and h.s == 1 and w.s == 1 and h.d == 1 and w.d == 1 and h.p0 == 1 and h.p1 == 1
         and w.p0 == 1 and w.p1 == 1
end

local function is_pointwise(win)
  local h, w = win.h, win.w
  return h.k == 1 and w.k == 1 and h.s == 1 and w.s == 1 and h.p0 + h.p1 + w.p0 + w.p1 == 0
end

-- A conv's kernel: conv3x3 (3x3, stride 1, pad 1: a sliding window of registers), pointwise (1x1), direct (any
-- window), or naive (the loop nest).
local function conv_algo(u, mode)
  if mode == "naive" or mode == "direct" then return mode end
  if is_3x3_same(u.win) then return "conv3x3" end
  if is_pointwise(u.win) then return "pointwise" end
  return "direct"
end

local function plain_pool(u)
  return u.kind == "maxpool" and window.is_plain_2x2(u.win) and u.output[2] == u.input[2] // 2
         and u.output[3] == u.input[3] // 2
end

-- choose(net, mode): sets u.algo, u.layout and u.layout_out ("nchw": every freestanding kernel reads and writes
-- NCHW) and u.work (floats of scratch: only a conv3x3 with a fused pool has any, one unpooled plane) on every unit;
-- a plain 2x2 max pool after a conv3x3 that only it reads is fused into it (u.pool, u.written), which saves the
-- unpooled map's RAM. An Add runs on its own (vggc_fs_add); a Concat copies each input into its channel range
-- (u.copies, vggc_fs_concat_copy).
function M.choose(net, mode)
  mode = mode or "auto"
  local known = false
  for _, name in ipairs(M.conv_modes) do known = known or name == mode end
  if not known then
    errors.raise("--conv", "'%s' is not for target %s (expected one of: %s)", mode, net.target.name,
                 table.concat(M.conv_modes, ", "))
  end
  net.conv_mode, net.prepared_floats = mode, 0
  net.input.layout_out = "nchw"
  for _, u in ipairs(net.units) do
    u.work = 0
    local c = u.inputs[1]
    if u.kind == "conv" then
      u.algo = conv_algo(u, mode)
    elseif plain_pool(u) and c.algo == "conv3x3" and not c.pool and #c.consumers == 1 then
      c.pool, c.written, c.work = true, u.output, u.input[2] * u.input[3]
      u.computes, u.algo, u.fused = false, "fused", c
    elseif u.kind == "linear" then
      u.algo = mode == "naive" and "naive" or "dense"
    elseif u.kind == "concat" then
      u.copies, u.algo = {}, "copy"
      local c0 = 0
      for i, v in ipairs(u.inputs) do
        u.copies[i], c0 = { input = i, c0 = c0 }, c0 + v.output[1]
      end
    end
    if u.computes then u.layout = "nchw" end
    u.layout_out = "nchw"
  end
end

-- ---- memory ----------------------------------------------------------------------------------------------------

-- The arrays the freestanding kernels read from flash, in order: {name, count, unit, role}. A conv or Linear keeps
-- its weight and a bias (BatchNorm folded in by the generator; zeros when it has neither bias nor BatchNorm);
-- BatchNorm's own tensors are not stored.
function M.arrays(net)
  local list = {}
  for _, u in ipairs(net.units) do
    if u.kind == "conv" or u.kind == "linear" then
      list[#list + 1] = { name = u.weight_name, count = u.tensors[1].count, unit = u, role = "weight" }
      list[#list + 1] = { name = u.bias_name, count = u.out, unit = u, role = "bias" }
    end
  end
  return list
end

local FILE_OF = { conv = "conv", linear = "dense", maxpool = "pool", avgpool2d = "pool", avgpool = "pool",
                  relu = "activation", softmax = "activation", lrn = "activation", add = "graph", concat = "graph" }

local function code_bytes(net)
  local files, calls, libm = {}, 0, false
  for _, u in ipairs(net.units) do
    if u.computes then
      files[FILE_OF[u.kind]] = true
      calls = calls + 1
      libm = libm or u.kind == "softmax" or u.kind == "lrn"
    end
  end
  local bytes = CODE.forward + calls * CODE.per_call + (libm and CODE.libm or 0)
  for file in pairs(files) do bytes = bytes + CODE[file] end
  return bytes
end

-- memory(net, plan) -> {weights, code, flash, workspace, stack, ram, io}: bytes; flash = weights + code, ram =
-- workspace + stack (the caller's input and output buffers are io)
function M.memory(net, plan)
  local weights = 0
  for _, a in ipairs(M.arrays(net)) do weights = weights + a.count * 4 end
  local m = net.model
  local mem = { weights = weights, code = code_bytes(net), workspace = plan.static_bytes,
                stack = STACK.kernels + STACK.forward,
                io = (m.batch * format.product(m.input) + m.batch * m.classes) * 4 }
  mem.flash, mem.ram = mem.weights + mem.code, mem.workspace + mem.stack
  return mem
end

-- The lines of the report's memory table.
function M.report_lines(t, mem)
  local th = format.thousands
  local fits = mem.flash <= t.flash and mem.ram + mem.io <= t.ram
  return {
    { "Target", string.format("%s: %s, %s bytes of flash%s, %s of RAM%s (the test firmware: QEMU %s)", t.name, t.part,
                              th(t.flash), t.flash_from == "given by --flash" and " (--flash)" or "", th(t.ram),
                              t.ram_from == "given by --ram" and " (--ram)" or "", t.machine) },
    { "Flash (bytes)", string.format("%s (weights %s + code at most %s)", th(mem.flash), th(mem.weights),
                                     th(mem.code)) },
    { "RAM (bytes)", string.format("%s (workspace %s + stack at most %s); input and output buffers %s more",
                                   th(mem.ram), th(mem.workspace), th(mem.stack), th(mem.io)) },
    { "Fits", fits and string.format("yes: %.1f %% of flash, %.1f %% of RAM", 100 * mem.flash / t.flash,
                                     100 * (mem.ram + mem.io) / t.ram) or "NO (vggc generate refuses it)" },
  }
end

-- A network that does not fit its target is refused before anything is written, with the numbers.
function M.check_fits(net, t, mem)
  local th, where = format.thousands, string.format("--target %s", t.name)
  if mem.flash > t.flash then
    errors.raise(where, "%s needs %s bytes of flash (weights %s + code %s), more than the %s bytes %s "
                 .. "(a smaller model, or --flash BYTES for a larger part)", net.model.name, th(mem.flash),
                 th(mem.weights), th(mem.code), th(t.flash), t.flash_from)
  end
  if mem.ram + mem.io > t.ram then
    errors.raise(where, "%s needs %s bytes of RAM (workspace %s + stack %s + input and output %s), more than the "
                 .. "%s bytes %s (a smaller batch or model, or --ram BYTES for a larger part)", net.model.name,
                 th(mem.ram + mem.io), th(mem.workspace), th(mem.stack), th(mem.io), th(t.ram), t.ram_from)
  end
end

return M
