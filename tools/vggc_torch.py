#!/usr/bin/env python3
"""vggc_torch.py — PyTorch side of vggc: export weights, inputs and float64 references for a VGG model.

    vggc_torch.py export (--torchvision NAME [--classes N] | --model-json FILE) [--state-dict FILE [--by-order]]
                         [--seed S] [--bn-random | --no-bn-random] [--bias-random]
                         [--weights OUT.safetensors [--dtype F32|F16|BF16]]
                         [--batch N] [--shape CxHxW] [--input OUT.npy | --input-from X.npy] [--reference OUT.npy]
                         [--onnx OUT.onnx]
    vggc_torch.py export --state-dict FILE --weights OUT.safetensors      (convert any state_dict, in its order)
    vggc_torch.py check-names --model-json FILE --torchvision NAME

The model comes from torchvision (its own init), from the JSON that `vggc report MODEL --json` prints, or from
a pickled full model given to --state-dict. Weights are seeded init (torch.manual_seed(S) before building) or the
user's trained state_dict. The input is torch.randn after torch.manual_seed(S) again; the reference is the
eval-mode output computed in float64 from the float32 weights and input (after rounding the weights to --dtype).
--onnx writes the same model (same weights) with torch.onnx.export, in eval mode, for the input's fixed shape.

Needs PyTorch and torchvision: on Debian run it with /usr/bin/python3, or set PYTHON to an interpreter that has them.
"""
import argparse
import collections
import contextlib
import json
import os
import pickle
import re
import sys
import tempfile

TORCH_MISSING = ("vggc_torch: PyTorch is not importable by {}; run with /usr/bin/python3 (Debian's python3-torch) "
                 "or set PYTHON")


def reexec_or_exit():
    """Torch is missing here: re-run under $PYTHON if that names another interpreter, else explain and exit 2."""
    other = os.environ.get("PYTHON")
    if other and os.environ.get("VGGC_TORCH_REEXEC") != "1":
        same = os.path.realpath(other) == os.path.realpath(sys.executable)
        if not same:
            os.environ["VGGC_TORCH_REEXEC"] = "1"
            try:
                os.execvp(other, [other, os.path.abspath(__file__)] + sys.argv[1:])
            except OSError as e:
                print(f"vggc_torch: PYTHON={other} cannot be run ({e.strerror})", file=sys.stderr)
                sys.exit(2)
    print(TORCH_MISSING.format(sys.executable), file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torchvision
except ImportError:
    reexec_or_exit()


ONNX_OPSET = 14  # torch 1.13's default, fixed so that a newer torch exports the same graph
PRESETS = ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "alexnet", "resnet18",
           "googlenet"]
# torchvision's own arguments that make its model vggc's preset: googlenet without the auxiliary heads (which only
# training runs), with torchvision's init (init_weights=True: the same as the default, without its FutureWarning)
PRESET_OPTIONS = {"googlenet": {"aux_logits": False, "init_weights": True}}
OUT_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                      torch.uint8: "U8", torch.bool: "BOOL"}


class ToolError(Exception):
    """A user's mistake: printed as one line `vggc_torch: <where>: <what> (<expected>)`, exit 1."""


# ---- models from vggc's JSON ---------------------------------------------------------------------------------

class JsonVGG(nn.Module):
    """features -> avgpool (if any) -> flatten -> classifier, named like torchvision's VGG."""

    def __init__(self, features, avgpool, classifier):
        super().__init__()
        self.features = features
        if avgpool is not None:
            self.avgpool = avgpool
        else:
            self.avgpool = None
        self.classifier = classifier

    def forward(self, x):
        x = self.features(x)
        if self.avgpool is not None:
            x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def conv2d(m):
    k = pair(m["kernel_size"])
    pad = m.get("padding", [k[0] // 2, k[1] // 2])
    return nn.Conv2d(m["in_channels"], m["out_channels"], kernel_size=k, stride=pair(m.get("stride", 1)),
                     padding=pair(pad), bias=m.get("bias", True))


MODULE_KINDS = {  # type -> (required keys, constructor)
    "Conv2d": (("in_channels", "out_channels", "kernel_size"), conv2d),
    "BatchNorm2d": (("num_features",), lambda m: nn.BatchNorm2d(m["num_features"], eps=m.get("eps", 1e-5))),
    "ReLU": ((), lambda m: nn.ReLU(inplace=True)),
    "LocalResponseNorm": (("size",), lambda m: nn.LocalResponseNorm(m["size"], alpha=m.get("alpha", 1e-4),
                                                                    beta=m.get("beta", 0.75), k=m.get("k", 1.0))),
    "MaxPool2d": (("kernel_size",), lambda m: nn.MaxPool2d(pair(m["kernel_size"]),
                                                           stride=pair(m.get("stride", m["kernel_size"])),
                                                           padding=pair(m.get("padding", 0)),
                                                           ceil_mode=m.get("ceil_mode", False))),
    "AdaptiveAvgPool2d": (("output_size",), lambda m: nn.AdaptiveAvgPool2d(pair(m["output_size"]))),
    "Linear": (("in_features", "out_features"), lambda m: nn.Linear(m["in_features"], m["out_features"],
                                                                     bias=m.get("bias", True))),
    "Dropout": ((), lambda m: nn.Dropout(p=m.get("p", 0.5))),
}
SECTION_ORDER = {"features": 0, "avgpool": 1, "classifier": 2}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise ToolError(f"{path}: cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        raise ToolError(f"{path}:{e.lineno}: not JSON ({e.msg})")


def module_section(desc, where):
    """'features.3' -> ('features', '3'); 'avgpool' -> ('avgpool', None)."""
    name = desc.get("name")
    m = re.fullmatch(r"(features|classifier)\.(\d+)|(avgpool)", name or "")
    if not m:
        raise ToolError(f"{where}: name {name!r} is not features.<i>, avgpool or classifier.<i>")
    if m.group(3):
        if desc.get("type") != "AdaptiveAvgPool2d":
            raise ToolError(f"{where}: avgpool is a {desc.get('type')} (expected AdaptiveAvgPool2d)")
        return "avgpool", None
    return m.group(1), m.group(2)


def build_module(desc, where):
    kind = desc.get("type")
    if kind not in MODULE_KINDS:
        raise ToolError(f"{where}: unknown type {kind!r} (expected one of {', '.join(MODULE_KINDS)})")
    required, make = MODULE_KINDS[kind]
    missing = [k for k in required if k not in desc]
    if missing:
        raise ToolError(f"{where}: {kind} lacks {', '.join(missing)} (it needs {', '.join(required)})")
    return make(desc)


def model_from_json(doc, path):
    """Build the modules in order (so seeded init matches torchvision's), then init like torchvision."""
    modules = doc.get("modules")
    if not isinstance(modules, list) or not modules:
        raise ToolError(f"{path}: no \"modules\" list (expected the output of `vggc report MODEL --json`)")
    parts = {"features": collections.OrderedDict(), "avgpool": None, "classifier": collections.OrderedDict()}
    last = 0
    for i, desc in enumerate(modules):
        where = f"{path}: modules[{i}] ({desc.get('name')})" if isinstance(desc, dict) else f"{path}: modules[{i}]"
        if not isinstance(desc, dict):
            raise ToolError(f"{where}: not an object")
        section, index = module_section(desc, where)
        if SECTION_ORDER[section] < last:
            raise ToolError(f"{where}: {section} after a later part (expected features, avgpool, classifier)")
        last = SECTION_ORDER[section]
        if section == "avgpool":
            parts["avgpool"] = build_module(desc, where)
        elif index in parts[section]:
            raise ToolError(f"{where}: {desc['name']} appears twice")
        else:
            parts[section][index] = build_module(desc, where)
    model = JsonVGG(nn.Sequential(parts["features"]), parts["avgpool"], nn.Sequential(parts["classifier"]))
    init_like_torchvision(model)
    return model


def init_like_torchvision(model):
    """torchvision's VGG._initialize_weights."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)


# ---- model and weights: where they come from ------------------------------------------------------------------

@contextlib.contextmanager
def no_init():
    """Skip every torch.nn.init call while building: for models whose weights are loaded or never used."""
    names = ["kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_", "constant_", "ones_", "zeros_"]
    saved = {n: getattr(nn.init, n) for n in names}
    try:
        for n in names:
            setattr(nn.init, n, lambda tensor, *a, **k: tensor)
        yield
    finally:
        for n, f in saved.items():
            setattr(nn.init, n, f)


def torchvision_model(name, classes):
    if name not in PRESETS:
        raise ToolError(f"--torchvision {name}: not a preset (expected one of {' '.join(PRESETS)})")
    return getattr(torchvision.models, name)(weights=None, num_classes=classes or 1000, **PRESET_OPTIONS.get(name, {}))


def randomize_batchnorm(model):
    """Seeded BN statistics and affine terms, so the BN fold is really exercised: var and gamma in [0.5, 1.5]."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.25, 0.25)
                m.running_mean.uniform_(-0.25, 0.25)
                m.running_var.uniform_(0.5, 1.5)


def randomize_biases(model):
    """Seeded conv and linear biases (torchvision's init zeroes them, which would hide a bias that never loads).
    Scaled below the activations they join (conv ~0.2 rms, classifier 1e-3..1e-1) so they don't drown the input."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.uniform_(-0.05, 0.05)
            elif isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.uniform_(-0.001, 0.001)


def state_dict_of(obj, path):
    """A torch.load result -> (model or None, state_dict). Accepts a module, a state_dict or a checkpoint dict."""
    if isinstance(obj, nn.Module):
        return obj, obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, nn.Module)) and not torch.is_tensor(obj[key]):
                return state_dict_of(obj[key], path)
        if obj and all(torch.is_tensor(v) for v in obj.values()):
            if all(k.startswith("module.") for k in obj):  # saved from nn.DataParallel
                obj = collections.OrderedDict((k[len("module."):], v) for k, v in obj.items())
            return None, obj
    raise ToolError(f"{path}: neither a state_dict nor a model (got {type(obj).__name__})")


def load_state(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ToolError(f"{path}: cannot load with torch.load ({str(e).splitlines()[0]})")
    except (AttributeError, ImportError) as e:
        raise ToolError(f"{path}: cannot unpickle the model ({e}; save model.state_dict() instead)")
    return state_dict_of(obj, path)


def counted(name):
    """BatchNorm's step counter: not a weight, and absent from state_dicts saved before torch 0.4.1."""
    return name.endswith(".num_batches_tracked")


def copy_by_order(model, state, path):
    """Load state into model pairing tensors by position; names may differ, shapes may not."""
    mine = [(k, v) for k, v in model.state_dict().items() if not counted(k)]
    theirs = [(k, v) for k, v in state.items() if not counted(k)]
    if len(mine) != len(theirs):
        raise ToolError(f"{path}: {len(theirs)} tensors (the model has {len(mine)})")
    with torch.no_grad():
        for i, ((name, dst), (src_name, src)) in enumerate(zip(mine, theirs)):
            if dst.shape != src.shape:
                raise ToolError(f"{path}: tensor {i} {src_name} is {tuple(src.shape)} "
                                f"(the model's {name} is {tuple(dst.shape)})")
            dst.copy_(src)


def load_into(model, state, path, by_order):
    if by_order:
        return copy_by_order(model, state, path)
    mine = model.state_dict()
    missing = [k for k in mine if k not in state and not counted(k)]
    extra = [k for k in state if k not in mine]
    if missing or extra:
        what = f"lacks {missing[0]}" if missing else f"has {extra[0]}, which the model does not"
        raise ToolError(f"{path}: {what} ({len(missing)} missing, {len(extra)} unexpected; "
                        "names differ? try --by-order)")
    for k, v in state.items():
        if v.shape != mine[k].shape:
            raise ToolError(f"{path}: {k} is {tuple(v.shape)} (the model's is {tuple(mine[k].shape)})")
    model.load_state_dict(state, strict=False)  # names checked above; counters may be absent


def build_model(args):
    """(model or None, state_dict, json doc or None, description) from the export options."""
    doc = read_json(args.model_json) if args.model_json else None
    torch.manual_seed(args.seed)
    loading = args.state_dict is not None
    with no_init() if loading else contextlib.nullcontext():
        if doc is not None:
            model = model_from_json(doc, args.model_json)
        elif args.torchvision:
            model = torchvision_model(args.torchvision, args.classes)
        else:
            model = None
    if loading:
        loaded, state = load_state(args.state_dict)
        if model is None:
            return loaded, state, doc, f"state_dict {os.path.basename(args.state_dict)}"
        load_into(model, state, args.state_dict, args.by_order)
        return model, model.state_dict(), doc, f"state_dict {os.path.basename(args.state_dict)}"
    bn_random = args.bn_random if args.bn_random is not None else doc is not None
    if bn_random:
        randomize_batchnorm(model)
    if args.bias_random:
        randomize_biases(model)
    source = args.torchvision or doc.get("name", os.path.basename(args.model_json))
    desc = f"{source} seed {args.seed}{' bn-random' if bn_random else ''}{' bias-random' if args.bias_random else ''}"
    return model, model.state_dict(), doc, desc


# ---- writing files ------------------------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_output(path):
    """Yield a binary file in path's directory; on success it replaces path, on failure it disappears."""
    d = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".")
    except OSError as e:
        raise ToolError(f"{path}: cannot write ({e.strerror})")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def stored(tensor, out_dtype):
    """The tensor as it is written: float tensors in out_dtype, others in their own dtype; little-endian numpy."""
    t = tensor.detach().cpu()
    if t.is_floating_point():
        t = t.to(out_dtype)
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: write its bits
        a = t.view(torch.int16).numpy()
    else:
        a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<"), copy=False)


def stored_dtype(tensor, out_dtype):
    dt = out_dtype if tensor.is_floating_point() else tensor.dtype
    if dt not in SAFETENSORS_DTYPES:
        raise ToolError(f"tensor of dtype {dt} has no safetensors name")
    return dt


def safetensors_header(state, out_dtype, metadata):
    header, offset = {"__metadata__": metadata}, 0
    for name, t in state.items():
        dt = stored_dtype(t, out_dtype)
        size = t.numel() * torch.empty((), dtype=dt).element_size()
        header[name] = {"dtype": SAFETENSORS_DTYPES[dt], "shape": list(t.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8), offset


def write_safetensors(path, state, out_dtype, metadata):
    header, size = safetensors_header(state, out_dtype, metadata)
    with atomic_output(path) as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        for t in state.values():
            f.write(stored(t, out_dtype).data)
    print(f"vggc_torch: wrote {path} ({len(state)} tensors, {size / 1e6:.1f} MB of data, "
          f"floats as {SAFETENSORS_DTYPES[out_dtype]})")


def write_npy(path, array):
    with atomic_output(path) as f:
        np.save(f, array)
    shape = "x".join(str(d) for d in array.shape)
    print(f"vggc_torch: wrote {path} ({shape} {array.dtype})")


# ---- input and reference ------------------------------------------------------------------------------------

def parse_shape(text, option):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text or "")
    if not m or 0 in [int(g) for g in m.groups()]:
        raise ToolError(f"{option} {text}: not a shape (expected CxHxW, e.g. 3x224x224)")
    return [int(g) for g in m.groups()]


def image_shape(args, doc):
    """[C, H, W] the model's input must have: --shape, else the JSON's, else None (any)."""
    chw = parse_shape(args.shape, "--shape") if args.shape else None
    if doc is not None and "input" in doc:
        if chw is not None and list(doc["input"]) != chw:
            raise ToolError(f"--shape {args.shape}: the model is for {'x'.join(map(str, doc['input']))}")
        return list(doc["input"])
    return chw


def read_input(path, chw, batch):
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ToolError(f"{path}: cannot read as .npy ({e})")
    if x.dtype != np.float32 or x.ndim != 4:
        raise ToolError(f"{path}: {x.dtype} of rank {x.ndim} (expected float32 (N, C, H, W))")
    if chw is not None and list(x.shape[1:]) != chw:
        raise ToolError(f"{path}: input is {tuple(x.shape)} (the model takes (N, {', '.join(map(str, chw))}))")
    if batch is not None and x.shape[0] != batch:
        raise ToolError(f"{path}: {x.shape[0]} images (--batch says {batch})")
    return x


def make_input(args, doc):
    chw = image_shape(args, doc)
    if args.input_from:
        return read_input(args.input_from, chw, args.batch)
    if chw is None and args.torchvision:
        chw = [3, 224, 224]
    if chw is None:
        raise ToolError("--shape: needed to make an input for this model (expected CxHxW)")
    batch = args.batch or (doc or {}).get("batch") or 1
    torch.manual_seed(args.seed)
    return torch.randn([batch] + chw, dtype=torch.float32).numpy()


def round_weights(model, out_dtype):
    """Make the model hold what the loader will read when floats are written in a half type."""
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(out_dtype).to(t.dtype))


def linear_rows(model, x, group=16):
    """For each nn.Linear in forward order: its in_features and the fraction of its rows of weights that the
    runtime's vggc_dense reads for input x, i.e. of its inputs non-zero in some image of each group of 16."""
    found = []

    def hook(module, inputs, _output):
        v = inputs[0].detach().flatten(1)
        groups = range(0, v.shape[0], group)
        live = sum(int((v[g:g + group] != 0).any(0).sum()) for g in groups)
        found.append({"in_features": v.shape[1], "rows_read": live / (len(groups) * v.shape[1])})

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        model.eval()(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    return found


def reference(model, x):
    model = model.double().eval()
    with torch.no_grad():
        try:
            y = model(torch.from_numpy(x).double())
        except RuntimeError as e:
            raise ToolError(f"model: forward on input {tuple(x.shape)} failed ({str(e).splitlines()[0]})")
    return y.numpy()


# ---- commands -----------------------------------------------------------------------------------------------

def check_export_args(args):
    if args.torchvision and args.model_json:
        raise ToolError("export: --torchvision and --model-json both given (expected one model)")
    if not (args.torchvision or args.model_json or args.state_dict):
        raise ToolError("export: no model (expected --torchvision NAME, --model-json FILE or --state-dict FILE)")
    if args.classes is not None and not args.torchvision:
        raise ToolError("--classes: only with --torchvision (a JSON model carries its classes)")
    if args.by_order and not (args.state_dict and (args.torchvision or args.model_json)):
        raise ToolError("--by-order: only when loading --state-dict into --torchvision or --model-json")
    if not (args.weights or args.input or args.reference or args.onnx or args.linear_rows):
        raise ToolError("export: nothing to write (expected --weights, --input, --reference, --onnx or --linear-rows)")


def write_onnx(path, model, x):
    """The eval-mode model as ONNX for x's fixed shape: one input "input", one output "output"."""
    model.eval()
    with atomic_output(path) as f, torch.no_grad():
        try:
            torch.onnx.export(model, torch.from_numpy(x), f, opset_version=ONNX_OPSET, input_names=["input"],
                              output_names=["output"])
        except (RuntimeError, torch.onnx.errors.OnnxExporterError) as e:
            raise ToolError(f"{path}: torch.onnx.export failed ({str(e).splitlines()[0]})")
        size = f.tell()
    shape = "x".join(str(d) for d in x.shape)
    print(f"vggc_torch: wrote {path} (ONNX opset {ONNX_OPSET}, input {shape}, {size / 1e6:.1f} MB)")


def export(args):
    check_export_args(args)
    out_dtype = OUT_DTYPES[args.dtype]
    model, state, doc, desc = build_model(args)
    if model is None and (args.input or args.reference or args.onnx or args.linear_rows):
        raise ToolError(f"{args.state_dict}: a state_dict alone cannot run (add --torchvision or --model-json)")
    if args.weights:
        meta = {"format": "pt", "producer": "vggc_torch", "source": desc, "torch": torch.__version__}
        write_safetensors(args.weights, state, out_dtype, meta)
    if not (args.input or args.reference or args.onnx or args.linear_rows):
        return
    x = make_input(args, doc)
    if args.input:
        write_npy(args.input, x)
    if args.linear_rows:
        with atomic_output(args.linear_rows) as f:
            f.write(json.dumps(linear_rows(model, x)).encode())
    if out_dtype != torch.float32 and (args.reference or args.onnx):
        round_weights(model, out_dtype)
    if args.onnx:
        write_onnx(args.onnx, model, x)
    if args.reference:
        write_npy(args.reference, reference(model, x))


def check_names(args):
    doc = read_json(args.model_json)
    with no_init():
        mine = model_from_json(doc, args.model_json).state_dict()
        theirs = torchvision_model(args.torchvision, doc.get("classes", 1000)).state_dict()
    a = [(k, tuple(v.shape)) for k, v in mine.items()]
    b = [(k, tuple(v.shape)) for k, v in theirs.items()]
    if a == b:
        print(f"check-names: {args.model_json} matches torchvision {args.torchvision}: "
              f"{len(a)} tensors, same names and shapes in the same order")
        return 0
    print(f"check-names: {args.model_json} differs from torchvision {args.torchvision} "
          f"({len(a)} tensors vs {len(b)})")
    missing = ("(none)", "")
    pairs = [(a[i] if i < len(a) else missing, b[i] if i < len(b) else missing) for i in range(max(len(a), len(b)))]
    diffs = [(i, x, y) for i, (x, y) in enumerate(pairs) if x != y]
    for i, x, y in diffs[:5]:
        print(f"  #{i}: {x[0]} {x[1]} vs torchvision {y[0]} {y[1]}")
    return 1


def parser():
    p = argparse.ArgumentParser(prog="vggc_torch.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write weights (safetensors), an input and a float64 reference (.npy)")
    e.add_argument("--torchvision", metavar="NAME", help=f"torchvision.models.NAME(weights=None): {' '.join(PRESETS)}")
    e.add_argument("--classes", type=int, metavar="N", help="num_classes of the torchvision model (default 1000)")
    e.add_argument("--model-json", metavar="FILE", help="the model from `vggc report MODEL --json`")
    e.add_argument("--state-dict", metavar="FILE", help="torch.save'd state_dict or full model instead of init")
    e.add_argument("--by-order", action="store_true", help="load --state-dict into the model by position, not name")
    e.add_argument("--seed", type=int, default=0, metavar="S", help="torch.manual_seed for init and input (0)")
    e.add_argument("--bn-random", action=argparse.BooleanOptionalAction, default=None,
                   help="seeded BatchNorm statistics and affine terms (default: on for --model-json, "
                        "off for --torchvision)")
    e.add_argument("--bias-random", action="store_true", help="seeded conv/linear biases instead of zeros")
    e.add_argument("--weights", metavar="OUT.safetensors", help="write the state_dict as safetensors")
    e.add_argument("--dtype", choices=list(OUT_DTYPES), default="F32", help="float dtype in --weights (F32)")
    e.add_argument("--batch", type=int, metavar="N", help="images in the input (the JSON's batch, else 1)")
    e.add_argument("--shape", metavar="CxHxW", help="input image shape (the JSON's, else 3x224x224)")
    e.add_argument("--input", metavar="OUT.npy", help="write the float32 input (N, C, H, W)")
    e.add_argument("--input-from", metavar="X.npy", help="use this float32 input instead of a random one")
    e.add_argument("--reference", metavar="OUT.npy", help="write the float64 eval-mode output (N, classes)")
    e.add_argument("--onnx", metavar="OUT.onnx", help="write the model as ONNX (torch.onnx.export, fixed input shape)")
    e.add_argument("--linear-rows", metavar="OUT.json", help="write, per Linear, the fraction of its weight rows the "
                   "runtime reads for this input (inputs non-zero in some image of a group of 16)")
    c = sub.add_parser("check-names", help="do the JSON model's state_dict names and shapes equal torchvision's?")
    c.add_argument("--model-json", metavar="FILE", required=True)
    c.add_argument("--torchvision", metavar="NAME", required=True)
    return p


def main(argv):
    args = parser().parse_args(argv)
    try:
        if args.command == "export":
            export(args)
            return 0
        return check_names(args)
    except ToolError as e:
        print(f"vggc_torch: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
