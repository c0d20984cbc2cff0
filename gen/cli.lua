-- cli.lua — the command line: `vggc COMMAND MODEL [options]`. Parsing only checks the form of each option;
-- model.lua checks what the values mean.
local errors = require("errors")

local M = {}

-- option -> {key, takes a value?}
local OPTIONS = {
  ["--input"] = { "input", true }, ["--classes"] = { "classes", true }, ["--batch"] = { "batch", true },
  ["--avgpool"] = { "avgpool", true }, ["--classifier"] = { "classifier", true },
  ["--batch-norm"] = { "batch_norm", false }, ["--name"] = { "name", true },
  ["-o"] = { "output", true }, ["--output"] = { "output", true },
  ["--json"] = { "json", false }, ["--markdown"] = { "markdown", false },
  ["--cc"] = { "cc", true }, ["--conv"] = { "conv", true }, ["--help"] = { "help", false }, ["-h"] = { "help", false },
  ["--mpi"] = { "mpi", false }, ["--svg"] = { "svg", true },
  ["--target"] = { "target", true }, ["--weights"] = { "weights", true }, ["--by-order"] = { "by_order", false },
  ["--flash"] = { "flash", true }, ["--ram"] = { "ram", true },
}

-- which options each command takes
local ALLOWED = {
  report = { input = 1, classes = 1, batch = 1, avgpool = 1, classifier = 1, batch_norm = 1, name = 1, json = 1,
             markdown = 1, help = 1, conv = 1, svg = 1, target = 1, flash = 1, ram = 1 },
  generate = { input = 1, classes = 1, batch = 1, avgpool = 1, classifier = 1, batch_norm = 1, name = 1,
               output = 1, help = 1, conv = 1, target = 1, weights = 1, by_order = 1, flash = 1, ram = 1 },
  build = { input = 1, classes = 1, batch = 1, avgpool = 1, classifier = 1, batch_norm = 1, name = 1, output = 1,
            cc = 1, help = 1, conv = 1, mpi = 1, target = 1, weights = 1, by_order = 1, flash = 1, ram = 1 },
  import = { batch = 1, name = 1, output = 1, help = 1 },
}

M.commands = { "report", "generate", "build", "import" }

local function split_option(arg)
  local flag, value = arg:match("^(%-%-[%w-]+)=(.*)$")
  return flag or arg, value
end

local function take_option(cmd, args, i)
  local flag, inline = split_option(args[i])
  local spec = OPTIONS[flag]
  if not spec or not ALLOWED[cmd.command][spec[1]] then
    errors.raise(flag, "unknown option for 'vggc %s' (see vggc %s --help)", cmd.command, cmd.command)
  end
  local key, takes = spec[1], spec[2]
  if cmd.given[key] then errors.raise(flag, "given twice") end
  local value = true
  if takes then
    value = inline or args[i + 1]
    if value == nil then errors.raise(flag, "needs a value") end
    if not inline then i = i + 1 end
  elseif inline then
    errors.raise(flag, "takes no value")
  end
  cmd.given[key] = true
  cmd.options[key] = value
  return i + 1
end

-- parse({"report", "vgg11", "--json"}) -> {command = "report", model = "vgg11", options = {json = true}, given = {...}}
-- or {command = "help"} / {command = "version"}
function M.parse(args)
  local first = args[1]
  if first == nil or first == "--help" or first == "-h" or first == "help" then return { command = "help" } end
  if first == "--version" or first == "-V" then return { command = "version" } end
  if not ALLOWED[first] then
    errors.raise(first, "unknown command (expected one of: %s; see vggc --help)", table.concat(M.commands, ", "))
  end
  local cmd = { command = first, options = {}, given = {} }
  local i = 2
  while args[i] ~= nil do
    local arg = args[i]
    if arg:sub(1, 1) == "-" and arg ~= "-" and not arg:match("^%-%d") then -- "-8,M" is a (bad) cfg, not an option
      i = take_option(cmd, args, i)
    elseif cmd.model == nil then
      cmd.model, i = arg, i + 1
    else
      errors.raise(arg, "unexpected argument (the model is already '%s')", cmd.model)
    end
  end
  if cmd.options.help then return cmd end
  if cmd.model == nil then errors.raise("vggc " .. first, "no MODEL given (see vggc %s --help)", first) end
  if first ~= "report" and cmd.options.output == nil then
    errors.raise("vggc " .. first, "no output directory given (-o DIR)")
  end
  return cmd
end

return M
