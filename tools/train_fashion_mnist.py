#!/usr/bin/env python3
"""train_fashion_mnist.py — train models/fashion_vgg.lua on Fashion-MNIST and write the files the C test checks.

    /usr/bin/python3 tools/train_fashion_mnist.py [--epochs 2] [--seed 0] [--vggc build/gen/vggc]

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz, IDX format), builds the model from
`vggc report models/fashion_vgg.lua --json` with tools/vggc_torch.py, trains it on CPU (Adam, seeded,
deterministic, 2 threads) and writes, under models/:

    fashion_vgg.safetensors       the trained state_dict, F32
    fashion_vgg_predictions.bin   10,000 bytes: PyTorch's eval-mode float32 argmax for each test image, in order
    fashion_vgg.txt               test accuracy, epochs, seed, training time, torch version

Inputs are normalized as x/255, then (x - 0.2860) / 0.3530, the same as tests/test_fashion_mnist.c.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print(f"train_fashion_mnist: PyTorch is not importable by {sys.executable}; run with /usr/bin/python3 "
          "(Debian's python3-torch)", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import vggc_torch  # noqa: E402  (after the path is set)

DATASET = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def read_idx(path, magic):
    """An IDX file (gzip): uint8 images (N, 28, 28) for magic 2051, uint8 labels (N,) for magic 2049."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"train_fashion_mnist: {path}: cannot read ({e}; install Debian's dataset-fashion-mnist)")
    ndim = 3 if magic == 2051 else 1
    head = struct.unpack(f">{1 + ndim}I", data[:4 * (1 + ndim)])
    if head[0] != magic:
        sys.exit(f"train_fashion_mnist: {path}: magic {head[0]} (expected {magic})")
    t = torch.frombuffer(bytearray(data[4 * (1 + ndim):]), dtype=torch.uint8)
    return t.reshape(head[1:])


def load_split(prefix):
    x = read_idx(os.path.join(DATASET, f"{prefix}-images-idx3-ubyte.gz"), 2051)
    y = read_idx(os.path.join(DATASET, f"{prefix}-labels-idx1-ubyte.gz"), 2049)
    x = (x.to(torch.float32) / 255.0 - MEAN) / STD
    return x.unsqueeze(1).contiguous(), y.to(torch.int64)


def build_model(vggc, model_file):
    out = subprocess.run([vggc, "report", model_file, "--json"], check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    return vggc_torch.model_from_json(doc, model_file), doc["total_params"]


def train(model, x, y, epochs, seed, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(x) + batch - 1) // batch))
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        start, total = time.time(), 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - start:.0f} s)", flush=True)


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--vggc", default=os.path.join(ROOT, "build", "gen", "vggc"))
    p.add_argument("--out", default=os.path.join(ROOT, "models"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    model, params = build_model(args.vggc, os.path.join(ROOT, "models", "fashion_vgg.lua"))
    x_train, y_train = load_split("train")
    x_test, y_test = load_split("t10k")
    start = time.time()
    train(model, x_train, y_train, args.epochs, args.seed, args.batch)
    seconds = time.time() - start
    pred = predict(model, x_test)
    accuracy = (pred == y_test).float().mean().item()
    print(f"test accuracy {accuracy * 100:.2f}% after {args.epochs} epochs ({seconds:.0f} s)")
    meta = {"format": "pt", "producer": "train_fashion_mnist", "source": f"fashion_vgg seed {args.seed}",
            "torch": torch.__version__}
    vggc_torch.write_safetensors(os.path.join(args.out, "fashion_vgg.safetensors"), model.state_dict(),
                                 torch.float32, meta)
    with vggc_torch.atomic_output(os.path.join(args.out, "fashion_vgg_predictions.bin")) as f:
        f.write(pred.to(torch.uint8).numpy().tobytes())
    with open(os.path.join(args.out, "fashion_vgg.txt"), "w") as f:
        f.write(f"model models/fashion_vgg.lua ({params:,} params)\ntest accuracy {accuracy * 100:.2f}% "
                f"({int((pred == y_test).sum())}/10000)\nepochs {args.epochs}, batch {args.batch}, Adam + OneCycle "
                f"max lr 3e-3, seed {args.seed}\ntraining time {seconds:.0f} s on {torch.get_num_threads()} "
                f"CPU threads\ntorch {torch.__version__}\n")
    for name in ("fashion_vgg.safetensors", "fashion_vgg_predictions.bin"):  # mkstemp made them 0600
        os.chmod(os.path.join(args.out, name), 0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
