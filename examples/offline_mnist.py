"""MNIST for the examples: the real data when nerve finds it, else digits drawn at MNIST's size.

The seed scripts call `mnist.load_data()` and expect 28x28 uint8 images. This
module keeps their code unchanged on a machine without MNIST: it returns
`nerve.datasets.mnist.load_data()` when the files are found (NERVE_DATA, the
cache, a download), and otherwise scikit-learn's bundled 8x8 digits, each
pixel drawn as a 3x3 block and padded to 28x28 (1,437 train / 360 test images).
Set NERVE_EXAMPLES_OFFLINE=1 to skip looking for MNIST.
"""

from __future__ import annotations

import os

import numpy as np

from nerve.datasets import digits
from nerve.datasets import mnist as _mnist


def _as_mnist(x: np.ndarray) -> np.ndarray:
    big = np.kron(x, np.ones((1, 3, 3), dtype=x.dtype))  # (n, 24, 24)
    return np.pad(big, ((0, 0), (2, 2), (2, 2)))


def load_data():
    """Return ((x_train, y_train), (x_test, y_test)) shaped like MNIST."""
    if os.environ.get("NERVE_EXAMPLES_OFFLINE") != "1":
        try:
            return _mnist.load_data()
        except OSError:
            pass
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    print("MNIST not found here: using scikit-learn's digits drawn at 28x28 instead.")
    return (_as_mnist(x_train), y_train), (_as_mnist(x_test), y_test)
