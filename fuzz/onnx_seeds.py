#!/usr/bin/env python3
"""onnx_seeds.py — write the seed corpus of fuzz_onnx into DIR: torch.onnx.export of the small networks of
tests/seed_networks.py that use every op and attribute `vggc import` reads (convs with stride, padding, dilation
and no bias, each pool in floor and ceil mode, F.pad before a conv and a pool, BatchNorm, Softmax, MatMul + Add,
flatten by view and by Flatten, branches joined by Concat and Add), at opsets 11, 13 and 17, with few channels so
that each file is a few kilobytes;
and graphs torch does not write (LRN, Gemm with an (in, out) weight, ...) made with onnx.helper.

Needs PyTorch: on Debian run it with /usr/bin/python3, or set PYTHON.
"""
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyBranches(nn.Module):
    """Two branches concatenated (a 1x1 conv; a 3x3 conv and an average pool), a residual Add, a global pool."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 1), nn.Conv2d(2, 3, 3, padding=1)
        self.c, self.fc = nn.Conv2d(6, 6, 3, padding=1), nn.Linear(6, 2)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), F.avg_pool2d(self.b(x), 3, 1, 1)], 1)
        y = F.relu(self.c(y) + y)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def nets():
    """name -> (module, input shape): tests/seed_networks.py's small networks, and torch's LocalResponseNorm (which
    it exports as Mul, Pad, AveragePool, ...: ops vggc refuses, by name)"""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
    import seed_networks as seeds
    out = {name: (seeds.NETS[name][0](), (1, *seeds.NETS[name][1])) for name in
           ("tiny_lenet", "ops_strided", "ops_pools", "ops_padded")}
    out["tiny_branches"] = (TinyBranches(), (1, 2, 5, 4))
    out["torch_lrn"] = (nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.LocalResponseNorm(3), nn.Flatten(),
                                      nn.Linear(27, 2)), (1, 2, 5, 5))
    return out


def handmade(out):
    """Graphs torch does not write, made with onnx.helper (Debian's python3-onnx), when it is there: LRN,
    GlobalAveragePool, Identity, Gemm with an (in, out) weight, int64 data in int64_data."""
    try:
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper, save
    except ImportError:
        print("onnx_seeds: no onnx module, no hand-made seeds")
        return
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
            for n, s in [("w", (3, 2, 3, 3)), ("b", (3,)), ("fc", (3, 4)), ("fcb", (4,))]]
    init.append(helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1]))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("LRN", ["r"], ["l"], name="lrn", size=3, alpha=1e-4, beta=0.75, bias=2.0),
             helper.make_node("Identity", ["l"], ["i"], name="id"),
             helper.make_node("GlobalAveragePool", ["i"], ["g"], name="gap"),
             helper.make_node("Reshape", ["g", "shape"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc", transB=0)]
    graph = helper.make_graph(nodes, "handmade", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], init)
    for opset in (11, 17):
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]),
             os.path.join(out, f"handmade-opset{opset}.onnx"))


def main(argv):
    if len(argv) != 1:
        print("usage: onnx_seeds.py DIR", file=sys.stderr)
        return 2
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, (module, shape) in nets().items():
        module.eval()
        for opset in (11, 13, 17):
            path = os.path.join(out, f"{name}-opset{opset}.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, torch.randn(shape), path, opset_version=opset)
    handmade(out)
    print(f"onnx_seeds: wrote {len(os.listdir(out))} seeds to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
