-- driver.lua — vggc's stages in order: parse the command line and the model -> infer shapes -> plan buffers ->
-- report, or emit C and write it if changed (and for `build`, compile a runner).
local cli = require("cli")
local errors = require("errors")
local files = require("files")
local model_ = require("model")
local net_ = require("net")
local plan_ = require("plan")

local M = {}

local HELP = {
  main = [[
usage: vggc COMMAND MODEL [options]

Compile a VGG network into shape-specialized C.

commands:
  report     print every layer's output shape, params and MACs, and the totals
  generate   write NAME.c and NAME.h (-o DIR)
  build      generate, then compile a runnable classifier DIR/NAME (-o DIR)
  import     read MODEL.onnx, write DIR/NAME.lua (a model file) and DIR/NAME.safetensors (its weights), and
             print the report (-o DIR)

MODEL is one of:
  a preset     vgg11 vgg13 vgg16 vgg19, vgg11_bn ... vgg19_bn (torchvision), A B C D E, A-LRN (the paper),
               lenet5 (the classic-CNN document's), alexnet, resnet18, googlenet (torchvision's)
  a cfg list   "64,M,128,M,256,256,M" -- N is a 3x3 conv with N outputs, N:1 a 1x1 conv,
               M a 2x2 max pool, L a LocalResponseNorm(5, 1e-4, 0.75, 2)
  a file       model.lua returning {features = {...}, batch_norm = ..., input = "1x28x28", avgpool = ...,
               classifier = {...}, classes = ..., name = ...}, or the per-layer form
               {layers = {{"Conv2d", 1, 6, 5}, {"ReLU"}, {"MaxPool2d", 2}, {"Flatten"}, ...}, input = ..., name = ...};
               a layer reads the one before it unless it names its inputs: {"Add", from = {"bn2", "input"}},
               {"Concat", from = {"branch1", "branch2"}}

Run `vggc COMMAND --help` for the options, `vggc --version` for the version.
]],
  options = [[
model options:
  --input CxHxW          input size (default 3x224x224; any C >= 1, H and W need not be equal)
  --classes N            classes (default 1000)
  --batch N              images per forward call (default 1)
  --avgpool HxW|none     adaptive average pool before the classifier (default 7x7); none flattens straight
  --classifier W1,W2,..  hidden widths of the classifier (default 4096,4096); none for a single Linear
  --batch-norm           BatchNorm after every conv (for cfg lists and files)
  --name NAME            C name of the model (default from MODEL)
  --conv ALGO            how convs run: auto (chosen per layer, the default), im2col, direct, winograd2,
                         winograd3, winograd4, winograd5, winograd6 (the report's algorithm column shows the
                         choice); for a Cortex-M target auto, direct or naive (plain loop nests)
  --target T             host (the default), cortex-m4, cortex-m7 or cortex-m33: freestanding C for a
                         microcontroller, its flash and RAM in the report
  --flash BYTES, --ram BYTES   a Cortex-M target's memory (default: its part's; 1048576, 1024K, 1M)
  --weights W.safetensors      (generate, build) the weights built in as const data, BatchNorm folded:
                         nothing to load (required for a Cortex-M target); --by-order matches them by order
]],
  report = "usage: vggc report MODEL [options] [--json | --markdown] [--svg FILE]\n\n"
    .. "Print each layer's kind, output shape, params and MACs, then the totals.\n"
    .. "  --svg FILE    also draw the network into FILE: one block per layer, sized by its output shape\n"
    .. "  --json        the same as JSON (layers[], modules[], buffers[], total_params, total_macs, static_bytes)\n"
    .. "  --markdown    the same as a Markdown table\n\n",
  generate = "usage: vggc generate MODEL [options] --name NAME -o DIR\n\n"
    .. "Write DIR/NAME.c and DIR/NAME.h (atomically; unchanged files are not rewritten).\n\n",
  import = "usage: vggc import MODEL.onnx [--name NAME] [--batch N] -o DIR\n\n"
    .. "Read an ONNX model (opsets 11-17), as torch.onnx.export writes one (a chain of layers or a graph), and write\n"
    .. "DIR/NAME.lua (a per-layer model file) and DIR/NAME.safetensors (its initializers), then print the report.\n"
    .. "  --name NAME   the model's name (default from MODEL)\n"
    .. "  --batch N     images per forward call (default: the ONNX input's batch)\n"
    .. "Ops: Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, Pad (folded into the next conv or pool),\n"
    .. "BatchNormalization, LRN, Gemm, MatMul + Add, Add, Concat, Flatten, Reshape to (batch, -1), Dropout,\n"
    .. "Identity, Constant, Softmax.\n",
  build = "usage: vggc build MODEL [options] --name NAME -o DIR [--cc CC] [--mpi]\n\n"
    .. "Generate DIR/NAME.c/.h and compile the runner DIR/NAME:\n"
    .. "  DIR/NAME --weights W.safetensors [--by-order] [--input X.npy] [--output Y.npy] [--top K]\n"
    .. "           [--threads T] [--repeat N]\n"
    .. "  DIR/NAME --weights W.safetensors --images PATH... [--preprocess none|imagenet] [--labels FILE]\n"
    .. "           [--output TABLE.csv|.json] [--top K] (DIR/NAME --help for all)\n"
    .. "  --mpi     compile with Open MPI's mpicc: under mpirun the ranks share the images\n"
    .. "With --target cortex-m4|cortex-m7|cortex-m33 --weights W: the test firmware DIR/NAME.elf instead\n"
    .. "(arm-none-eabi-gcc, newlib), run under QEMU with the runner's --input, --output, --top:\n"
    .. "  qemu-system-arm -M mps2-an500 -nographic -semihosting-config enable=on,target=native,arg=NAME,\n"
    .. "      arg=--input,arg=X.npy -kernel DIR/NAME.elf\n\n",
}

local function quote(arg)
  if arg:match("^[%w%-_./:=,]+$") then return arg end
  return "'" .. arg:gsub("'", "'\\''") .. "'"
end

local function command_line(args)
  local parts = { "vggc" }
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  return table.concat(parts, " ")
end

local function help(cmd)
  if cmd.command == "help" then return HELP.main end
  if cmd.command == "import" then return HELP.import end
  return HELP[cmd.command] .. HELP.options
end

-- The -o directory must exist; if it does not, say whether something on its path is a file (then creating it
-- cannot help).
local function output_dir(host, dir)
  if host.isdir(dir) then return dir end
  if host.mode(dir) then errors.raise(dir, "not a directory (-o takes a directory)") end
  local parent = dir:match("^(.*[^/])/+[^/]+/*$")
  while parent and not host.isdir(parent) do
    if host.mode(parent) then errors.raise(dir, parent .. " is a file, not a directory") end
    parent = parent:match("^(.*[^/])/+[^/]+/*$")
  end
  errors.raise(dir, "no such directory (create it first)")
end

-- vggc import MODEL.onnx: translate, check the model as `vggc report` would, then write the model file and the
-- weights, then print the report.
local function import(host, cmd, dir)
  local import_ = require("import")
  local batch = cmd.options.batch
  if batch then batch = model_.whole("--batch " .. batch, batch, "the batch size", 4096) end
  local name = model_.parse_name(cmd.options.name and "--name " .. cmd.options.name or cmd.model,
                                 cmd.options.name or model_.default_name(cmd.model))
  local imp = import_.translate(cmd.model, import_.read(cmd.model), host, batch)
  local model = import_.model(imp, cmd.model, name)
  local net = net_.build(model)
  import_.check(net, imp)
  require("algo").choose(net)
  local plan = plan_.plan(net)
  require("limits").check(net, plan)
  files.write_all(host, import_.files(imp, model, output_dir(host, dir), host.version, cmd.model))
  io.write(require("report").text(net, plan, host.version))
  return 0
end

-- generate/build for a Cortex-M target: refuse what does not fit, read the weights into const data, write the C
-- (and for build, the test firmware DIR/NAME.elf).
local function compile_for_target(host, cmd, net, plan, command, dir)
  require("target").check_fits(net, net.target, net.memory)
  if not cmd.options.weights then
    errors.raise("--weights", "is needed for --target %s (the weights go into flash as const data: --weights "
                 .. "W.safetensors)", net.target.name)
  end
  if cmd.options.mpi then errors.raise("--mpi", "is for host builds (a Cortex-M firmware runs one process)") end
  local mcu = require("mcu")
  local list = mcu.files(host, net, plan, command, dir, mcu.read(host, net, cmd.options.weights, cmd.options.by_order))
  if cmd.command == "build" then return require("firmware").run(host, net, list, dir, command) end
  files.write_all(host, list)
  return 0
end

function M.main(host, args)
  local cmd = cli.parse(args)
  if cmd.command == "version" then
    io.write("vggc ", host.version, "\n")
    return 0
  end
  if cmd.command == "help" or cmd.options.help then
    io.write(help(cmd))
    return 0
  end
  if cmd.command == "import" then return import(host, cmd, cmd.options.output) end
  local model = model_.from_command(cmd)
  local net = net_.build(model)
  local target = require("target")
  net.target = target.resolve(cmd.options)
  net.built_in = cmd.options.weights ~= nil -- weights built in at generate time: packed then, not at load
  if net.target then target.choose(net, cmd.options.conv) else require("algo").choose(net, cmd.options.conv) end
  local plan = plan_.plan(net)
  if net.target then net.memory = target.memory(net, plan) end
  if cmd.command == "report" then
    local report = require("report")
    local render = cmd.options.json and report.json or cmd.options.markdown and report.markdown or report.text
    if cmd.options.svg then
      files.write_all(host, { { path = cmd.options.svg, text = require("svg").render(net, host.version) } })
    end
    io.write(render(net, plan, host.version))
    return 0
  end
  local dir = output_dir(host, cmd.options.output)
  require("limits").check(net, plan)
  if net.target then return compile_for_target(host, cmd, net, plan, command_line(args), dir) end
  if cmd.options.by_order and not cmd.options.weights then
    errors.raise("--by-order", "needs --weights (how the weights built in at generate time match)")
  end
  local command, mcu = command_line(args), require("mcu")
  if cmd.options.weights then net.blob = mcu.read(host, net, cmd.options.weights, cmd.options.by_order) end
  local list = require("emit").files(host, net, plan, command, dir)
  if net.blob then
    for _, f in ipairs(mcu.blob_files(host, net, dir, command, net.blob)) do list[#list + 1] = f end
  end
  if cmd.command == "build" then
    return require("build").run(host, net, list, dir, cmd.options.cc, command, cmd.options.mpi)
  end
  files.write_all(host, list)
  return 0
end

return M
