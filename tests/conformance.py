#!/usr/bin/env python3
"""conformance.py — does the C that vggc generates compute what PyTorch computes?

    conformance.py --vggc PATH [--work DIR] [--only NAME[,NAME...]] [--small] [--keep] [--list]

For each case below: `vggc report` describes the model, tools/vggc_torch.py exports seeded weights (safetensors),
an input and a float64 reference, `vggc build` compiles a runner, the runner computes the output, and the output
must match: ||y - ref||_2 / ||ref||_2 <= 1e-5 and the same argmax for every image. One line per case, then the
worst error, then `N passed, N failed` alone on the last line; exit 1 if any case failed. Each case's files
(weights can be 550 MB) are deleted right after it, pass or fail, unless --keep.

The seed networks (SEEDS below; tests/seed_networks.py writes each as its document does) are exported once each:
their own state_dict as safetensors, an input, a float64 reference and torch.onnx.export. Then two routes, each a
case of its own: `NAME/file` builds the model file and loads the state_dict by name; `NAME/onnx` runs
`vggc import` on the export and builds the model file it writes, loading the weights it writes (`NAME/im2col`: the
file route with --conv im2col).

--small keeps the cases of at most 64x96 pixels (SMALL below), for the sanitizer build where a 224 case takes
minutes; VGGC_CONFORMANCE_SMALL=1 in the environment means the same (the sanitizer build's tests set it).

PyTorch is required: the export runs under $PYTHON, else this interpreter, else /usr/bin/python3 (Debian's
python3-torch), whichever first imports torch and torchvision. This script itself needs only the standard library.
"""
import argparse
import ast
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from array import array

# One case per line: name (also the runner's name), vggc model, seed, PyTorch head, vggc options.
# head: `torchvision` = vggc's own module order, so state_dict names match and the runner loads by name;
#       `dropout-first` = the classic CIFAR VGG head (Dropout, Linear, ReLU per hidden block): names differ, so the
#       runner loads by order.
CASES = """
vgg11_224          vgg11     0  torchvision    --input 3x224x224
vgg13_224          vgg13     0  torchvision    --input 3x224x224
vgg16_224          vgg16     0  torchvision    --input 3x224x224
vgg19_224          vgg19     0  torchvision    --input 3x224x224
vgg11_bn_224       vgg11_bn  0  torchvision    --input 3x224x224
vgg13_bn_224       vgg13_bn  0  torchvision    --input 3x224x224
vgg16_bn_224       vgg16_bn  0  torchvision    --input 3x224x224
vgg19_bn_224       vgg19_bn  0  torchvision    --input 3x224x224
vgg11_32           vgg11     0  torchvision    --input 3x32x32
vgg13_64x96        vgg13     0  torchvision    --input 3x64x96
vgg11_bn_gray32    vgg11_bn  0  torchvision    --input 1x32x32 --classes 10
vgg16_bn_cifar     vgg16_bn  3  dropout-first  --input 3x32x32 --avgpool none --classifier 512,512 --classes 10
vgg11_cifar        vgg11     0  torchvision    --input 3x32x32 --avgpool none --classifier 512,512 --classes 10
paper_c_224        C         0  torchvision    --input 3x224x224
paper_a_lrn_224    A-LRN     0  torchvision    --input 3x224x224
vgg11_224_batch4   vgg11     0  torchvision    --input 3x224x224 --batch 4
vgg13_64x96_im2col     vgg13  0  torchvision  --input 3x64x96 --conv im2col
vgg13_64x96_direct     vgg13  0  torchvision  --input 3x64x96 --conv direct
vgg13_64x96_winograd2  vgg13  0  torchvision  --input 3x64x96 --conv winograd2
vgg13_64x96_winograd3  vgg13  0  torchvision  --input 3x64x96 --batch 2 --conv winograd3
vgg13_64x96_winograd4  vgg13  0  torchvision  --input 3x64x96 --batch 2 --conv winograd4
vgg13_64x96_winograd5  vgg13  0  torchvision  --input 3x64x96 --batch 2 --conv winograd5
vgg13_64x96_winograd6  vgg13  0  torchvision  --input 3x64x96 --batch 2 --conv winograd6
"""

# The seed networks: name (tests/seed_networks.py's NET), the model file or preset (- for none), seed, batch, ONNX
# opset, routes (file, onnx, and im2col: the file built with --conv im2col, every conv and join on NCHW tensors).
SEEDS = """
lenet5               models/lenet5.lua                  1  2  13  file,onnx
alexnet_torchvision  alexnet                            2  1  13  file,onnx
alexnet_document     models/alexnet.lua                 3  1  11  file,onnx
cifar_vgg16_first    models/cifar_vgg16.lua             4  1  17  file,onnx
cifar_vgg16_bn       tests/models/cifar_vgg16_bn.lua    5  2  13  file,onnx
vgg11_document       tests/models/vgg11_document.lua    6  1  13  file,onnx
ops_strided          -                                  7  2  11  onnx
ops_pools            -                                  8  1  13  onnx
ops_padded           -                                  9  2  17  onnx
ops_every_layer      tests/models/ops_every_layer.lua  10  3  13  file
inception_seed       tests/models/inception_seed.lua   11  2  13  file,onnx,im2col
basicblock_seed      tests/models/basicblock_seed.lua  12  2  17  file,onnx,im2col
ops_graph            tests/models/ops_graph.lua        15  2  13  file,onnx,im2col
resnet18             resnet18                          13  1  13  file,onnx
googlenet            googlenet                         14  1  11  file,onnx
"""

# --small: the 32x32, 64x96, 1-channel and CIFAR cases (every head kind, BatchNorm, loading by order, every --conv),
# and the seed networks of at most 32x32.
SMALL = {"vgg11_32", "vgg13_64x96", "vgg11_bn_gray32", "vgg16_bn_cifar", "vgg11_cifar", "vgg13_64x96_im2col",
         "vgg13_64x96_direct", "vgg13_64x96_winograd2", "vgg13_64x96_winograd3",
         "vgg13_64x96_winograd4", "vgg13_64x96_winograd5",
         "vgg13_64x96_winograd6", "lenet5",
         "cifar_vgg16_bn", "ops_strided", "ops_pools", "ops_padded", "ops_every_layer", "inception_seed",
         "basicblock_seed", "ops_graph"}

TOLERANCE = 1e-5
STEP_TIMEOUT = 3600  # seconds; a VGG19 build or a float64 VGG19 reference takes well under this
PRESETS = {"vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "vggc_torch.py")
SEED_TOOL = os.path.join(ROOT, "tests", "seed_networks.py")
TORCH_MISSING = ("conformance: PyTorch is not importable by {}; run with /usr/bin/python3 (Debian's python3-torch) "
                 "or set PYTHON")


class Failure(Exception):
    """A failed step of a case: `step: reason`, with the tail of the step's output as detail."""

    def __init__(self, step, reason, detail=""):
        super().__init__(f"{step}: {reason}")
        self.detail = detail


class Case:
    def __init__(self, line):
        fields = line.split()
        self.name, self.model, self.seed, self.head = fields[0], fields[1], int(fields[2]), fields[3]
        self.options = fields[4:]
        if self.head not in ("torchvision", "dropout-first"):
            raise ValueError(f"case {self.name}: head {self.head!r} (expected torchvision or dropout-first)")

    def torchvision_preset(self):
        """torchvision's name when this case is a preset with its default head and 3 channels, else None."""
        if self.model not in PRESETS or self.head != "torchvision":
            return None
        opts = dict(zip(self.options[::2], self.options[1::2]))
        if set(self.options[::2]) - {"--input", "--batch"} or not opts.get("--input", "3x").startswith("3x"):
            return None
        return self.model


class Seed:
    """A seed network: exported once, then run by each of its routes ("file" when it has a model file, "onnx")."""

    def __init__(self, line):
        fields = line.split()
        self.name, self.file, self.seed, self.batch, self.opset = fields[0], fields[1], *map(int, fields[2:5])
        self.routes = fields[5].split(",")


def parse_cases(text):
    return [Case(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def parse_seeds(text):
    return [Seed(line) for line in text.splitlines() if line.strip()]


# ---- the PyTorch side ---------------------------------------------------------------------------------------

def find_python():
    """The first of $PYTHON | (this interpreter, /usr/bin/python3) that imports torch and torchvision."""
    env = os.environ.get("PYTHON")
    candidates = [env] if env else list(dict.fromkeys([sys.executable, "/usr/bin/python3"]))
    for py in candidates:
        try:
            probe = subprocess.run([py, "-c", "import numpy, torch, torchvision"], capture_output=True, timeout=120)
        except OSError:
            continue
        if probe.returncode == 0:
            return py
    return None


def dropout_first(doc):
    """vggc's description with the classifier in the classic CIFAR VGG order: each hidden block
    (Linear, ReLU, Dropout) becomes (Dropout, Linear, ReLU); classifier.<i> are renumbered, the rest is kept."""
    head = [m for m in doc["modules"] if m["name"].startswith("classifier.")]
    body = [m for m in doc["modules"] if not m["name"].startswith("classifier.")]
    blocks = []
    for m in head:
        if m["type"] == "Linear" or not blocks:
            blocks.append([])
        blocks[-1].append(m)
    if not any(m["type"] == "Dropout" for m in head):
        raise Failure("export", "dropout-first: the classifier has no Dropout to move")
    dropout_to_front = [sorted(b, key=lambda m: m["type"] != "Dropout") for b in blocks]  # stable sort
    order = [m for b in dropout_to_front for m in b]
    return dict(doc, modules=body + [dict(m, name=f"classifier.{i}") for i, m in enumerate(order)])


# ---- .npy, read with the standard library --------------------------------------------------------------------

def read_npy(path):
    """(shape, flat list) of a little-endian float32/float64 C-order .npy file."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:6] != b"\x93NUMPY":
        raise Failure("compare", f"{path}: not a .npy file")
    major = blob[6]
    size_fmt, start = ("<H", 10) if major == 1 else ("<I", 12)
    (header_len,) = struct.unpack(size_fmt, blob[8:start])
    header = ast.literal_eval(blob[start:start + header_len].decode("latin1"))
    kinds = {"<f4": "f", "<f8": "d"}
    if header["descr"] not in kinds or header["fortran_order"]:
        raise Failure("compare", f"{path}: {header['descr']} fortran={header['fortran_order']} "
                                 "(expected little-endian float32 or float64, C order)")
    data = array(kinds[header["descr"]])
    data.frombytes(blob[start + header_len:])
    if sys.byteorder != "little":
        data.byteswap()
    return tuple(header["shape"]), data


def compare(y_path, ref_path, batch, classes):
    """(normwise relative error, images whose argmax agrees) of the runner's output against the reference."""
    y_shape, y = read_npy(y_path)
    r_shape, r = read_npy(ref_path)
    if y_shape != (batch, classes) or r_shape != (batch, classes):
        raise Failure("compare", f"output is {y_shape}, reference {r_shape} (expected {(batch, classes)})")
    if not all(math.isfinite(v) for v in y):
        raise Failure("compare", "the output has NaN or Inf")
    diff = math.sqrt(math.fsum((a - b) ** 2 for a, b in zip(y, r)))
    norm = math.sqrt(math.fsum(b * b for b in r))
    agree = sum(argmax(y, i * classes, classes) == argmax(r, i * classes, classes) for i in range(batch))
    return diff / norm if norm else diff, agree


def argmax(v, start, n):
    return max(range(n), key=lambda i: v[start + i])


# ---- steps ---------------------------------------------------------------------------------------------------

def run(step, argv, stdout=None):
    """Run one step; a non-zero exit, a crash or a timeout is a Failure carrying the end of its output."""
    try:
        p = subprocess.run(argv, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=STEP_TIMEOUT)
    except OSError as e:
        raise Failure(step, f"cannot run {argv[0]} ({e.strerror})")
    except subprocess.TimeoutExpired:
        raise Failure(step, f"still running after {STEP_TIMEOUT} s")
    if p.returncode != 0:
        what = f"killed by signal {-p.returncode}" if p.returncode < 0 else f"exited {p.returncode}"
        tail = ((p.stdout or "") if stdout is None else "") + p.stderr
        raise Failure(step, f"{os.path.basename(argv[0])} {what}", "\n".join(tail.strip().splitlines()[-12:]))
    return p


def report(ctx, case, tmp):
    path = os.path.join(tmp, "report.json")
    with open(path, "w") as out:
        run("report", [ctx.vggc, "report", case.model, *case.options, "--json"], stdout=out)
    try:
        with open(path) as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise Failure("report", f"vggc report --json is not JSON ({e.msg} at line {e.lineno})")
    missing = [k for k in ("input", "batch", "classes", "modules") if k not in doc]
    if missing:
        raise Failure("report", f"vggc report --json lacks {', '.join(missing)} "
                                "(expected input, batch, classes, modules)")
    return path, doc


def export(ctx, case, tmp, report_path, doc):
    files = {k: os.path.join(tmp, f) for k, f in [("w", "weights.safetensors"), ("x", "input.npy"), ("r", "ref.npy")]}
    argv = [ctx.python, TOOL, "export", "--seed", str(case.seed), "--bn-random", "--bias-random",
            "--weights", files["w"], "--input", files["x"], "--reference", files["r"]]
    preset = case.torchvision_preset()
    if preset:
        run("check-names", [ctx.python, TOOL, "check-names", "--model-json", report_path, "--torchvision", preset])
        shape = "x".join(str(d) for d in doc["input"])
        argv += ["--torchvision", preset, "--shape", shape, "--batch", str(doc["batch"])]
    else:
        torch_json = report_path
        if case.head == "dropout-first":
            torch_json = os.path.join(tmp, "torch.json")
            with open(torch_json, "w") as f:
                json.dump(dropout_first(doc), f, indent=1)
        argv += ["--model-json", torch_json]
    run("export", argv)
    return files


def build(ctx, case, tmp):
    out_dir = os.path.join(tmp, "build")
    os.mkdir(out_dir)  # vggc build wants -o DIR to exist
    run("build", [ctx.vggc, "build", case.model, *case.options, "--name", case.name, "-o", out_dir])
    return out_dir


def run_runner(case, tmp, out_dir, files):
    y = os.path.join(tmp, "output.npy")
    by_order = ["--by-order"] if case.head == "dropout-first" else []
    run("run", [os.path.join(out_dir, case.name), "--weights", files["w"], *by_order,
                "--input", files["x"], "--output", y])
    return y


class Result:
    """What a case got to: its shape once reported, seconds per step, then the comparison."""

    def __init__(self):
        self.shape, self.seconds, self.err, self.agree, self.batch, self.kept = "?", {}, None, 0, 0, None

    def timed(self, step, fn, *args):
        start = time.monotonic()
        try:
            return fn(*args)
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.monotonic() - start

    def times(self):
        total = sum(self.seconds.values())
        return f"{total:6.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in self.seconds.items())})"


def run_case(ctx, case, res):
    """Fill res, or raise a Failure; the case's directory is gone afterwards either way."""
    tmp = tempfile.mkdtemp(prefix=f"vggc-conformance-{case.name}-", dir=ctx.work)
    try:
        report_path, doc = res.timed("report", report, ctx, case, tmp)
        res.batch = doc["batch"]
        res.shape = f"{doc['batch']}x{'x'.join(map(str, doc['input']))} -> {doc['batch']}x{doc['classes']}"
        files = res.timed("export", export, ctx, case, tmp, report_path, doc)
        out_dir = res.timed("build", build, ctx, case, tmp)
        y = res.timed("run", run_runner, case, tmp, out_dir, files)
        res.err, res.agree = compare(y, files["r"], doc["batch"], doc["classes"])
    finally:
        if ctx.keep:
            res.kept = tmp
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def case_line(ctx, case):
    """(passed, error or None, the lines to print) of one case."""
    res = Result()
    try:
        run_case(ctx, case, res)
    except Failure as f:
        lines = [f"{case.name:18s} {res.shape:26s} FAIL {f}  {res.times()}"]
        lines += [f"    {x}" for x in f.detail.splitlines()]
        return False, None, lines + ([f"    (kept {res.kept})"] if res.kept else [])
    ok = res.err <= TOLERANCE and res.agree == res.batch
    line = (f"{case.name:18s} {res.shape:26s} err {res.err:.1e}  top-1 agree {res.agree}/{res.batch}  "
            f"{res.times()}  {'ok' if ok else 'FAIL'}")
    return ok, res.err, [line] + ([f"    (kept {res.kept})"] if res.kept else [])


# ---- the seed networks: one export, two routes ----------------------------------------------------------------

def seed_export(ctx, seed, tmp):
    files = {k: os.path.join(tmp, f) for k, f in [("w", "weights.safetensors"), ("x", "input.npy"),
                                                  ("r", "ref.npy"), ("o", f"{seed.name}.onnx")]}
    onnx = ["--onnx", files["o"]] if "onnx" in seed.routes else []
    run("export", [ctx.python, SEED_TOOL, "export", seed.name, "--seed", str(seed.seed), "--batch", str(seed.batch),
                   "--opset", str(seed.opset), "--weights", files["w"], "--input", files["x"], "--reference",
                   files["r"], *onnx])
    return files


def seed_route(ctx, seed, route, tmp, files, res):
    """Build and run one route; fill res with the comparison."""
    out_dir = os.path.join(tmp, route)
    os.mkdir(out_dir)
    name = f"{seed.name}_{route}"
    options = ["--conv", "im2col"] if route == "im2col" else []
    if route in ("file", "im2col"):
        model = seed.file if not seed.file.endswith(".lua") else os.path.join(ROOT, seed.file)  # a preset
        weights = files["w"]
    else:
        res.timed("import", run, "import", [ctx.vggc, "import", files["o"], "--name", name, "-o", out_dir])
        model, weights = os.path.join(out_dir, name + ".lua"), os.path.join(out_dir, name + ".safetensors")
    res.timed("build", run, "build", [ctx.vggc, "build", model, "--batch", str(seed.batch), *options, "--name", name,
                                      "-o", out_dir])
    y = os.path.join(out_dir, "output.npy")
    res.timed("run", run, "run", [os.path.join(out_dir, name), "--weights", weights, "--input", files["x"],
                                  "--output", y])
    shape, _ = read_npy(files["r"])
    res.batch, res.shape = seed.batch, f"{seed.batch} -> {'x'.join(map(str, shape))}"
    res.err, res.agree = compare(y, files["r"], shape[0], shape[1])


def result_lines(name, res, failure=None):
    if failure:
        lines = [f"{name:26s} {res.shape:18s} FAIL {failure}  {res.times()}"]
        return False, None, lines + [f"    {x}" for x in failure.detail.splitlines()]
    ok = res.err <= TOLERANCE and res.agree == res.batch
    return ok, res.err, [f"{name:26s} {res.shape:18s} err {res.err:.1e}  top-1 agree {res.agree}/{res.batch}  "
                         f"{res.times()}  {'ok' if ok else 'FAIL'}"]


def seed_lines(ctx, seed):
    """Yield (case name, (passed, error or None, lines)) per route; the export is shared, and deleted after."""
    tmp = tempfile.mkdtemp(prefix=f"vggc-conformance-{seed.name}-", dir=ctx.work)
    try:
        export_res = Result()
        try:
            files = export_res.timed("export", seed_export, ctx, seed, tmp)
        except Failure as f:
            yield f"{seed.name}/export", result_lines(f"{seed.name}/export", export_res, f)
            return
        for route in seed.routes:
            res, name = Result(), f"{seed.name}/{route}"
            res.seconds["export"] = export_res.seconds["export"] / len(seed.routes)
            try:
                seed_route(ctx, seed, route, tmp, files, res)
                yield name, result_lines(name, res)
            except Failure as f:
                yield name, result_lines(name, res, f)
    finally:
        if ctx.keep:
            print(f"    (kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def all_results(ctx, cases, seeds):
    for case in cases:
        yield case.name, case_line(ctx, case)
    for seed in seeds:
        yield from seed_lines(ctx, seed)


def run_all(ctx, cases, seeds=()):
    passed, failed, worst = 0, 0, (-1.0, None)
    for name, (ok, err, lines) in all_results(ctx, cases, seeds):
        print("\n".join(lines), flush=True)
        passed, failed = passed + ok, failed + (not ok)
        if err is not None:
            worst = max(worst, (err, name))
    if worst[1]:
        print(f"worst error {worst[0]:.1e} ({worst[1]}), tolerance {TOLERANCE:.0e}")
    print(f"{passed} passed, {failed} failed")
    return failed == 0


# ---- main ----------------------------------------------------------------------------------------------------

def parse_args(argv, cases, seeds):
    p = argparse.ArgumentParser(prog="conformance.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--vggc", metavar="PATH", help="the vggc executable")
    p.add_argument("--work", metavar="DIR", help="where each case's temporary directory goes (default: system temp)")
    p.add_argument("--only", metavar="NAME[,NAME...]", help="run only these cases")
    p.add_argument("--small", action="store_true", default=os.environ.get("VGGC_CONFORMANCE_SMALL") == "1",
                   help="only the small cases (%s); also VGGC_CONFORMANCE_SMALL=1" % " ".join(sorted(SMALL)))
    p.add_argument("--keep", action="store_true", help="keep each case's directory (for debugging)")
    p.add_argument("--list", action="store_true", help="print the cases and exit")
    args = p.parse_args(argv)
    if not args.list and not args.vggc:
        p.error("--vggc PATH is required")
    names = [c.name for c in cases] + [s.name for s in seeds]
    unknown = [n for n in (args.only or "").split(",") if n and n not in names]
    if unknown:
        p.error(f"--only {unknown[0]}: no such case (expected one of {' '.join(names)})")
    return args


def main(argv):
    cases, seeds = parse_cases(CASES), parse_seeds(SEEDS)
    args = parse_args(argv, cases, seeds)
    if args.small:
        cases = [c for c in cases if c.name in SMALL]
        seeds = [s for s in seeds if s.name in SMALL]
    if args.list:
        for c in cases:
            print(f"{c.name:18s} {c.model:9s} seed {c.seed}  {c.head:13s} {' '.join(c.options)}")
        for s in seeds:
            print(f"{s.name:18s} {s.file:32s} seed {s.seed}  batch {s.batch}  opset {s.opset}  "
                  f"routes {', '.join(s.routes)}")
        return 0
    if args.only:
        cases = [c for c in cases if c.name in args.only.split(",")]
        seeds = [s for s in seeds if s.name in args.only.split(",")]
    if not (os.path.isfile(args.vggc) and os.access(args.vggc, os.X_OK)):
        print(f"conformance: --vggc {args.vggc}: not an executable file", file=sys.stderr)
        return 2
    args.vggc = os.path.abspath(args.vggc)
    args.python = find_python()
    if args.python is None:
        print(TORCH_MISSING.format(os.environ.get("PYTHON") or sys.executable), file=sys.stderr)
        return 2
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    return 0 if run_all(args, cases, seeds) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
