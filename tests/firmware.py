#!/usr/bin/env python3
"""firmware.py — do the Cortex-M builds compute what PyTorch computes, in the memory the report declares?

    firmware.py --vggc PATH --work DIR [--images N] [--keep]

Every case builds a test firmware with `vggc build MODEL --target cortex-mX --weights W -o DIR` (arm-none-eabi-gcc
and newlib) and runs DIR/NAME.elf under QEMU's mps2 boards (qemu-system-arm, semihosting: the ELF reads and writes
the host's files and returns its exit status). The cases:

- bn_vgg/<target>: a small VGG with BatchNorm (8,8,M,16,M, 3x16x16, head 32, batch 2; seeded weights, random BN
  statistics and biases) on each of cortex-m4, cortex-m7 and cortex-m33: normwise error against PyTorch's float64
  output <= 1e-5 and the same top-1 for both images;
- lenet5/cortex-m4: LeNet-5 as its document writes it (tests/seed_networks.py), batch 2, the same bound;
- ops_every_layer/cortex-m7: one of every layer the freestanding kernels run (LRN, softmax, ceil-mode and padded
  pools, a standalone ReLU, a strided dilated conv, a bias-less conv with BatchNorm), batch 3, the same bound;
- graphs: networks that branch, Add and Concat on their own kernels: basicblock_seed/cortex-m7 (the seed's
  BasicBlock, a strided 1x1 downsample), inception_seed/cortex-m33 (the seed's Inception module, torch.cat of four
  branches; --flash 4M --ram 4M: it is larger than the STM32L552), ops_graph/cortex-m4 (an Add with the input as residual, a Concat of two ReLUs), batch 2, the same bound;
- fashion/cortex-m7: the trained Fashion-MNIST classifier on the first N test images (200 by default), one QEMU run
  per image: every top-1 must be PyTorch's (models/fashion_vgg_predictions.bin);
- fashion/instructions: the instructions one inference executes (QEMU -icount shift=0: one instruction per
  nanosecond, counted by SysTick), the generated kernels against `--conv naive` (every layer a plain loop nest,
  compiled with the same flags);
- too_large/cortex-m4: the Fashion classifier (874 KB of weights) is refused by `vggc generate` for the M4's
  512 KiB part with the numbers, and nothing is written;
- and for every firmware built: the network's sections of the ELF (.vggc_flash: its code, its windows and weights;
  .vggc_ram: its workspace) and the stack the forward pass used (painted and measured under QEMU) within the
  report's flash_bytes and ram_bytes.

One line per case, then `N passed, N failed` alone on the last line; exit 1 if any case failed. PyTorch runs under
$PYTHON, else /usr/bin/python3 (Debian's python3-torch); this script needs numpy.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOL = os.path.join(ROOT, "tools", "vggc_torch.py")
SEEDS = os.path.join(HERE, "seed_networks.py")
FASHION_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
MACHINES = {"cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505"}
BN_VGG = ["8,8,M,16,M", "--batch-norm", "--input", "3x16x16", "--avgpool", "none", "--classifier", "32",
          "--classes", "10", "--batch", "2"]
BOUND = 1e-5
TIMEOUT = 300


class Failure(Exception):
    pass


def run(argv, cwd=None, check=True):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-12:])
        raise Failure(f"{os.path.basename(argv[0])} exited {p.returncode}:\n{tail}")
    return p


def qemu(target, elf, args, icount=False, cwd=None):
    """Run the firmware with args (the runner's flags) under QEMU; returns the process."""
    config = ",".join(["enable=on", "target=native", f"arg={os.path.splitext(os.path.basename(elf))[0]}"]
                      + [f"arg={a}" for a in args])
    argv = ["qemu-system-arm", "-M", MACHINES[target], "-nographic", "-semihosting-config", config, "-kernel", elf]
    if icount:
        argv[1:1] = ["-icount", "shift=0"]
    return run(argv, cwd=cwd, check=False)


class Ctx:
    def __init__(self, args):
        self.vggc, self.work, self.keep, self.images = args.vggc, args.work, args.keep, args.images
        self.python = os.environ.get("PYTHON") or "/usr/bin/python3"
        self.results = []

    def report(self, model_args, target):
        p = run([self.vggc, "report", *model_args, "--target", target, "--json"])
        return json.loads(p.stdout)

    def build(self, tmp, model_args, target, weights, name, conv=None):
        out = os.path.join(tmp, f"{name}-{target}" + (f"-{conv}" if conv else ""))
        os.makedirs(out, exist_ok=True)
        extra = ["--conv", conv] if conv else []
        run([self.vggc, "build", *model_args, *extra, "--target", target, "--weights", weights, "--name", name,
             "-o", out])
        return os.path.join(out, name + ".elf")


# ---- memory: the ELF's sections and the measured stack against the report -------------------------------------

def sections(elf):
    p = run(["arm-none-eabi-size", "-A", elf])
    sizes = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def berkeley(elf):
    """text, data, bss of the whole ELF (arm-none-eabi-size's default format)."""
    line = run(["arm-none-eabi-size", elf]).stdout.splitlines()[1].split()
    return int(line[0]), int(line[1]), int(line[2])


PROFILE = re.compile(r"forward: (\d+) bytes of stack, (\d+) SysTick ticks .*\((\d+) instructions")


def profile(target, elf, x, cwd):
    """(stack bytes, instructions) of one forward pass on input x, under -icount."""
    p = qemu(target, elf, ["--input", x, "--profile", "--top", "1"], icount=True, cwd=cwd)
    m = PROFILE.search(p.stderr)
    if p.returncode != 0 or not m:
        raise Failure(f"--profile run exited {p.returncode}: {p.stderr.strip()}")
    return int(m.group(1)), int(m.group(3))


def check_memory(doc, elf, stack):
    """The network's sections and the stack it used within the report's bounds; returns a description."""
    s = sections(elf)
    flash, ram, t = doc["flash_bytes"], doc["ram_bytes"], doc["target"]
    if s.get(".vggc_flash", 0) > flash:
        raise Failure(f".vggc_flash is {s.get('.vggc_flash')} bytes, more than the report's flash_bytes {flash}")
    if s.get(".vggc_ram", -1) != t["workspace"]:
        raise Failure(f".vggc_ram is {s.get('.vggc_ram')} bytes (expected the workspace, {t['workspace']})")
    if stack > t["stack"] or s[".vggc_ram"] + stack > ram:
        raise Failure(f"the forward pass used {stack} bytes of stack (bound {t['stack']}; ram_bytes {ram})")
    text, data, bss = berkeley(elf)
    return (f"flash {s['.vggc_flash']:,} <= {flash:,}, RAM {s['.vggc_ram']:,} + stack {stack} <= {ram:,}; "
            f"whole ELF text+data {text + data:,}, data+bss {data + bss:,}")


# ---- the cases -------------------------------------------------------------------------------------------------

def normwise(y, r):
    y, r = np.asarray(y, np.float64).ravel(), np.asarray(r, np.float64).ravel()
    return float(np.linalg.norm(y - r) / np.linalg.norm(r))


def against_pytorch(ctx, tmp, target, model_args, name, files):
    """Build for target, run the batch, compare with PyTorch's float64 output; check the memory."""
    doc = ctx.report(model_args, target)
    elf = ctx.build(tmp, model_args, target, files["w"], name)
    y = os.path.join(tmp, f"y-{name}-{target}.npy")
    p = qemu(target, elf, ["--input", files["x"], "--output", y], cwd=tmp)
    if p.returncode != 0:
        raise Failure(f"the firmware exited {p.returncode}: {p.stderr.strip()}")
    out, ref = np.load(y), np.load(files["r"])
    err = normwise(out, ref)
    same = int((out.argmax(1) == ref.argmax(1)).sum())
    if err > BOUND or same != ref.shape[0]:
        raise Failure(f"normwise error {err:.2e} (bound {BOUND:g}), top-1 {same}/{ref.shape[0]}")
    stack, instructions = profile(target, elf, files["x"], tmp)
    return f"error {err:.1e}, top-1 {same}/{ref.shape[0]}, {instructions:,} instructions; " + \
        check_memory(doc, elf, stack)


def bn_vgg(ctx, tmp):
    p = run([ctx.vggc, "report", *BN_VGG, "--json"])
    path = os.path.join(tmp, "bn_vgg.json")
    with open(path, "w") as f:
        f.write(p.stdout)
    files = {k: os.path.join(tmp, f"bn_vgg.{k}") for k in ("w", "x", "r")}
    run([ctx.python, TOOL, "export", "--model-json", path, "--seed", "5", "--bn-random", "--bias-random",
         "--weights", files["w"], "--input", files["x"], "--reference", files["r"]])
    for k in ("x", "r"):  # np.save adds .npy
        os.rename(files[k], files[k] + ".npy")
        files[k] += ".npy"
    return [(f"bn_vgg/{t}", lambda t=t: against_pytorch(ctx, tmp, t, BN_VGG, "bn_vgg", files))
            for t in ("cortex-m4", "cortex-m7", "cortex-m33")]


def seed_network(ctx, tmp, net, seed, batch, model_file, target, extra=()):
    """A network of tests/seed_networks.py, as its document writes it, on target (extra: more vggc options)."""
    files = {k: os.path.join(tmp, f"{net}_{k}" + (".safetensors" if k == "w" else ".npy")) for k in ("w", "x", "r")}
    run([ctx.python, SEEDS, "export", net, "--seed", str(seed), "--batch", str(batch), "--weights", files["w"],
         "--input", files["x"], "--reference", files["r"]])
    model = [model_file, "--batch", str(batch), *extra]
    return [(f"{net}/{target}", lambda: against_pytorch(ctx, tmp, target, model, net, files))]


def lenet5(ctx, tmp):
    return seed_network(ctx, tmp, "lenet5", 1, 2, os.path.join(ROOT, "models", "lenet5.lua"), "cortex-m4")


def every_layer(ctx, tmp):
    """One of every layer the freestanding kernels run: LRN (powf), softmax (expf), ceil-mode and padded pools, a
    standalone ReLU, a strided dilated conv, a bias-less conv with BatchNorm (eps 1e-3)."""
    return seed_network(ctx, tmp, "ops_every_layer", 10, 3, os.path.join(HERE, "models", "ops_every_layer.lua"),
                        "cortex-m7")


def graphs(ctx, tmp):
    """Networks that branch (Add and Concat run on their own, vggc_fs_add and vggc_fs_concat_copy): the seed's
    BasicBlock on cortex-m7, its Inception module on cortex-m33 (141k parameters and 744 KiB of workspace at batch
    2: more than the STM32L552's 512 KiB of flash and 256 KiB of RAM, so --flash 4M --ram 4M, the QEMU board's), and
    ops_graph (an Add with the input as residual, copied Concat inputs) on cortex-m4."""
    cases = []
    for net, seed, target, extra in (("basicblock_seed", 11, "cortex-m7", ()),
                                     ("inception_seed", 12, "cortex-m33", ("--flash", "4M", "--ram", "4M")),
                                     ("ops_graph", 13, "cortex-m4", ())):
        cases += seed_network(ctx, tmp, net, seed, 2, os.path.join(HERE, "models", f"{net}.lua"), target, extra)
    return cases


def fashion_inputs(n, tmp):
    import gzip
    with gzip.open(FASHION_IMAGES) as f:
        pixels = np.frombuffer(f.read()[16:16 + n * 784], np.uint8).reshape(n, 1, 1, 28, 28)
    paths = []
    for i in range(n):  # as tests/test_fashion_mnist.c and the training: x / 255, then (x - 0.2860) / 0.3530
        x = ((pixels[i].astype(np.float32) / np.float32(255)) - np.float32(0.2860)) / np.float32(0.3530)
        paths.append(os.path.join(tmp, f"fashion_{i:04d}.npy"))
        np.save(paths[-1], x)
    return paths


def fashion_top1(elf, x, tmp):
    p = qemu("cortex-m7", elf, ["--input", x, "--top", "1"], cwd=tmp)
    m = re.search(r"class (\d+)", p.stdout)
    if p.returncode != 0 or not m:
        raise Failure(f"{x}: the firmware exited {p.returncode}: {p.stderr.strip()}")
    return int(m.group(1))


def fashion(ctx, tmp):
    model, weights = [os.path.join(ROOT, "models", "fashion_vgg.lua")], os.path.join(ROOT, "models",
                                                                                     "fashion_vgg.safetensors")
    with open(os.path.join(ROOT, "models", "fashion_vgg_predictions.bin"), "rb") as f:
        want = list(f.read(ctx.images))
    state = {}

    def agree():
        state["doc"] = ctx.report(model, "cortex-m7")
        state["elf"] = ctx.build(tmp, model, "cortex-m7", weights, "fashion_vgg")
        state["inputs"] = fashion_inputs(ctx.images, tmp)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            got = list(pool.map(lambda x: fashion_top1(state["elf"], x, tmp), state["inputs"]))
        bad = [i for i in range(ctx.images) if got[i] != want[i]]
        if bad:
            raise Failure(f"{len(bad)} of {ctx.images} differ from PyTorch's top-1 (first: image {bad[0]}, "
                          f"{got[bad[0]]} against {want[bad[0]]})")
        return f"{ctx.images}/{ctx.images} images have PyTorch's top-1"

    def instructions():
        if "elf" not in state:
            raise Failure("needs fashion/cortex-m7, which failed")
        stack, fast = profile("cortex-m7", state["elf"], state["inputs"][0], tmp)
        memory = check_memory(state["doc"], state["elf"], stack)
        naive_elf = ctx.build(tmp, model, "cortex-m7", weights, "fashion_vgg", conv="naive")
        naive_stack, naive = profile("cortex-m7", naive_elf, state["inputs"][0], tmp)
        if fast >= naive:
            raise Failure(f"the kernels ran {fast:,} instructions, the plain loop nests {naive:,}")
        return (f"{fast:,} instructions per inference ({fast / state['doc']['total_macs']:.2f} per MAC), "
                f"--conv naive {naive:,} ({naive / fast:.2f}x more); {memory}")

    return [("fashion/cortex-m7", agree), ("fashion/instructions", instructions)]


def too_large(ctx, tmp):
    def refuse():
        out = os.path.join(tmp, "too_large")
        os.makedirs(out)
        p = run([ctx.vggc, "generate", os.path.join(ROOT, "models", "fashion_vgg.lua"), "--target", "cortex-m4",
                 "--weights", os.path.join(ROOT, "models", "fashion_vgg.safetensors"), "-o", out], check=False)
        lines = p.stderr.splitlines()
        if p.returncode != 2 or len(lines) != 1 or "bytes of flash" not in lines[0] or os.listdir(out):
            raise Failure(f"exit {p.returncode}, stderr {p.stderr!r}, wrote {os.listdir(out)}")
        return lines[0]
    return [("too_large/cortex-m4", refuse)]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vggc", required=True)
    ap.add_argument("--work", default=tempfile.gettempdir())
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    ctx = Ctx(args)
    os.makedirs(args.work, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vggc-firmware-", dir=args.work)
    passed = failed = 0
    try:
        for make in (too_large, bn_vgg, lenet5, every_layer, graphs, fashion):
            start = time.monotonic()
            try:
                cases = make(ctx, tmp)
            except (Failure, subprocess.TimeoutExpired) as e:
                cases = [(make.__name__, lambda e=e: (_ for _ in ()).throw(Failure(f"setup: {e}")))]
            for name, fn in cases:
                try:
                    what = fn()
                    print(f"ok    {name}: {what} ({time.monotonic() - start:.1f} s)", flush=True)
                    passed += 1
                except (Failure, subprocess.TimeoutExpired) as e:
                    print(f"FAIL  {name}: {e}", flush=True)
                    failed += 1
                start = time.monotonic()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
