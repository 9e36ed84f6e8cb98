"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale.

Accepted on disk as Keras's ``mnist.npz`` or as the four original IDX files
(gzip-compressed or not). See :mod:`nerve.datasets` for where files are looked
for; the download is Keras's ``mnist.npz`` (SHA-256 checked).
"""

from __future__ import annotations

import os

import numpy as np

from nerve.datasets._files import DatasetSpec, Layout, Remote, idx_slots, locate
from nerve.datasets._readers import load_idx_pair, load_npz

__all__ = ["load_data", "load_test_data"]

_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

_NPZ = Layout("npz", (("npz", ("mnist.npz",)),))
_IDX = Layout(
    "idx",
    idx_slots(
        x_train="train-images-idx3-ubyte",
        y_train="train-labels-idx1-ubyte",
        x_test="t10k-images-idx3-ubyte",
        y_test="t10k-labels-idx1-ubyte",
    ),
    generic=True,
)
_IDX_TEST = Layout(
    "idx-test",
    idx_slots(x_test="t10k-images-idx3-ubyte", y_test="t10k-labels-idx1-ubyte"),
    generic=True,
)
_NOTES = ("no Debian package ships MNIST; /usr/share/datasets/mnist/ is searched in case one appears",)

SPEC = DatasetSpec(
    name="mnist",
    title="MNIST",
    layouts=(_NPZ, _IDX),
    remotes=(Remote("mnist.npz", _NPZ_URL, (f"sha256:{_NPZ_SHA256}",)),),
    debian_dir="mnist",
    notes=_NOTES,
)
TEST_SPEC = DatasetSpec(
    name="mnist",
    title="MNIST (test set)",
    layouts=(_NPZ, _IDX_TEST),
    remotes=SPEC.remotes,
    debian_dir="mnist",
    notes=_NOTES,
)

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(path: str | os.PathLike[str] = "mnist.npz") -> tuple[Arrays, Arrays]:
    """Load MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: Default ``"mnist.npz"``. An existing ``.npz`` file, or a folder
            holding ``mnist.npz`` or the four IDX files; a bare file name that
            does not exist names the file to look for in ``$NERVE_DATA``, the
            caches and the download (like Keras, where it is relative to
            ``~/.keras/datasets``).

    Returns:
        ``x_train`` uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``,
        ``x_test`` uint8 ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``.

    Raises:
        DatasetNotFoundError: no files anywhere and no download possible.

    Example:
        >>> from nerve.datasets import mnist
        >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
        >>> x_train = x_train.reshape(-1, 784).astype("float32") / 255
    """
    found = locate(SPEC, path)
    if found.kind == "npz":
        arrays = load_npz(found.files["npz"], ["x_train", "y_train", "x_test", "y_test"])
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    x_train, y_train = load_idx_pair(found.files["x_train"], found.files["y_train"])
    x_test, y_test = load_idx_pair(found.files["x_test"], found.files["y_test"])
    return (x_train, y_train), (x_test, y_test)


def load_test_data(path: str | os.PathLike[str] | None = None) -> Arrays:
    """Load only the 10,000-image MNIST test set: ``(x_test, y_test)``.

    Works where only the two ``t10k-*`` IDX files exist (nerve extension; Keras
    has no equivalent).

    Args:
        path: Default ``None``. An ``.npz`` file or a folder holding
            ``mnist.npz`` or ``t10k-images-idx3-ubyte(.gz)`` and
            ``t10k-labels-idx1-ubyte(.gz)``; otherwise the usual lookup applies.

    Returns:
        ``x_test`` uint8 ``(10000, 28, 28)`` and ``y_test`` uint8 ``(10000,)``.

    Example:
        >>> from nerve.datasets import mnist
        >>> x_test, y_test = mnist.load_test_data("../shared/datasets/mnist-test")  # doctest: +SKIP
    """
    found = locate(TEST_SPEC, path)
    if found.kind == "npz":
        arrays = load_npz(found.files["npz"], ["x_test", "y_test"])
        return arrays["x_test"], arrays["y_test"]
    return load_idx_pair(found.files["x_test"], found.files["y_test"])
