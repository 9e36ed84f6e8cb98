"""Accuracy metrics and their per-sample functions, with Keras 3's names and rules."""

from __future__ import annotations

from typing import Any

import torch

from nerve import backend
from nerve.losses import squeeze_or_expand_to_same_rank
from nerve.metrics.mean import _BuiltinMetricWrapper
from nerve.metrics.metric import to_tensor

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


def _float() -> torch.dtype:
    return backend.standardize_dtype(backend.floatx())


def _pred(y_pred: Any) -> torch.Tensor:
    return to_tensor(y_pred)


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where `y_pred` equals `y_true` exactly, else 0.0 (no thresholding or argmax).

    Args:
        y_true: labels.
        y_pred: predicted labels, same shape (a trailing axis of 1 is matched).

    Example:
        >>> accuracy(torch.tensor([1, 2]), torch.tensor([1.0, 3.0]))
        tensor([1., 0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return torch.eq(y_true, y_pred).to(_float())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where `(y_pred > threshold)` equals the label, per element.

    Args:
        y_true: 0/1 labels.
        y_pred: probabilities (or scores).
        threshold: the decision threshold (default 0.5).

    Example:
        >>> binary_accuracy(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.7], [0.6]]))
        tensor([[1.],
                [0.]])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    decided = (y_pred > threshold).to(y_true.dtype)
    return torch.eq(y_true, decided).to(_float())


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where the argmax of the prediction equals the argmax of the one-hot label.

    Args:
        y_true: one-hot labels `(batch, ..., num_classes)`.
        y_pred: scores, same shape.

    Example:
        >>> categorical_accuracy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.2, 0.8]]))
        tensor([1.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device)
    return torch.eq(torch.argmax(y_true, dim=-1), torch.argmax(y_pred, dim=-1)).to(_float())


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where the argmax of the prediction equals the integer label.

    Args:
        y_true: integer labels `(batch, ...)` or `(batch, ..., 1)`.
        y_pred: scores `(batch, ..., num_classes)`.

    Example:
        >>> sparse_categorical_accuracy(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8], [0.3, 0.7]]))
        tensor([1., 0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device)
    if y_true.dim() == y_pred.dim() and y_true.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    matches = torch.eq(y_true, torch.argmax(y_pred, dim=-1)).to(_float())
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets: torch.Tensor, scores: torch.Tensor, k: int) -> torch.Tensor:
    # The target is in the top k when fewer than k scores beat it strictly (ties count as in).
    target_scores = torch.gather(scores, -1, targets.unsqueeze(-1))
    return torch.sum(scores > target_scores, dim=-1) < k


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where the one-hot label's class is among the `k` highest predicted scores.

    Args:
        y_true: one-hot labels.
        y_pred: scores, same shape.
        k: how many top classes count (default 5).

    Example:
        >>> top_k_categorical_accuracy(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.3, 0.2]]), k=2)
        tensor([0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device)
    return _in_top_k(torch.argmax(y_true, dim=-1), y_pred, k).to(_float())


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False) -> torch.Tensor:
    """1.0 where the integer label is among the `k` highest predicted scores.

    Args:
        y_true: integer labels `(batch, ...)` or `(batch, ..., 1)`.
        y_pred: scores `(batch, ..., num_classes)`, or class ids sorted by score if `from_sorted_ids`.
        k: how many top classes count (default 5).
        from_sorted_ids: whether `y_pred` already holds the top class ids, best first (default False).

    Example:
        >>> sparse_top_k_categorical_accuracy(torch.tensor([2]), torch.tensor([[0.5, 0.3, 0.2]]), k=2)
        tensor([0.])
    """
    y_pred = _pred(y_pred)
    y_true = to_tensor(y_true, y_pred.device)
    if y_true.dim() == y_pred.dim() and y_true.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if from_sorted_ids:
        matches = torch.any(torch.eq(y_true.unsqueeze(-1), y_pred[..., :k]), dim=-1)
    else:
        matches = _in_top_k(y_true.to(torch.int64), y_pred, k)
    return matches.to(_float())


class Accuracy(_BuiltinMetricWrapper):
    """How often predictions equal labels exactly (use the other accuracies for scores).

    Args:
        name: the metric's name (default `"accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Accuracy(); m.update_state([[1], [2], [3]], [[1], [2], [4]]); m.result()
        tensor(0.6667)
    """

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(_BuiltinMetricWrapper):
    """How often thresholded predictions match 0/1 labels.

    Args:
        name: the metric's name (default `"binary_accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).
        threshold: predictions above it count as 1 (default 0.5).

    Example:
        >>> m = BinaryAccuracy(); m.update_state([[1], [0]], [[0.9], [0.6]]); m.result()
        tensor(0.5000)
    """

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the predicted class (argmax) matches the one-hot label.

    Args:
        name: the metric's name (default `"categorical_accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = CategoricalAccuracy(); m.update_state([[0, 1], [1, 0]], [[0.2, 0.8], [0.4, 0.6]]); m.result()
        tensor(0.5000)
    """

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the predicted class (argmax) matches the integer label.

    Args:
        name: the metric's name (default `"sparse_categorical_accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = SparseCategoricalAccuracy(); m.update_state([1, 0], [[0.2, 0.8], [0.4, 0.6]]); m.result()
        tensor(0.5000)
    """

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name, dtype)


class TopKCategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the one-hot label's class is among the top `k` predictions.

    Args:
        k: how many top classes count (default 5).
        name: the metric's name (default `"top_k_categorical_accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = TopKCategoricalAccuracy(k=1); m.update_state([[0, 1]], [[0.2, 0.8]]); m.result()
        tensor(1.)
    """

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)


class SparseTopKCategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the integer label is among the top `k` predictions.

    Args:
        k: how many top classes count (default 5).
        name: the metric's name (default `"sparse_top_k_categorical_accuracy"`).
        dtype: the float type of the state (default `backend.floatx()`).
        from_sorted_ids: whether predictions are class ids sorted by score (default False).

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1); m.update_state([1], [[0.2, 0.8]]); m.result()
        tensor(1.)
    """

    _direction = "up"

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None, from_sorted_ids: bool = False
    ) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k, from_sorted_ids=from_sorted_ids)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict (`from_sorted_ids` only when set, like Keras)."""
        config = super().get_config()
        del config["from_sorted_ids"]
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
