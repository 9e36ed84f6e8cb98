"""Handwritten digits bundled with scikit-learn: 1,797 8x8 images, always offline.

A small MNIST stand-in for quick experiments without any download. Pixels are
rescaled from scikit-learn's 0..16 to 0..255 and stored as uint8, so MNIST
tutorial code (``x / 255``) works unchanged.
"""

from __future__ import annotations

import numpy as np

from nerve.datasets._readers import shuffle_split

__all__ = ["load_data"]

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(test_split: float = 0.2, seed: int = 113) -> tuple[Arrays, Arrays]:
    """Load scikit-learn's digits as ``(x_train, y_train), (x_test, y_test)``.

    The split is a plain seeded permutation (not stratified), the same rule as
    ``boston_housing``: shuffle with ``np.random.RandomState(seed)``, the first
    ``int(n * (1 - test_split))`` samples train, the rest test.

    Args:
        test_split: Default ``0.2``. Fraction reserved for the test set, in ``[0, 1)``.
        seed: Default ``113``. Seed of the shuffle.

    Returns:
        ``x_*`` uint8 ``(n, 8, 8)`` with values ``round(v * 255 / 16)`` in
        0..255, ``y_*`` uint8 ``(n,)`` in 0..9 (1437 / 360 samples by default).

    Example:
        >>> from nerve.datasets import digits
        >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
        >>> x_train.shape, x_test.shape
        ((1437, 8, 8), (360, 8, 8))
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    bunch = load_digits()
    x = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
    y = np.asarray(bunch.target).astype(np.uint8)
    return shuffle_split(x, y, test_split, seed)
