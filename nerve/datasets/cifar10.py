"""CIFAR-10: 60,000 32x32 colour images of 10 classes (50,000 train, 10,000 test).

Deliberate difference from Keras: nerve reads the *binary* release
(``cifar-10-binary.tar.gz``: records of one label byte followed by 3072 pixel
bytes, channel-major) instead of the Python release, so no pickle is ever
loaded. The arrays returned are the same as Keras's (channels-last uint8
images, uint8 labels of shape ``(n, 1)``). The tarball is read in place; its
extracted ``cifar-10-batches-bin/`` folder is accepted too.
"""

from __future__ import annotations

import os

import numpy as np

from nerve.datasets._files import DatasetSpec, Layout, Remote, locate
from nerve.datasets._readers import (
    CIFAR10_TEST_BATCH,
    CIFAR10_TRAIN_BATCHES,
    load_cifar10_batch_files,
    load_cifar10_binary,
)

__all__ = ["load_data", "CLASS_NAMES"]

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

_TARBALL = "cifar-10-binary.tar.gz"
_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the CIFAR-10 page
_BATCHES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)

SPEC = DatasetSpec(
    name="cifar10",
    title="CIFAR-10 (binary version)",
    layouts=(
        Layout("tar", (("tar", (_TARBALL,)),)),
        Layout("bin", tuple((n, (f"cifar-10-batches-bin/{n}",)) for n in _BATCHES)),
        Layout("bin", tuple((n, (n,)) for n in _BATCHES)),
    ),
    remotes=(Remote(_TARBALL, _URL, (f"md5:{_MD5}",)),),
    folders=("cifar-10", "cifar-10-batches-bin"),
    debian_dir="cifar10",
    notes=("the Python (pickle) release cifar-10-python.tar.gz that Keras uses is deliberately not read",),
)

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(path: str | os.PathLike[str] | None = None) -> tuple[Arrays, Arrays]:
    """Load CIFAR-10 like Keras: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: Default ``None`` (nerve extension; Keras takes no argument).
            ``cifar-10-binary.tar.gz`` itself, or a folder holding it or the
            extracted ``data_batch_1.bin`` ... ``test_batch.bin``; otherwise
            ``$NERVE_DATA/cifar10``, the caches and the download are tried.

    Returns:
        ``x_train`` uint8 ``(50000, 32, 32, 3)``, ``y_train`` uint8
        ``(50000, 1)``, ``x_test`` uint8 ``(10000, 32, 32, 3)``, ``y_test``
        uint8 ``(10000, 1)``. Images are always channels-last.

    Raises:
        DatasetNotFoundError: no files anywhere and no download possible.

    Example:
        >>> from nerve.datasets import cifar10
        >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
        >>> x_train = x_train.astype("float32") / 255
    """
    found = locate(SPEC, path)
    if found.kind == "tar":
        return load_cifar10_binary(found.files["tar"])
    return load_cifar10_batch_files(found.files, origin=found.source)
