#!/usr/bin/env python3
"""onnx_seeds.py — write the seed corpus of fuzz_onnx into DIR: torch.onnx.export of small networks that use every
op and attribute `vggc import` reads (convs with stride, padding, dilation and no bias, each pool in floor and ceil
mode, F.pad before a conv and a pool, BatchNorm folded or not, LRN, Softmax, MatMul + Add, flatten by view and by
Flatten), at opsets 11, 13 and 17, with few channels so that each file is a few kilobytes.

Needs PyTorch: on Debian run it with /usr/bin/python3, or set PYTHON.
"""
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


class View(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class PadThen(nn.Module):
    """F.pad with zeros (or -inf for a max pool), then the module."""

    def __init__(self, module, pad, value=0.0):
        super().__init__()
        self.module, self.pad, self.value = module, pad, value

    def forward(self, x):
        return self.module(F.pad(x, self.pad, value=self.value))


class MatMulAdd(nn.Module):
    def __init__(self, fin, fout):
        super().__init__()
        self.w = nn.Parameter(torch.randn(fin, fout) * 0.1)
        self.b = nn.Parameter(torch.randn(fout) * 0.1)

    def forward(self, x):
        return torch.matmul(x, self.w) + self.b


def nets():
    """name -> (module, input shape)"""
    return {
        "lenet": (nn.Sequential(nn.Conv2d(1, 2, 5), nn.MaxPool2d(2, 2), nn.Conv2d(2, 3, 5), nn.MaxPool2d(2, 2),
                                View(), nn.Linear(75, 8), nn.Linear(8, 4)), (2, 1, 32, 32)),
        "strided": (nn.Sequential(nn.Conv2d(3, 4, 5, stride=2, padding=(1, 2), dilation=1, bias=False), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Conv2d(4, 4, 3, dilation=2),
                                  nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
                                  nn.Softmax(dim=1)), (1, 3, 23, 19)),
        "pools": (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                                nn.AvgPool2d(3, stride=2, padding=1), nn.AvgPool2d(2, ceil_mode=True,
                                                                                 count_include_pad=False),
                                nn.MaxPool2d(2, stride=1, padding=1), nn.Flatten(),
                                nn.Dropout(), nn.Linear(60, 5)), (1, 2, 11, 13)),
        "padded": (nn.Sequential(PadThen(nn.Conv2d(2, 2, 3), (1, 2, 0, 1)), nn.ReLU(),
                                 PadThen(nn.MaxPool2d(2), (1, 1, 1, 1)), PadThen(nn.AvgPool2d(3), (1, 1, 1, 1)),
                                 View(), MatMulAdd(8, 3)), (1, 2, 9, 8)),
        # torch exports LocalResponseNorm as Mul, Pad, AveragePool, ...: an op vggc refuses, by name
        "torch_lrn": (nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.LocalResponseNorm(3), nn.Flatten(),
                                    nn.Linear(27, 2)), (1, 2, 5, 5)),
    }


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
