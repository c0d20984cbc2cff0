-- firmware.lua — `vggc build --target cortex-m*`: write the network's C, its weights, the freestanding kernels and
-- a test firmware (a semihosting runner with the host runner's flags, a reset handler, a linker script for QEMU's
-- board), then compile DIR/NAME.elf with arm-none-eabi-gcc and newlib. The ELF appears only when the compiler and
-- the linker succeeded.
local errors = require("errors")
local files = require("files")
local mcu = require("mcu")
local template = require("template")

local M = {}

local COMPILER = "arm-none-eabi-gcc"

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local ok, how, code = os.execute(cmd)
  if not ok then errors.raise("vggc build", "the compiler failed (%s %s): %s", how, tostring(code), cmd) end
end

-- The test firmware's files: the runner, the reset handler, the linker script.
local function firmware_files(host, net, dir, command)
  local name, t, m = net.model.name, net.target, net.model
  local v = { name = name, version = host.version, command = command, target = t.name, machine = t.machine }
  local runner = {}
  for k, x in pairs(v) do runner[k] = x end
  runner.PREFIX, runner.batch, runner.classes = name:upper(), m.batch, m.classes
  runner.in_c, runner.in_h, runner.in_w = m.input[1], m.input[2], m.input[3]
  runner.clock_hz, runner.clock_mhz = t.clock_hz, t.clock_hz // 1000000
  local startup = {}
  for k, x in pairs(v) do startup[k] = x end
  local ld = { name = name, version = host.version, command = command, target = t.name, machine = t.machine,
               flash_origin = string.format("0x%08X", t.flash_origin), flash_length = t.board_flash,
               ram_origin = string.format("0x%08X", t.ram_origin), ram_length = t.board_ram }
  return {
    { path = dir .. "/" .. name .. "_main.c", text = template.fill(template.load(host, "templates/firmware/main.c.in"), runner) },
    { path = dir .. "/" .. name .. "_startup.c",
      text = template.fill(template.load(host, "templates/firmware/startup.c.in"), startup) },
    { path = dir .. "/" .. name .. ".ld", text = template.fill(template.load(host, "templates/firmware/link.ld.in"), ld) },
  }
end

-- Compile every source into DIR/<source>.o, then link DIR/NAME.elf.
local function compile(net, dir)
  local name, flags = net.model.name, net.target.cflags
  local cc = COMPILER .. " " .. flags .. " -O2 -std=c11 -ffunction-sections -fdata-sections -Wall -Wextra -Werror -pedantic"
  local sources = { name, name .. "_main", name .. "_startup" }
  for _, f in ipairs(mcu.freestanding) do sources[#sources + 1] = "vggc_fs_" .. f end
  local objects = {}
  for _, s in ipairs(sources) do
    local obj = dir .. "/" .. s .. ".o"
    run(string.format("%s -c %s -o %s", cc, shell_quote(dir .. "/" .. s .. ".c"), shell_quote(obj)))
    objects[#objects + 1] = shell_quote(obj)
  end
  local weights = dir .. "/" .. name .. "_weights.o"
  run(string.format("%s %s -I%s -c %s -o %s", COMPILER, flags, shell_quote(dir), shell_quote(dir .. "/" .. name
                                                                                              .. "_weights.S"),
                    shell_quote(weights)))
  objects[#objects + 1] = shell_quote(weights)
  local out = dir .. "/" .. name .. ".elf"
  local tmp = out .. ".tmp-build"
  local ok = os.execute(string.format("%s %s -T %s -nostartfiles --specs=nano.specs --specs=rdimon.specs "
                                      .. "-u _printf_float -Wl,--gc-sections -Wl,-z,noexecstack %s -lm -o %s", COMPILER, flags,
                                      shell_quote(dir .. "/" .. name .. ".ld"), table.concat(objects, " "),
                                      shell_quote(tmp)))
  if not ok then
    os.remove(tmp)
    errors.raise("vggc build", "the link of %s failed (%s; see above)", out, COMPILER)
  end
  return require("build").replace(tmp, out)
end

function M.run(host, net, list, dir, command)
  if not os.execute("command -v " .. COMPILER .. " >/dev/null 2>&1") then
    errors.raise("--target " .. net.target.name, "'%s' is not a command that can be run (install Debian's "
                 .. "gcc-arm-none-eabi and libnewlib-arm-none-eabi)", COMPILER)
  end
  for _, f in ipairs(firmware_files(host, net, dir, command)) do list[#list + 1] = f end
  files.check_replaceable(host, dir .. "/" .. net.model.name .. ".elf")
  files.write_all(host, list)
  io.write("vggc: built ", compile(net, dir), "\n")
  return 0
end

return M
