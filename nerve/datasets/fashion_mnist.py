"""Fashion-MNIST (Zalando): 70,000 28x28 grayscale images of 10 clothing classes.

Read from the four IDX files (gzip-compressed or not). Debian and Ubuntu ship
them: ``apt-get install dataset-fashion-mnist`` installs them in
``/usr/share/datasets/fashion-mnist/``, which is searched automatically.

Class names, by label: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal,
Shirt, Sneaker, Bag, Ankle boot.
"""

from __future__ import annotations

import os

import numpy as np

from nerve.datasets._files import DatasetSpec, Layout, Remote, idx_slots, locate
from nerve.datasets._readers import load_idx_pair

__all__ = ["load_data", "load_test_data", "CLASS_NAMES"]

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Each file is accepted if either the MD5 of the .gz published by Zalando, or
# the SHA-256 of the decompressed IDX content, matches (Debian recompresses
# the .gz files, so their own MD5 differs while the content is identical).
_FILES = {
    "train-images-idx3-ubyte.gz": (
        "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "gunzip-sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train-labels-idx1-ubyte.gz": (
        "md5:25c81989df183df01b3e8a0aad5dffbe",
        "gunzip-sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "md5:bef4ecab320f06d8554ea6380940ec79",
        "gunzip-sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "md5:bb300cfdad3c16e7a12a480ee83cd310",
        "gunzip-sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

_COMMON = dict(
    name="fashion-mnist",
    folders=("fashion_mnist",),
    keras_subdir="fashion-mnist",
    debian_dir="fashion-mnist",
    debian_package="dataset-fashion-mnist",
)
SPEC = DatasetSpec(
    title="Fashion-MNIST",
    layouts=(
        Layout(
            "idx",
            idx_slots(
                x_train="train-images-idx3-ubyte",
                y_train="train-labels-idx1-ubyte",
                x_test="t10k-images-idx3-ubyte",
                y_test="t10k-labels-idx1-ubyte",
            ),
            generic=True,
        ),
    ),
    remotes=tuple(Remote(name, _BASE + name, hashes) for name, hashes in _FILES.items()),
    **_COMMON,
)
TEST_SPEC = DatasetSpec(
    title="Fashion-MNIST (test set)",
    layouts=(
        Layout(
            "idx",
            idx_slots(x_test="t10k-images-idx3-ubyte", y_test="t10k-labels-idx1-ubyte"),
            generic=True,
        ),
    ),
    remotes=tuple(r for r in SPEC.remotes if r.filename.startswith("t10k")),
    **_COMMON,
)

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(path: str | os.PathLike[str] | None = None) -> tuple[Arrays, Arrays]:
    """Load Fashion-MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: Default ``None`` (Keras takes no argument; this one is a nerve
            extension). A folder holding the four IDX files; otherwise
            ``$NERVE_DATA/fashion-mnist``, the caches, Debian's
            ``/usr/share/datasets/fashion-mnist`` and the download are tried.

    Returns:
        ``x_train`` uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``,
        ``x_test`` uint8 ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``.

    Raises:
        DatasetNotFoundError: no files anywhere and no download possible.

    Example:
        >>> from nerve.datasets import fashion_mnist
        >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    """
    found = locate(SPEC, path)
    x_train, y_train = load_idx_pair(found.files["x_train"], found.files["y_train"])
    x_test, y_test = load_idx_pair(found.files["x_test"], found.files["y_test"])
    return (x_train, y_train), (x_test, y_test)


def load_test_data(path: str | os.PathLike[str] | None = None) -> Arrays:
    """Load only the 10,000-image Fashion-MNIST test set: ``(x_test, y_test)``.

    Args:
        path: Default ``None``. A folder holding the two ``t10k-*`` IDX files;
            otherwise the usual lookup applies.

    Example:
        >>> from nerve.datasets import fashion_mnist
        >>> x_test, y_test = fashion_mnist.load_test_data()  # doctest: +SKIP
    """
    found = locate(TEST_SPEC, path)
    return load_idx_pair(found.files["x_test"], found.files["y_test"])
