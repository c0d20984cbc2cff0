#!/usr/bin/env python3
"""model_seeds.py — write the seed corpus of fuzz_model (see fuzz_model.c for the input format) into DIR.

Seeds are real inputs: every preset by name and written out as an inline list, the examples of README.md and the
tests, and the model files under models/ and tests/models/ (the per-layer form and graphs) (as `OPTIONS\\nFILE TEXT`,
each once for the host and once for a Cortex-M target), plus hand-written model files that use each field in each of
its forms. Standard library only.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def preset_lists():
    """{letter: "64,M,..."} from gen/presets.lua's cfgs table."""
    text = open(os.path.join(ROOT, "gen", "presets.lua")).read()
    lists = {}
    for quoted, plain, body in re.findall(r'^\s*(?:\["([^"]+)"\]|(\w)) = \{ ([^}]*) \},$', text, re.M):
        if body.startswith("64"):  # the cfgs table, not the names table
            lists[quoted or plain] = ",".join(tok.strip().strip('"') for tok in body.split(","))
    return lists


PRESETS = ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "A", "A-LRN", "B",
           "C", "D", "E"]

COMMAND_LINES = [
    "vgg16 --input 3x224x224",
    "vgg16_bn --input 3x32x32 --avgpool none --classifier 512,512 --classes 10 --json",
    "vgg11 --input 3x224x224 --name vgg11_224",
    "vgg11 --input 3x32x32",
    "vgg13 --input 3x64x96",
    "vgg11_bn --input 1x32x32 --classes 10",
    "vgg11 --input 3x32x32 --avgpool none --classifier 512,512 --classes 10",
    "vgg11 --input 3x224x224 --batch 4",
    "64,M,128,M,256,256,M",
    "64,M,128:1,L,M",
    "64,L,M,128,128:1,M --input 3x32x32",
    "4,L,M,6,5:1,M --batch-norm --input 2x9x7 --avgpool 3x2 --classifier 10 --classes 5 --batch 2 --name tiny",
    "8,M,16,M --input 1x28x28 --classes 10 --avgpool none --classifier 32 --json",
    "8,M,16,M --input=1x28x28 --classes=10 --avgpool=none --classifier=none --markdown",
    "64:3,M --input 3x16x16 --avgpool 1x1 --classifier 16,16,16",
    "16 --input 3x5x5 --avgpool 2x3",
    "8,M,8,M,8,M,8,M,8,M --input 3x16x16",
    "64,X,M",
    "vgg11 --help",
    "vgg11 --input 3x32x32 --conv auto",
    "vgg16_bn --input 3x64x64 --conv winograd4 --batch 2",
    "64,M,128:1,M --input 3x28x28 --conv winograd2",
    "8,8:1,M --input 1x9x9 --conv direct",
    "vgg11 --conv im2col --markdown",
]

MODEL_FILES = [
    # options line, file text
    ("", 'return { features = {64, "M", 128, "M", "256:1"}, input = {3, 32, 32}, avgpool = {2, 2}, classes = 7 }'),
    ("", 'return { name = "net_a", features = {"8", "L", "M"}, batch_norm = false, input = "3x8x8", '
         'avgpool = "none", classifier = {}, batch = 2 }'),
    ("--batch-norm", 'local f = {}\nfor i = 1, 3 do f[#f + 1] = 8 * i; f[#f + 1] = "M" end\n'
                     'return { features = f, input = "1x16x16", classifier = {32, 16}, avgpool = false }'),
    ("--input 3x64x64", 'return { features = {("%d"):format(16), ("M"):lower()}, classes = 3 }'),
    ("", 'return { features = {16, "M"}, input = "1x28x28", unknown = 1 }'),
    ("", 'return {\n  name = "fashion_vgg",                 -- optional C name\n'
         '  features = {32, "M", 64, "M", "128:1"},\n  batch_norm = true,\n'
         '  input = "1x28x28",                    -- or {1, 28, 28}\n'
         '  avgpool = "none",                     -- or "7x7" / {7, 7}\n'
         '  classifier = {256},                   -- hidden widths\n  classes = 10,\n}\n'),  # README.md's example
    ("", "while true do end"),
    ("", 'local t = {} for i = 1, 100 do t[i] = ("x"):rep(100) end return { features = t }'),
    ("", "return 42"),
    ("", "return {"),
]


def write(dirpath, name, data):
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(data)


def main(out):
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    lines = list(COMMAND_LINES)
    for name in PRESETS:
        lines += [name, f"{name} --input 3x32x32 --avgpool none --classifier 64 --classes 10"]
    lines += ["lenet5", "lenet5 --input 1x36x36", "alexnet --classes 10", "alexnet --input 3x63x63"]
    lines += ["resnet18", "resnet18 --input 3x32x32 --batch 2", "googlenet --input 3x64x64",  # graphs
              "lenet5 --target cortex-m4", "8,M,16,M --input 3x16x16 --target cortex-m7 --conv naive",  # Cortex-M
              "vgg11_bn --input 3x32x32 --target cortex-m33 --flash 4M --ram 1024K",
              "resnet18 --input 3x32x32 --target cortex-m7 --flash 64M --ram 16M --json"]
    for letter, text in sorted(preset_lists().items()):
        lines += [text, f"{text} --batch-norm --input 3x64x64"]
    for i, line in enumerate(lines):
        write(out, f"args-{i:03d}", line.encode())
    files = list(MODEL_FILES)
    for folder in (os.path.join(ROOT, "models"), os.path.join(ROOT, "tests", "models")):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".lua"):
                text = open(os.path.join(folder, name)).read()
                files += [("", text), ("--target cortex-m7 --flash 8M --ram 8M", text)]  # the host and a Cortex-M
    for i, (options, text) in enumerate(files):
        write(out, f"file-{i:03d}", (options + "\n" + text).encode())
    print(f"model_seeds.py: {len(lines)} command lines and {len(files)} model files in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "seeds", "model"))
