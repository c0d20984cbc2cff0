#!/usr/bin/env python3
"""fashion_images.py — Fashion-MNIST test images as image files, for the runner's --images.

    /usr/bin/python3 tools/fashion_images.py --out DIR [--count 1000] [--first 0] [--formats png,jpg]
                                             [--quality 90] [--size 28]

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz, as
tools/train_fashion_mnist.py reads it) and writes test images first .. first + count - 1 with Pillow as 8-bit
grayscale files DIR/<format>/<index>.<format> (index zero-padded to 5 digits, so the names sort in dataset
order). With several formats the images are dealt out in turn (image i gets format i % len(formats)). --size
other than 28 resizes each image (bilinear) and writes it as RGB: the 224x224 JPEGs of bench/images.

Needs only Pillow and NumPy (Debian's python3-pil, python3-numpy). Prints the number of files written.
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
from PIL import Image

DATASET = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path, magic):
    """An IDX file (gzip): uint8 images (N, 28, 28) for magic 2051, uint8 labels (N,) for magic 2049."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"fashion_images: {path}: cannot read ({e}; install Debian's dataset-fashion-mnist)")
    ndim = 3 if magic == 2051 else 1
    head = struct.unpack(f">{1 + ndim}I", data[:4 * (1 + ndim)])
    if head[0] != magic:
        sys.exit(f"fashion_images: {path}: magic {head[0]} (expected {magic})")
    return np.frombuffer(data[4 * (1 + ndim):], dtype=np.uint8).reshape(head[1:])


def test_images():
    return read_idx(os.path.join(DATASET, "t10k-images-idx3-ubyte.gz"), 2051)


def test_labels():
    return read_idx(os.path.join(DATASET, "t10k-labels-idx1-ubyte.gz"), 2049)


def save(pixels, path, size, quality):
    img = Image.fromarray(pixels, mode="L")
    if size != 28:
        img = img.resize((size, size), Image.BILINEAR).convert("RGB")
    if path.endswith(".jpg"):
        img.save(path, quality=quality)
    else:
        img.save(path)


def write(out, first, count, formats, quality=90, size=28):
    """Write the images; return their paths in the order a folder walk lists them."""
    images = test_images()
    if first < 0 or count < 1 or first + count > len(images):
        sys.exit(f"fashion_images: images {first}..{first + count - 1} are not all in the test set (0..{len(images) - 1})")
    for fmt in formats:
        os.makedirs(os.path.join(out, fmt), exist_ok=True)
    paths = []
    for k, i in enumerate(range(first, first + count)):
        fmt = formats[k % len(formats)]
        path = os.path.join(out, fmt, f"{i:05d}.{fmt}")
        save(images[i], path, size, quality)
        paths.append(path)
    return sorted(paths)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--formats", default="png,jpg")
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--size", type=int, default=28)
    args = p.parse_args(argv)
    formats = args.formats.split(",")
    bad = [f for f in formats if f not in ("png", "jpg", "pgm")]
    if bad:
        sys.exit(f"fashion_images: --formats: '{bad[0]}' is not png, jpg or pgm")
    paths = write(args.out, args.first, args.count, formats, args.quality, args.size)
    print(f"fashion_images: wrote {len(paths)} files under {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
