"""The workloads' models as torch.nn modules (the hand loop's and Lightning's), and their FLOPs.

The modules match the Keras models layer for layer (images NCHW instead of NHWC; 3x3 stride-2
'same' convolutions pad 1 on both sides instead of TF's 0/1, which gives the same shapes and
FLOPs), end in logits (cross-entropy is taken from logits, the fast form a PyTorch user writes),
and are initialized as Keras initializes: Glorot-uniform kernels, zero biases; BatchNormalization
has the Keras model's momentum 0.9 (torch's 0.1) and Keras's epsilon 1e-3.

FLOPs are counted from the layer shapes: multiply-accumulates of every Linear and Conv2d, one
forward = 2 x MACs, a training step = 3 x forward (backward about twice the forward); pooling,
activations, normalization and the optimizer are left out.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.keras_models import MLP_UNITS, RESNET_STAGES


def _keras_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.1)


def mlp() -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = 28 * 28
    for units in MLP_UNITS:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(5 * 5 * 64, 10),
    )


class Block(nn.Module):
    def __init__(self, channels: int, filters: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.bn2 = _bn(filters)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or filters != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(channels, filters, 1, stride=stride, bias=False), _bn(filters))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


def resnet() -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(1, 16, 3, padding=1, bias=False), _bn(16), nn.ReLU()]
    channels = 16
    for filters, stride in RESNET_STAGES:
        layers.append(Block(channels, filters, stride))
        channels = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


def tiny(features: int) -> nn.Module:
    return nn.Linear(features, 10)


def build(workload: str, features: int = 0) -> nn.Module:
    """The torch model of a workload, Keras-initialized (seed torch first for a repeatable init)."""
    builders = {"mlp": mlp, "predict": mlp, "cnn": cnn, "resnet": resnet}
    model = tiny(features) if workload == "overhead" else builders[workload]()
    return _keras_init(model)


def input_shape(workload: str, features: int = 0) -> tuple[int, ...]:
    """One sample's shape as the torch model takes it."""
    if workload == "overhead":
        return (features,)
    return (1, 28, 28) if workload in ("cnn", "resnet") else (28, 28)


def forward_macs(workload: str, features: int = 0) -> int:
    """Multiply-accumulates of one sample's forward pass, from the Linear and Conv2d output shapes."""
    model = build(workload, features).eval()
    total = 0

    def count(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        per_output = module.in_features if isinstance(module, nn.Linear) else (
            module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1])
        total += output[0].numel() * per_output

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        model(torch.zeros(1, *input_shape(workload, features)))
    for hook in hooks:
        hook.remove()
    return total
