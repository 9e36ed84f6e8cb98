"""Random batches for metric tests, by kind of data, as float32 NumPy arrays."""

from __future__ import annotations

import numpy as np


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def make_batch(kind: str, rng: np.random.Generator, n: int = 12, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Return `(y_true, y_pred)` of this kind of data."""
    f = np.float32
    if kind == "binary":
        return rng.integers(0, 2, size=(n, 1)).astype(f), rng.uniform(0, 1, size=(n, 1)).astype(f)
    if kind == "binary_flat":
        return rng.integers(0, 2, size=n).astype(f), rng.uniform(0, 1, size=(n, 1)).astype(f)
    if kind == "binary_edges":
        # Non-0/1 labels (any non-zero is positive) and predictions exactly on 0, 0.5 and 1.
        labels = rng.choice(np.array([0.0, 0.3, 1.0, 2.0], dtype=f), size=(n, 1))
        preds = np.where(rng.uniform(size=(n, 1)) < 0.5, rng.choice(np.array([0.0, 0.5, 1.0], dtype=f), size=(n, 1)),
                         rng.uniform(size=(n, 1)))
        return labels.astype(f), preds.astype(f)
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(n, 1)).astype(f), rng.normal(scale=2, size=(n, 1)).astype(f)
    if kind == "multilabel":
        return rng.integers(0, 2, size=(n, d)).astype(f), rng.uniform(0, 1, size=(n, d)).astype(f)
    if kind == "categorical":
        return np.eye(d, dtype=f)[rng.integers(0, d, size=n)], _softmax(rng.normal(size=(n, d))).astype(f)
    if kind == "sparse":
        return rng.integers(0, d, size=n).astype(f), _softmax(rng.normal(size=(n, d))).astype(f)
    if kind == "sparse_column":
        return rng.integers(0, d, size=(n, 1)).astype(f), _softmax(rng.normal(size=(n, d))).astype(f)
    if kind == "sparse_seq":
        return rng.integers(0, d, size=(n, 3)).astype(f), _softmax(rng.normal(size=(n, 3, d))).astype(f)
    if kind == "labels":
        y = rng.integers(0, 3, size=(n, 1)).astype(f)
        pred = np.where(rng.uniform(size=(n, 1)) < 0.6, y, rng.integers(0, 3, size=(n, 1))).astype(f)
        return y, pred
    if kind == "regression":
        return rng.normal(size=(n, d)).astype(f), rng.normal(size=(n, d)).astype(f)
    if kind == "regression_column":
        y = rng.normal(size=(n, 1)).astype(f)
        return y, (y + rng.normal(scale=0.5, size=(n, 1))).astype(f)
    if kind == "regression_multi":
        y = rng.normal(size=(n, 3)).astype(f) * np.array([1.0, 2.0, 0.5], dtype=f)
        return y, (y + rng.normal(scale=0.7, size=(n, 3))).astype(f)
    if kind == "positive":
        return rng.uniform(0, 3, size=(n, d)).astype(f), rng.uniform(0.1, 3, size=(n, d)).astype(f)
    if kind == "pm1":
        return (2 * rng.integers(0, 2, size=(n, d)) - 1).astype(f), rng.normal(size=(n, d)).astype(f)
    raise ValueError(kind)
