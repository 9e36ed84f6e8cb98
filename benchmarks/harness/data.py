"""The benchmark's data as numpy arrays: Fashion-MNIST from its IDX files, and seeded random data.

Fashion-MNIST is read from `$FMNIST`, else the Debian package dataset-fashion-mnist's folder
(/usr/share/datasets/fashion-mnist). Imports numpy only.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SEARCH = [
    os.environ.get("FMNIST", ""),
    "/usr/share/datasets/fashion-mnist",
]


def fashion_mnist_dir() -> Path:
    """The first folder that holds the four Fashion-MNIST IDX files."""
    for folder in filter(None, SEARCH):
        if all((Path(folder) / name).is_file() for pair in FILES.values() for name in pair):
            return Path(folder)
    raise FileNotFoundError(
        "Fashion-MNIST IDX files not found. Install Debian's dataset-fashion-mnist, or set FMNIST to a folder "
        f"with {', '.join(n for pair in FILES.values() for n in pair)}. Searched: {[s for s in SEARCH if s]}"
    )


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(split: str, n: int | None = None, channels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` images of a split as float32 in [0, 1], shape (n, 28, 28) or (n, 28, 28, 1), and int64 labels."""
    folder = fashion_mnist_dir()
    images, labels = (_idx(folder / name) for name in FILES[split])
    images, labels = images[:n], labels[:n]
    x = images.astype(np.float32) / 255.0
    if channels:
        x = x[..., None]
    return x, labels.astype(np.int64)


def random_classification(n: int, features: int, classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded standard-normal features and uniform labels: data for the per-step overhead workload."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features), dtype=np.float32), rng.integers(0, classes, n).astype(np.int64)
