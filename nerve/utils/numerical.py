"""Array helpers from keras.utils: to_categorical and normalize."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["normalize", "to_categorical"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels.

    Args:
        x: integer labels, any shape (a trailing axis of size 1 is dropped, as in Keras).
        num_classes: number of classes (default `max(x) + 1`).

    Returns:
        A float32 array of shape `x.shape + (num_classes,)`.

    Example:
        >>> to_categorical([0, 2], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(x)
    if hasattr(x, "detach"):
        labels = x.detach().cpu().numpy()
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError(
                "to_categorical expects integer class labels; received non-integer values such as "
                f"{labels[labels != np.round(labels)].flat[0]!r}."
            )
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"to_categorical expects integer class labels. Received: dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    shape = labels.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if flat.size and flat.min() < 0:
        raise ValueError(f"to_categorical expects labels >= 0. Received: a label {int(flat.min())}")
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    elif flat.size and flat.max() >= num_classes:
        raise ValueError(
            f"Label {int(flat.max())} does not fit num_classes={num_classes} (labels must be in "
            f"[0, {num_classes - 1}]). Received: num_classes={num_classes}"
        )
    out = np.zeros((flat.size, num_classes), dtype=np.float32)
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(shape + (num_classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale `x` to unit norm along `axis` (L2 by default); zero vectors stay zero.

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    arr = np.asarray(x, dtype=np.float64 if np.asarray(x).dtype == np.float64 else np.float32)
    norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    return arr / np.where(norm == 0, 1, norm)
