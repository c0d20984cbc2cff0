#!/usr/bin/python3
"""make_seeds.py — write seed corpora for the fuzz targets: fuzz/corpus/{safetensors,npy}/ (or the given dir).

Safetensors seeds match the manifest of fuzz_safetensors.c (names, shapes) in F32, F16 and BF16, with and without
__metadata__, in state_dict order and shuffled; .npy seeds are numpy.save of float32 arrays of rank 1..4 plus
hand-written v2.0 and v3.0 headers. Run with /usr/bin/python3 (numpy, torch).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

MANIFEST = [  # (name, shape) in the order of fuzz_safetensors.c
    ("features.0.weight", (4, 3, 3, 3)),
    ("features.0.bias", (4,)),
    ("features.1.weight", (4,)),
    ("features.1.bias", (4,)),
    ("features.1.running_mean", (4,)),
    ("features.1.running_var", (4,)),
    ("classifier.0.weight", (2, 4)),
    ("classifier.0.bias", (2,)),
]

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def tensor_bytes(t):
    """Raw little-endian bytes of a torch tensor of any dtype (bfloat16 included)."""
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def safetensors(tensors, metadata=None, extra=None, pad_to=8):
    """tensors: list of (name, torch tensor); extra: additional header entries (e.g. num_batches_tracked)."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in tensors:
        raw = tensor_bytes(t)
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % pad_to)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def state_dict(dtype, seed):
    g = torch.Generator().manual_seed(seed)
    sd = [(n, torch.randn(s, generator=g).to(dtype)) for n, s in MANIFEST]
    return [(n, t.abs() + 0.5 if n.endswith("running_var") else t) for n, t in sd]


def safetensors_seeds():
    seeds = {}
    for i, (dname, dtype) in enumerate(DTYPES.items()):
        sd = state_dict(dtype, i)
        seeds[f"plain_{dname}"] = safetensors(sd)
        seeds[f"meta_{dname}"] = safetensors(sd, metadata={"format": "pt", "vggc": "fuzz seed"})
        nbt = ("features.1.num_batches_tracked", torch.tensor(7, dtype=torch.int64))
        seeds[f"nbt_{dname}"] = safetensors(sd[:6] + [nbt] + sd[6:], metadata={"format": "pt"})
        seeds[f"reversed_{dname}"] = safetensors(list(reversed(sd)))
    mixed = [(n, t.to(list(DTYPES.values())[k % 3])) for k, (n, t) in enumerate(state_dict(torch.float32, 9))]
    seeds["mixed_dtypes"] = safetensors(mixed, metadata={"note": "\u00e9\\u00e9 \"quoted\" \\n"})
    seeds["unpadded"] = safetensors(state_dict(torch.float32, 10), pad_to=1)
    seeds["empty_header"] = safetensors([])
    return seeds


def npy_bytes(a, version=None):
    """numpy.save for version None (numpy picks 1.0), else a hand-written v2.0 / v3.0 header."""
    if version is None:
        import io
        buf = io.BytesIO()
        np.save(buf, a)
        return buf.getvalue()
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (repr(tuple(a.shape)),)
    pad = -(12 + len(d) + 1) % 64
    text = (d + " " * pad + "\n").encode("utf-8" if version == 3 else "latin1")
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text)) + text + a.astype("<f4").tobytes()


def npy_seeds():
    rng = np.random.default_rng(0)
    shapes = [(5,), (1,), (3, 4), (2, 3, 4), (1, 3, 4, 4), (2, 1, 2, 3)]
    seeds = {}
    for s in shapes:
        a = rng.standard_normal(s).astype(np.float32)
        tag = "x".join(map(str, s))
        seeds[f"v1_{tag}"] = npy_bytes(a)
        seeds[f"v2_{tag}"] = npy_bytes(a, 2)
    seeds["v3_2x2"] = npy_bytes(rng.standard_normal((2, 2)).astype(np.float32), 3)
    seeds["v1_f64"] = npy_bytes(np.arange(3, dtype=np.float64))  # rejected dtype, a near miss
    seeds["v1_fortran"] = npy_bytes(np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32)))
    return seeds


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as out:
            out.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    write(os.path.join(root, "safetensors"), safetensors_seeds())
    write(os.path.join(root, "npy"), npy_seeds())


if __name__ == "__main__":
    main()
