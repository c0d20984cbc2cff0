-- build.lua — `vggc build`: write the model's C, its runner and the runtime header into DIR, then compile the
-- runner DIR/NAME against the runtime library. The runner appears only when the compiler succeeded.
local errors = require("errors")
local files = require("files")
local template = require("template")

local M = {}

-- The runtime library beside vggc: in a build tree (build/gen/vggc, build/runtime/) or installed (bin/, lib/).
local function runtime_library(host)
  local dir = host.exe_dir() or "."
  for _, rel in ipairs({ "/../runtime/libvggc_runtime.a", "/../lib/libvggc_runtime.a" }) do
    local path = dir .. rel
    if files.read(path) then return path end
  end
  errors.raise("vggc build", "cannot find libvggc_runtime.a beside %s (build or install vggc fully)", dir)
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The compiler must exist before anything is written: "cc", "gcc-12", "ccache gcc" (its first word is run).
local function check_compiler(cc, option)
  local program = cc:match("^%s*(%S+)") or ""
  if os.execute("command -v " .. shell_quote(program) .. " >/dev/null 2>&1") then return end
  errors.raise(option, "'%s' is not a command that can be run (expected a C compiler)", program)
end

local function compile(cc, dir, name, library, link_flags)
  local out = dir .. "/" .. name
  local tmp = string.format("%s.tmp-build", out)
  local cmd = string.format("%s -std=c11 -O2 -fopenmp -I%s %s %s %s %s -o %s", cc, shell_quote(dir),
                            shell_quote(out .. ".c"), shell_quote(out .. "_main.c"), shell_quote(library),
                            link_flags, shell_quote(tmp))
  local ok, how, code = os.execute(cmd)
  if not ok then
    os.remove(tmp)
    errors.raise("vggc build", "the compiler failed (%s %s): %s", how, tostring(code), cmd)
  end
  local renamed, err = os.rename(tmp, out)
  if not renamed then
    os.remove(tmp)
    errors.raise(out, "cannot replace (%s)", err)
  end
  return out
end

function M.run(host, net, list, dir, cc, command)
  local name = net.model.name
  local runner = template.fill(template.load(host, "templates/runner.c.in"), {
    name = name, PREFIX = name:upper(), version = host.version, command = command,
    batch = net.model.batch, in_c = net.model.input[1], in_h = net.model.input[2], in_w = net.model.input[3],
    classes = net.model.classes,
  })
  list[#list + 1] = { path = dir .. "/" .. name .. "_main.c", text = runner }
  list[#list + 1] = { path = dir .. "/vggc.h", text = host.embedded("runtime/vggc.h") }
  local library = runtime_library(host)
  local compiler = cc or os.getenv("CC") or "cc"
  check_compiler(compiler, cc and "--cc" or os.getenv("CC") and "$CC" or "vggc build")
  files.check_replaceable(host, dir .. "/" .. name)
  files.write_all(host, list)
  local out = compile(compiler, dir, name, library, host.link_flags or "-lopenblas -lm")
  io.write("vggc: built ", out, "\n")
  return 0
end

return M
