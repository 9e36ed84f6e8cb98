"""Boston Housing prices (StatLib): 506 samples, 13 features, price in k$.

Keras's warning applies: the dataset includes a feature ("B") built on an
assumption about racial self-segregation; use it only to illustrate ethical
issues in data science, or for compatibility with existing tutorials.
"""

from __future__ import annotations

import os

import numpy as np

from nerve.datasets._files import DatasetSpec, Layout, Remote, locate
from nerve.datasets._readers import load_npz, shuffle_split

__all__ = ["load_data"]

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"

SPEC = DatasetSpec(
    name="boston_housing",
    title="Boston Housing",
    layouts=(Layout("npz", (("npz", ("boston_housing.npz",)),)),),
    remotes=(Remote("boston_housing.npz", _URL, (f"sha256:{_SHA256}",)),),
    folders=("boston-housing",),
)

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(
    path: str | os.PathLike[str] = "boston_housing.npz",
    test_split: float = 0.2,
    seed: int = 113,
) -> tuple[Arrays, Arrays]:
    """Load Boston Housing exactly as Keras does: ``(x_train, y_train), (x_test, y_test)``.

    The samples are shuffled with ``np.random.RandomState(seed)`` and the first
    ``int(n * (1 - test_split))`` become the training set, so the split matches
    Keras sample for sample.

    Args:
        path: Default ``"boston_housing.npz"``. An existing ``.npz`` file (with
            arrays ``x`` and ``y``) or a folder holding it; a bare name that
            does not exist names the file to look for and to download.
        test_split: Default ``0.2``. Fraction reserved for the test set, in ``[0, 1)``.
        seed: Default ``113``. Seed of the shuffle before the split.

    Returns:
        ``x_*`` float64 ``(n, 13)`` and ``y_*`` float64 ``(n,)`` (404 / 102
        samples with the defaults), dtypes as stored in the file.

    Example:
        >>> from nerve.datasets import boston_housing
        >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape
        ((404, 13), (102, 13))
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be in [0, 1).")
    found = locate(SPEC, path)
    arrays = load_npz(found.files["npz"], ["x", "y"])
    return shuffle_split(arrays["x"], arrays["y"], test_split, seed)
