#!/usr/bin/env python3
"""seed_networks.py — the networks of vggc's founding documents, written as the documents write them (module
names, layer order, activations as modules or as function calls; ../shared/SEED_NETWORKS.md), and the files a
conformance case needs from one of them.

    seed_networks.py export NET --seed S --weights W.safetensors --input X.npy --reference R.npy [--onnx M.onnx]
                            [--batch N] [--opset K]
    seed_networks.py params NET            (prints sum(p.numel() for p in model.parameters()))

NET is one of: lenet5, alexnet_torchvision, alexnet_document, cifar_vgg16_first, cifar_vgg16_bn, vgg11_document,
the small networks that use every general layer: ops_strided, ops_pools, ops_padded, tiny_lenet (what vggc
import reads) and ops_every_layer (with LocalResponseNorm, which torch exports as ops vggc does not import), and the
networks that branch: inception_seed and basicblock_seed (small networks around the document's Inception module and
BasicBlock), ops_graph (joins that are copied or run on their own), torchvision's resnet18 and googlenet (without
its auxiliary heads; transform_input False).
Weights: torch.manual_seed(S) before building (PyTorch's own init), then seeded conv/linear biases and BatchNorm
statistics (so a bias or BN that never loads cannot pass). The state_dict is written as safetensors under its own
names (the user's state_dict, loaded by name); the input is torch.randn after torch.manual_seed(S); the reference is
the eval-mode output computed in float64; --onnx writes torch.onnx.export of the float32 model (opset 13, the
batch of the input), the file `vggc import` reads.

Needs PyTorch and torchvision: on Debian run it with /usr/bin/python3, or set PYTHON.
"""
import argparse
import importlib.util
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


def vggc_torch():
    """tools/vggc_torch.py as a module: its safetensors and .npy writers."""
    path = os.path.join(os.path.dirname(HERE), "tools", "vggc_torch.py")
    spec = importlib.util.spec_from_file_location("vggc_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- the classic-CNN document ---------------------------------------------------------------------------------

class LeNet5(nn.Module):
    """No activation anywhere, as the document writes it."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential()
        self.layer1.add_module("conv1", nn.Conv2d(1, 6, 5))
        self.layer1.add_module("pool1", nn.MaxPool2d(2, 2))
        self.layer2 = nn.Sequential()
        self.layer2.add_module("conv2", nn.Conv2d(6, 16, 5))
        self.layer2.add_module("pool2", nn.MaxPool2d(2, 2))
        self.layer3 = nn.Sequential()
        self.layer3.add_module("fc1", nn.Linear(400, 120))
        self.layer3.add_module("fc2", nn.Linear(120, 84))
        self.layer3.add_module("fc3", nn.Linear(84, 10))

    def forward(self, x):
        x = self.layer1(x)
        x = self.layer2(x)
        x = x.view(x.size(0), -1)
        return self.layer3(x)


class AlexNet(nn.Module):
    """The document's AlexNet; its last max pool with stride 2 (the document's stride 1 cannot feed 256*6*6)."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), 256 * 6 * 6)
        return self.classifier(x)


# ---- the CIFAR-10 VGG16 document ------------------------------------------------------------------------------

class FirstVGG16(nn.Module):
    """`_VGG16_`: unpadded first conv per block, MaxPool2d(2, stride=2, padding=1), F.relu, F.softmax."""

    def __init__(self, num_classes=10):
        super().__init__()
        blocks = [(1, 3, 64, 2), (2, 64, 128, 2), (3, 128, 256, 3), (4, 256, 512, 3), (5, 512, 512, 3)]
        for n, cin, c, convs in blocks:
            setattr(self, f"conv{n}_1", nn.Conv2d(cin, c, 3))
            for i in range(2, convs + 1):
                setattr(self, f"conv{n}_{i}", nn.Conv2d(c, c, 3, padding=1))
            setattr(self, f"max_pooling_{n}", nn.MaxPool2d(2, stride=2, padding=1))
        self.blocks = [(n, convs) for n, _, _, convs in blocks]
        self.fc1 = nn.Linear(7 * 7 * 512, 4096)
        self.fc2 = nn.Linear(4096, 4096)
        self.fc3 = nn.Linear(4096, num_classes)

    def forward(self, x):
        for n, convs in self.blocks:
            for i in range(1, convs + 1):
                x = F.relu(getattr(self, f"conv{n}_{i}")(x))
            x = getattr(self, f"max_pooling_{n}")(x)
        x = x.view(-1, 7 * 7 * 512)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.softmax(self.fc3(x), dim=1)


class CifarVGG16(nn.Module):
    """The optimized `VGG16`: cfg D with BatchNorm, no avgpool, classifier Dropout-Linear-ReLU x2 + Linear."""

    def __init__(self, num_classes=10):
        super().__init__()
        layers, cin = [], 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(512, 512), nn.ReLU(True),
            nn.Dropout(), nn.Linear(512, 512), nn.ReLU(True),
            nn.Linear(512, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


# ---- the VGG11 document ---------------------------------------------------------------------------------------

class VGG11(nn.Module):
    def __init__(self, in_channels=3, num_classes=1000):
        super().__init__()
        self.conv_layers = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(),
            nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(),
            nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.linear_layers = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout2d(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout2d(0.5),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.conv_layers(x)
        x = x.view(x.size(0), -1)
        return self.linear_layers(x)


# ---- the classic-CNN document's Inception module and ResNet BasicBlock, and small networks around them -------

class BasicConv2d(nn.Module):
    """Conv2d without bias -> BatchNorm2d(eps=0.001) -> F.relu, as the document's Inception module uses it."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        return F.relu(x, inplace=True)


class Inception(nn.Module):
    """The document's Inception(in_channels, pool_features): 64 + 96 + 64 + pool_features channels out."""

    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1X1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5X5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5X5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3X3_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3X3_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        branch1X1 = self.branch1X1(x)
        branch5X5 = self.branch5X5_1(x)
        branch5X5 = self.branch5X5_2(branch5X5)
        branch3X3 = self.branch3X3_1(x)
        branch3X3 = self.branch3X3_2(branch3X3)
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        branch_pool = self.branch_pool(branch_pool)
        outputs = [branch1X1, branch3X3, branch5X5, branch_pool]
        return torch.cat(outputs, 1)


class InceptionNet(nn.Module):
    """A stem, the document's Inception module (pool_features 20: 244 channels, the last range not a multiple of
    16), a strided max pool and a classifier (tests/models/inception_seed.lua)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = BasicConv2d(3, 24, kernel_size=3, padding=1)
        self.inception = Inception(24, pool_features=20)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.fc = nn.Linear(244, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.inception(x)
        x = self.pool(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(x)


class BasicBlock(nn.Module):
    """The document's ResNet BasicBlock: residual = x or downsample(x); out += residual; relu."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        out = self.relu(out)
        return out


class BlockNet(nn.Module):
    """A stem and two BasicBlocks, the second with a strided 1x1 downsample, on channel counts that are not
    multiples of 16 (tests/models/basicblock_seed.lua)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(12)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(12, 12)
        self.layer2 = BasicBlock(12, 20, stride=2, downsample=nn.Sequential(
            nn.Conv2d(12, 20, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(20)))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(20, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class OpsGraph(nn.Module):
    """The joins the fast paths cannot make in place or fuse (tests/models/ops_graph.lua): a Concat whose inputs are
    copied (12 channels, then 20 starting inside a block, then a max pool of the input), an Add whose other input
    is the network's input (fused, the input converted to the blocked layout) and an Add of two ReLUs' outputs."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.a = nn.Conv2d(3, 12, 3, padding=1)
        self.b = nn.Conv2d(3, 20, 1)
        self.c = nn.Conv2d(35, 3, 3, padding=1)
        self.d = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(12, num_classes)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), F.relu(self.b(x)), F.max_pool2d(x, 3, 1, 1)], 1)
        z = self.c(y) + x
        v = F.relu(F.relu(self.d(z)) + F.relu(z))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(v, 2), 1))


# ---- small networks that use every general layer (vggc import's op coverage) ---------------------------------

class View(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class PadThen(nn.Module):
    """F.pad with zeros, then the module."""

    def __init__(self, module, pad):
        super().__init__()
        self.module, self.pad = module, pad

    def forward(self, x):
        return self.module(F.pad(x, self.pad))


class MatMulAdd(nn.Module):
    """x @ w + b with an (in, out) weight: ONNX MatMul + Add."""

    def __init__(self, fin, fout):
        super().__init__()
        self.w = nn.Parameter(torch.randn(fin, fout) * 0.1)
        self.b = nn.Parameter(torch.randn(fout) * 0.1)

    def forward(self, x):
        return torch.matmul(x, self.w) + self.b


def ops_strided():
    """Stride, asymmetric padding, no bias, dilation, a ceil-mode max pool, a global average pool, softmax."""
    return nn.Sequential(nn.Conv2d(3, 4, 5, stride=2, padding=(1, 2), bias=False), nn.ReLU(),
                         nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Conv2d(4, 4, 3, dilation=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3), nn.Softmax(dim=1))


def ops_pools():
    """BatchNorm after a conv, average pools with and without counting the padding, in ceil mode, a padded max."""
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.AvgPool2d(3, stride=2, padding=1), nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
                         nn.MaxPool2d(2, stride=1, padding=1), nn.Flatten(), nn.Dropout(), nn.Linear(60, 5))


def ops_padded():
    """F.pad before a conv, a max pool and an average pool; a MatMul + Add head."""
    return nn.Sequential(PadThen(nn.Conv2d(2, 2, 3), (1, 2, 0, 1)), nn.ReLU(), PadThen(nn.MaxPool2d(2), (1, 1, 1, 1)),
                         PadThen(nn.AvgPool2d(3), (1, 1, 1, 1)), View(), MatMulAdd(8, 3))


def ops_every_layer():
    """One of each general layer as an nn.Sequential (tests/models/ops_every_layer.lua, by name)."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, eps=1e-3), nn.ReLU(),
                         nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.ReLU(),
                         nn.LocalResponseNorm(3, alpha=1e-3, beta=0.75, k=2.0),
                         nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                         nn.Conv2d(8, 8, (3, 1), stride=(2, 1), padding=(0, 1), dilation=(1, 2)), nn.Dropout2d(),
                         nn.Flatten(), nn.Linear(192, 6, bias=False), nn.Softmax(dim=1))


def keep_signal(model):
    """He init (fan in) for every conv: torchvision's googlenet init (std 0.01) shrinks the signal so much through
    22 layers that the output no longer depends on the input (relative change 2e-12 between two inputs), which
    would leave the convs' weights untested."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    return model


def tiny_lenet():
    return nn.Sequential(nn.Conv2d(1, 2, 5), nn.MaxPool2d(2, 2), nn.Conv2d(2, 3, 5), nn.MaxPool2d(2, 2), View(),
                         nn.Linear(75, 8), nn.Linear(8, 4))


# NET -> (constructor, input C x H x W)
NETS = {
    "lenet5": (LeNet5, (1, 32, 32)),
    "alexnet_torchvision": (lambda: torchvision.models.alexnet(weights=None), (3, 224, 224)),
    "alexnet_document": (AlexNet, (3, 224, 224)),
    "cifar_vgg16_first": (FirstVGG16, (3, 224, 224)),
    "cifar_vgg16_bn": (CifarVGG16, (3, 32, 32)),
    "vgg11_document": (VGG11, (3, 224, 224)),
    "ops_strided": (ops_strided, (3, 23, 19)),
    "ops_pools": (ops_pools, (2, 11, 13)),
    "ops_padded": (ops_padded, (2, 9, 8)),
    "tiny_lenet": (tiny_lenet, (1, 32, 32)),
    "ops_every_layer": (ops_every_layer, (3, 13, 11)),
    "inception_seed": (InceptionNet, (3, 15, 13)),
    "ops_graph": (OpsGraph, (3, 8, 10)),
    "basicblock_seed": (BlockNet, (3, 17, 15)),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (3, 224, 224)),
    "googlenet": (lambda: keep_signal(torchvision.models.googlenet(weights=None, aux_logits=False,
                                                                    init_weights=True)), (3, 224, 224)),
}


def randomize(model):
    """Seeded biases and BatchNorm statistics and affine terms (PyTorch's init leaves BN at the identity)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.05, 0.05)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.25, 0.25)
                m.running_mean.uniform_(-0.25, 0.25)
                m.running_var.uniform_(0.5, 1.5)


def build(name, seed):
    make, chw = NETS[name]
    torch.manual_seed(seed)
    model = make()
    randomize(model)
    return model.eval(), chw


def export_onnx(model, x, path, opset=13):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.from_numpy(x), path, opset_version=opset, input_names=["input"],
                          output_names=["output"])
    print(f"seed_networks: wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


def export(args):
    tool = vggc_torch()
    model, chw = build(args.net, args.seed)
    state = model.state_dict()
    tool.write_safetensors(args.weights, state, torch.float32, {"format": "pt", "producer": "seed_networks",
                                                                "source": f"{args.net} seed {args.seed}"})
    torch.manual_seed(args.seed)
    x = torch.randn([args.batch, *chw], dtype=torch.float32).numpy()
    tool.write_npy(args.input, x)
    if args.onnx:
        export_onnx(model, x, args.onnx, args.opset)
    with torch.no_grad():
        y = model.double()(torch.from_numpy(x).double()).numpy()
    tool.write_npy(args.reference, y)


def main(argv):
    p = argparse.ArgumentParser(prog="seed_networks.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("net", choices=sorted(NETS))
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--weights", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--reference", required=True)
    e.add_argument("--onnx")
    e.add_argument("--opset", type=int, default=13)
    c = sub.add_parser("params")
    c.add_argument("net", choices=sorted(NETS))
    args = p.parse_args(argv)
    if args.command == "params":
        print(sum(p.numel() for p in build(args.net, 0)[0].parameters()))
        return 0
    export(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
