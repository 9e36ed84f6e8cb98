"""Diabetes regression data bundled with scikit-learn: 442 patients, 10 features, always offline."""

from __future__ import annotations

import numpy as np

from nerve.datasets._readers import shuffle_split

__all__ = ["load_data"]

Arrays = tuple[np.ndarray, np.ndarray]


def load_data(test_split: float = 0.2, seed: int = 113) -> tuple[Arrays, Arrays]:
    """Load scikit-learn's diabetes data as ``(x_train, y_train), (x_test, y_test)``.

    Features are scikit-learn's (mean-centred, scaled) values; the target is a
    disease-progression score one year after baseline (25..346). The split is
    a seeded permutation, the same rule as ``boston_housing``.

    Args:
        test_split: Default ``0.2``. Fraction reserved for the test set, in ``[0, 1)``.
        seed: Default ``113``. Seed of the shuffle.

    Returns:
        ``x_*`` float32 ``(n, 10)``, ``y_*`` float32 ``(n,)`` (353 / 89 samples by default).

    Example:
        >>> from nerve.datasets import diabetes
        >>> (x_train, y_train), (x_test, y_test) = diabetes.load_data()
        >>> x_train.shape, y_test.dtype
        ((353, 10), dtype('float32'))
    """
    from sklearn.datasets import load_diabetes  # bundled with scikit-learn, no download

    bunch = load_diabetes()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.float32)
    return shuffle_split(x, y, test_split, seed)
