#!/usr/bin/env python3
"""make_bad_onnx.py — write the hand-made bad .onnx files of tests/regressions/onnx/ (bad-*.onnx), the ones that
tests/BAD_INPUTS.md's import rows feed to `vggc import`. Each is a tiny conv net made with onnx.helper (Debian's
python3-onnx) with one thing wrong (and seed-*: the same nets done right). Run it again only to change them: the
files are committed (python3-onnx's writer gives the same bytes for the same model).

    make_bad_onnx.py DIR
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def net(conv_attrs=None, bias_shape=(3,), op="Relu", opset=13, external=False):
    """x (1, 2, 6, 6) -> Conv 3x3 (3 outputs, pad 1) -> op -> Flatten -> Gemm (108 -> 4) -> y"""
    rng = np.random.default_rng(0)
    weights = [("w", (3, 2, 3, 3)), ("b", bias_shape), ("fc", (4, 108)), ("fcb", (4,))]
    init = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in weights]
    if external:  # the conv's weight lives in a file beside the model
        w = init[0]
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        w.external_data.add(key="location", value="conv.weight.bin")
    attrs = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], **(conv_attrs or {}))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", **attrs),
             helper.make_node(op, ["c"], ["r"], name="act"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def branches(join, second_conv=None, wiring=None):
    """x (1, 2, 6, 6) -> conv (3 outputs) and conv2 (second_conv: outputs, stride) on x -> join (Add or Concat) ->
    Relu -> Flatten -> Gemm -> y; wiring replaces the join's and the Relu's inputs (a cycle, a missing input)."""
    rng = np.random.default_rng(1)
    c2, stride = second_conv or (3, 1)
    side = (6 - 1) // stride + 1
    features = (3 + c2 if join == "Concat" else 3) * side * side
    weights = [("w", (3, 2, 3, 3)), ("b", (3,)), ("w2", (c2, 2, 3, 3)), ("b2", (c2,)), ("fc", (4, features)),
               ("fcb", (4,))]
    init = [numpy_helper.from_array(rng.standard_normal(shp).astype(np.float32), n) for n, shp in weights]
    join_in, relu_in = (wiring or (["c", "c2"], "j"))
    attrs = {"axis": 1} if join == "Concat" else {}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], name="conv2", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1], strides=[stride, stride]),
             helper.make_node(join, join_in, ["j"], name="join", **attrs),
             helper.make_node("Relu", [relu_in], ["r"], name="act"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def transform_input():
    """torchvision's googlenet(transform_input=True) in small: each input channel taken out (Gather), scaled and
    shifted, the three put back together (Concat), then a conv net."""
    rng = np.random.default_rng(2)
    init = [numpy_helper.from_array(rng.standard_normal(shp).astype(np.float32), n)
            for n, shp in [("w", (3, 3, 3, 3)), ("b", (3,)), ("fc", (4, 108)), ("fcb", (4,))]]
    init.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"))
    nodes = []
    for c, (mean, std) in enumerate([(0.485, 0.229), (0.456, 0.224), (0.406, 0.225)]):
        init += [numpy_helper.from_array(np.array(c, dtype=np.int64), f"i{c}"),
                 numpy_helper.from_array(np.array(std / 0.5, dtype=np.float32), f"s{c}"),
                 numpy_helper.from_array(np.array((mean - 0.5) / 0.5, dtype=np.float32), f"o{c}")]
        nodes += [helper.make_node("Gather", ["x", f"i{c}"], [f"g{c}"], name=f"gather{c}", axis=1),
                  helper.make_node("Unsqueeze", [f"g{c}", "axes"], [f"u{c}"], name=f"unsqueeze{c}"),
                  helper.make_node("Mul", [f"u{c}", f"s{c}"], [f"m{c}"], name=f"mul{c}"),
                  helper.make_node("Add", [f"m{c}", f"o{c}"], [f"t{c}"], name=f"add{c}")]
    nodes += [helper.make_node("Concat", ["t0", "t1", "t2"], ["t"], name="cat", axis=1),
              helper.make_node("Conv", ["t", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"], name="act"),
              helper.make_node("Flatten", ["r"], ["f"], name="flat"),
              helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


FILES = {
    "bad-transform-input.onnx": transform_input(),
    "bad-cycle.onnx": branches("Add", wiring=(["c", "r"], "j")),
    "bad-never-produced.onnx": branches("Add", wiring=(["c", "ghost"], "j")),
    "bad-concat-sizes.onnx": branches("Concat", second_conv=(3, 2)),
    "bad-add-shapes.onnx": branches("Add", second_conv=(4, 1)),
    "seed-branches-add.onnx": branches("Add"),
    "seed-branches-concat.onnx": branches("Concat"),
    "bad-external-data.onnx": net(external=True),
    "bad-conv-groups.onnx": net(conv_attrs={"group": 2}),
    "bad-bias-shape.onnx": net(bias_shape=(5,)),
    "bad-unsupported-op.onnx": net(op="Sigmoid"),
    "bad-opset-9.onnx": net(opset=9),
    "seed-conv-net.onnx": net(),
}


def main(argv):
    if len(argv) != 1:
        print("usage: make_bad_onnx.py DIR", file=sys.stderr)
        return 2
    for name, model in FILES.items():
        save(model, os.path.join(argv[0], name))
    print(f"make_bad_onnx: wrote {len(FILES)} files to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
