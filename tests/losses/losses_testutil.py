"""Random inputs for loss tests, by kind of loss, as float32 NumPy arrays."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def make_data(kind: str, rng: np.random.Generator, n: int = 8, d: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return `(y_true, y_pred)` for a loss of this kind (shapes `(n, d)` unless the kind says otherwise)."""
    f = np.float32
    if kind == "regression":
        return rng.normal(size=(n, d)).astype(f), rng.normal(size=(n, d)).astype(f)
    if kind == "regression3d":
        return rng.normal(size=(n, 3, d)).astype(f), rng.normal(size=(n, 3, d)).astype(f)
    if kind == "positive":
        return rng.uniform(0.0, 3.0, size=(n, d)).astype(f), rng.uniform(0.1, 3.0, size=(n, d)).astype(f)
    if kind == "binary":
        return rng.integers(0, 2, size=(n, d)).astype(f), rng.uniform(0.05, 0.95, size=(n, d)).astype(f)
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(n, d)).astype(f), rng.normal(scale=2.0, size=(n, d)).astype(f)
    if kind == "pm1":
        return (2 * rng.integers(0, 2, size=(n, d)) - 1).astype(f), rng.normal(size=(n, d)).astype(f)
    if kind == "categorical":
        labels = rng.integers(0, d, size=n)
        return np.eye(d, dtype=f)[labels], softmax(rng.normal(size=(n, d))).astype(f)
    if kind == "categorical_logits":
        labels = rng.integers(0, d, size=n)
        return np.eye(d, dtype=f)[labels], rng.normal(scale=2.0, size=(n, d)).astype(f)
    if kind == "categorical_axis1":
        labels = rng.integers(0, d, size=(n, 3))
        one_hot = np.moveaxis(np.eye(d, dtype=f)[labels], -1, 1)
        return one_hot, softmax(rng.normal(size=(n, d, 3)), axis=1).astype(f)
    if kind == "sparse":
        return rng.integers(0, d, size=n).astype(np.int64), softmax(rng.normal(size=(n, d))).astype(f)
    if kind == "sparse_logits":
        return rng.integers(0, d, size=n).astype(np.int64), rng.normal(scale=2.0, size=(n, d)).astype(f)
    if kind == "sparse_seq":
        return rng.integers(0, d, size=(n, 4)).astype(np.int64), softmax(rng.normal(size=(n, 4, d))).astype(f)
    raise ValueError(kind)
