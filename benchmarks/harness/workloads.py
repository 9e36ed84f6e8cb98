"""What is measured: the workloads (model, data, batch, epochs) and the peers that run them.

Every peer gets the same data, split, batch size, epochs, optimizer (Adam 1e-3, Keras's epsilon
1e-7) and initialization (Glorot-uniform kernels, zero biases). An "epoch" of the predict workload is
one `predict()` over the whole set; of the overhead workload, one pass of `steps` batches of 32.
Imports nothing heavy (a child process loads this before its framework).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PEERS", "WORKLOADS", "Peer", "Workload", "epochs_for"]


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    kind: str  # "train", "predict" or "overhead"
    data: str  # "fashion_mnist", "fashion_mnist_test" or "random"
    n: int  # samples (full run)
    quick_n: int  # samples with --quick
    batch: int
    epochs: int  # default epochs (predict: repeats)
    quick_epochs: int
    channels: bool = False  # images as (n, 28, 28, 1)
    validation_split: float = 0.0
    features: int = 0  # random data: feature count
    caps: dict[str, int] = field(default_factory=dict)  # peer -> most epochs it runs (slow peers)


WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload("mlp", "Seed-0 MLP: Flatten-64-128-256-128-64-10 relu, Adam 1e-3, batch 128, validation_split 0.2, "
             "Fashion-MNIST 60k", "train", "fashion_mnist", 60000, 6000, 128, 6, 2, validation_split=0.2,
             caps={"keras-torch": 3}),
    Workload("cnn", "Small CNN: Conv32-MaxPool-Conv64-MaxPool-Flatten-Dropout(0.5)-Dense10, Adam 1e-3, batch 128, "
             "first 12k Fashion-MNIST images, validation_split 0.2", "train", "fashion_mnist", 12000, 1500, 128, 4, 2,
             channels=True, validation_split=0.2, caps={"keras-torch": 3, "keras-jax": 3}),
    Workload("resnet", "ResNet-style: Conv16-BN-ReLU, 3 residual blocks (16, 32/2, 64/2; BatchNormalization with "
             "momentum 0.9, Add, 1x1 projection), GlobalAveragePooling-Dense10, Adam 1e-3, batch 128, first 6k Fashion-MNIST images, "
             "validation_split 0.2", "train", "fashion_mnist", 6000, 384, 128, 4, 2, channels=True,
             validation_split=0.2, caps={"keras-torch": 3, "keras-jax": 3}),
    Workload("predict", "predict() throughput of the seed-0 MLP (untrained weights), 10k Fashion-MNIST test images, "
             "batch 128", "predict", "fashion_mnist_test", 10000, 2000, 128, 8, 3),
    Workload("overhead", "Per-step overhead: Dense(10, softmax) on 16 features, batch 32, Adam, accuracy metric, "
             "500 steps an epoch, no validation", "overhead", "random", 32 * 500, 32 * 100, 32, 6, 3,
             features=16, caps={"keras-torch": 4}),
]}


@dataclass(frozen=True)
class Peer:
    name: str
    runner: str  # "keras" (nerve or Keras 3), "torch" or "lightning"
    needs: tuple[str, ...]  # importable modules it needs
    description: str
    backend: str | None = None  # KERAS_BACKEND


PEERS: dict[str, Peer] = {p.name: p for p in [
    Peer("nerve", "keras", ("nerve",), "nerve from this repository: `import nerve as keras`, Sequential/compile/fit"),
    Peer("keras-jax", "keras", ("keras", "jax"), "Keras 3, JAX backend", backend="jax"),
    Peer("keras-tensorflow", "keras", ("keras", "tensorflow"), "Keras 3, TensorFlow backend", backend="tensorflow"),
    Peer("keras-torch", "keras", ("keras", "torch"), "Keras 3, PyTorch backend", backend="torch"),
    Peer("torch", "torch", ("torch",), "hand-written PyTorch loop: fused Adam, data as tensors on the device, "
         "randperm + index_select batches, cross-entropy from logits, metrics kept on the device, validation in "
         "one pass, convolutional models in channels_last"),
    Peer("torch-default-adam", "torch", ("torch",), "the same loop with torch's defaults: torch.optim.Adam's "
         "default (per-parameter loop on CPU) implementation, NCHW layout; a reference row"),
    Peer("lightning", "lightning", ("lightning",), "PyTorch Lightning Trainer, DataLoader(TensorDataset) with "
         "shuffle, fused Adam, metrics logged per epoch"),
]}

ALIASES = {"keras": ["keras-jax", "keras-tensorflow", "keras-torch"], "tf": ["keras-tensorflow"],
           "jax": ["keras-jax"], "hand": ["torch", "torch-default-adam"]}


def epochs_for(workload: Workload, peer: str, epochs: int | None, quick: bool, caps: bool = True) -> tuple[int, bool]:
    """Epochs this peer runs on this workload, and whether its cap cut them."""
    wanted = epochs or (workload.quick_epochs if quick else workload.epochs)
    cap = workload.caps.get(peer) if caps else None
    if cap is not None and cap < wanted:
        return cap, True
    return wanted, False
