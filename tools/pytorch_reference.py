#!/usr/bin/env python3
"""PyTorch references for `convc run`: weights exactly as PyTorch saves them, an input and PyTorch's output.

Usage:
  tools/pytorch_reference.py fixture OUTDIR          a tiny torchvision-style ResNet (3×16×16 → 10 classes):
                                                     tiny_resnet.yaml, tiny_resnet.safetensors,
                                                     tiny_resnet_dataparallel.safetensors, input.npy, output.npy
  tools/pytorch_reference.py torchvision MODEL OUTDIR  torchvision.models.MODEL(weights=None):
                                                     MODEL.safetensors, input.npy [1, 3, 224, 224], output.npy
  tools/pytorch_reference.py compare A.npy B.npy     max |A − B|, max |B|, and their ratio (max |B| at least 1);
                                                     exit status 1 when the ratio is above 1e-4

The weights are `model.state_dict()` written by `safetensors.torch.save_file`, untouched: batch-norm layers keep
their I64 `num_batches_tracked` scalars, which convc must accept and ignore. Every batch norm gets random
statistics (γ and variance in U(0.5, 1.5), β and mean in U(−0.5, 0.5), as `convc init --random-stats`), so
folding into the convs is exercised. Everything is seeded (torch.manual_seed(0)), so a rerun writes the same
files. Needs: pip install torch torchvision safetensors (numpy); no download is made.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn
from torchvision.models.resnet import BasicBlock

SEED = 0

# torchvision models with a spec in specs/ of the same name whose tensor names follow the model's state_dict.
TORCHVISION_MODELS = ("alexnet", "vgg11", "vgg13", "vgg16", "vgg16_bn", "vgg19", "resnet18", "resnet34", "resnet50",
                      "resnet101", "resnet152", "googlenet", "densenet121", "mobilenet_v3_small", "mobilenet_v3_large",
                      "efficientnet_b0", "efficientnet_v2_s", "regnet_y_400mf", "shufflenet_v2_x1_0", "convnext_tiny", "fcn_resnet50",
                      "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
SEGMENTATION_MODELS = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")

TINY_RESNET_SPEC = """\
# A tiny torchvision-style ResNet, the PyTorch reference for loading a state_dict as PyTorch saves it (I64
# num_batches_tracked included, and with DataParallel's `module.` prefix). Written by tools/pytorch_reference.py
# fixture, which builds the same network from torchvision's BasicBlock: names follow torchvision's ResNet
# (conv1, layer1.0.conv1, layer2.0.downsample.0 ...), so its state_dict loads without renaming.
model: tiny_resnet
input: [3, 16, 16]
expect: {{ params: {params}, non_trainable: {non_trainable}, macs: {macs}, output: [{classes}] }}
defaults:
  conv: {{ bias: false }}
blocks:
  # torchvision BasicBlock: two 3×3 convs; a 1×1 projection (downsample) only where the shape changes.
  "basic(filters, stride = 1)":
    - residual:
        body:
          - conv: {{ name: conv1, filters: $filters, kernel: 3, stride: $stride, padding: 1 }}
          - batch_norm: {{ name: bn1 }}
          - relu
          - conv: {{ name: conv2, filters: $filters, kernel: 3, padding: 1 }}
          - batch_norm: {{ name: bn2 }}
        shortcut: auto
    - relu
layers:
  - conv: {{ name: conv1, filters: {stem}, kernel: 3, padding: 1 }}
  - batch_norm: {{ name: bn1 }}
  - relu
  - max_pool: {{ name: maxpool, kernel: 3, stride: 2, padding: 1 }}
  - group: {{ name: layer1, layers: [basic: {{ filters: {stem} }}] }}
  - group: {{ name: layer2, layers: [basic: {{ filters: {wide}, stride: 2 }}] }}
  - adaptive_avg_pool: {{ name: avgpool, output: 1 }}
  - flatten
  - dense: {{ name: fc, units: {classes} }}
"""


class TinyResNet(nn.Module):
    """torchvision's ResNet with two one-block stages and a 3×3 stride-1 stem, for a 3×16×16 input.

    The attributes and forward pass are ResNet's (torchvision/models/resnet.py), so state_dict keys are too;
    torchvision's ResNet itself always has four stages and a 7×7 stem, far too big for a fixture.
    """

    def __init__(self, stem=8, wide=16, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(stem, stem))
        downsample = nn.Sequential(nn.Conv2d(stem, wide, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(wide))
        self.layer2 = nn.Sequential(BasicBlock(stem, wide, stride=2, downsample=downsample))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(wide, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomise_batch_norm(model):
    """Draws every batch norm's γ, β, mean and variance, so that folding them into the conv is tested."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)


def count_macs(model, x):
    """Multiply-accumulates of one sample, counted by PyTorch's own module shapes (convc's convention)."""
    total = 0

    def hook(module, _, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output[0].numel() * module.in_channels // module.groups * kh * kw
        else:
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x[:1])
    for h in handles:
        h.remove()
    return total


def save_npy(path, tensor):
    np.save(path, np.ascontiguousarray(tensor.detach().numpy(), dtype=np.float32))


def fixture(outdir):
    torch.manual_seed(SEED)
    model = TinyResNet()
    # One training-mode pass makes num_batches_tracked 1, as in any trained checkpoint; the statistics it blends
    # in are then overwritten, so the file holds exactly the drawn values.
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 16, 16))
    randomise_batch_norm(model)
    model.eval()

    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        y = model(x)
    if isinstance(y, dict):
        y = y["out"]

    state = model.state_dict()
    assert all(state[k].item() == 1 for k in state if k.endswith("num_batches_tracked"))
    # DataParallel on a CPU-only machine wraps without replicating; its state_dict is what such a checkpoint holds.
    parallel = nn.DataParallel(model).state_dict()
    assert list(parallel) == ["module." + k for k in state]
    assert all(torch.equal(parallel["module." + k], v) for k, v in state.items())

    os.makedirs(outdir, exist_ok=True)
    save_file(state, os.path.join(outdir, "tiny_resnet.safetensors"))
    save_file(parallel, os.path.join(outdir, "tiny_resnet_dataparallel.safetensors"))
    save_npy(os.path.join(outdir, "input.npy"), x)
    save_npy(os.path.join(outdir, "output.npy"), y)

    params = sum(p.numel() for p in model.parameters())
    non_trainable = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    spec = TINY_RESNET_SPEC.format(params=params, non_trainable=non_trainable, macs=count_macs(model, x),
                                   classes=model.fc.out_features, stem=model.conv1.out_channels,
                                   wide=model.fc.in_features)
    with open(os.path.join(outdir, "tiny_resnet.yaml"), "w") as f:
        f.write(spec)
    for name, tensor in state.items():
        print(f"{name}\t{str(tensor.dtype).removeprefix('torch.')}\t{list(tensor.shape)}")


def torchvision_model(name, outdir):
    torch.manual_seed(SEED)
    if name == "googlenet":
        # The spec has no aux heads and no input transform. transform_input is already False without
        # pretrained weights; init_weights=True is the current default, stated to skip torchvision's warning.
        model = torchvision.models.googlenet(weights=None, aux_logits=False, transform_input=False, init_weights=True)
    elif name in SEGMENTATION_MODELS:
        # The `out` head only, as the specs have it; no pretrained backbone to download.
        model = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, aux_loss=False)
    else:
        model = getattr(torchvision.models, name)(weights=None)
    randomise_batch_norm(model)
    model.eval()

    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    if isinstance(y, dict):
        y = y["out"]

    os.makedirs(outdir, exist_ok=True)
    save_file(model.state_dict(), os.path.join(outdir, f"{name}.safetensors"))
    save_npy(os.path.join(outdir, "input.npy"), x)
    save_npy(os.path.join(outdir, "output.npy"), y)


def compare(a_path, b_path):
    a, b = np.load(a_path), np.load(b_path)
    if a.shape != b.shape:
        print(f"shapes differ: {list(a.shape)} and {list(b.shape)}")
        return 1
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
    scale = float(np.max(np.abs(b)))
    relative = diff / max(1.0, scale)
    print(f"max abs diff {diff:.3e}  max |B| {scale:.3e}  max abs diff / max(1, max |B|) {relative:.3e}")
    return 1 if relative > 1e-4 else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fixture").add_argument("outdir")
    tv = commands.add_parser("torchvision")
    tv.add_argument("model", choices=TORCHVISION_MODELS)
    tv.add_argument("outdir")
    cmp = commands.add_parser("compare")
    cmp.add_argument("a")
    cmp.add_argument("b")
    args = parser.parse_args()

    if args.command == "fixture":
        fixture(args.outdir)
    elif args.command == "torchvision":
        torchvision_model(args.model, args.outdir)
    else:
        return compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
