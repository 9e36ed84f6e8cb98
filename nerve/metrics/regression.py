"""Regression metrics: mean squared/absolute/percentage/log errors, RMSE, cosine similarity, log-cosh."""

from __future__ import annotations

from typing import Any

import torch

from nerve import losses
from nerve.losses import squeeze_or_expand_to_same_rank
from nerve.metrics.mean import Mean, _BuiltinMetricWrapper
from nerve.metrics.metric import to_tensor

__all__ = [
    "CosineSimilarity",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "RootMeanSquaredError",
]


class MeanSquaredError(_BuiltinMetricWrapper):
    """Mean of squared errors over all samples seen.

    Args:
        name: the metric's name (default `"mean_squared_error"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = MeanSquaredError(); m.update_state([[0.0, 1.0]], [[1.0, 1.0]]); m.result()
        tensor(0.5000)
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(losses.mean_squared_error, name, dtype)


class MeanAbsoluteError(_BuiltinMetricWrapper):
    """Mean of absolute errors over all samples seen.

    Args:
        name: the metric's name (default `"mean_absolute_error"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = MeanAbsoluteError(); m.update_state([[0.0, 1.0]], [[1.0, 1.0]]); m.result()
        tensor(0.5000)
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(losses.mean_absolute_error, name, dtype)


class MeanAbsolutePercentageError(_BuiltinMetricWrapper):
    """Mean absolute percentage error over all samples seen.

    Args:
        name: the metric's name (default `"mean_absolute_percentage_error"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = MeanAbsolutePercentageError(); m.update_state([[2.0]], [[1.0]]); m.result()
        tensor(50.)
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(losses.mean_absolute_percentage_error, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinMetricWrapper):
    """Mean squared logarithmic error over all samples seen.

    Args:
        name: the metric's name (default `"mean_squared_logarithmic_error"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = MeanSquaredLogarithmicError(); m.update_state([[0.0]], [[0.0]]); m.result()
        tensor(0.)
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(losses.mean_squared_logarithmic_error, name, dtype)


class LogCoshError(_BuiltinMetricWrapper):
    """Mean of `log(cosh(y_pred - y_true))` over all samples seen.

    Args:
        name: the metric's name (default `"logcosh"`, as in Keras).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = LogCoshError(); m.update_state([[0.0]], [[0.0]]); m.result()
        tensor(0.)
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(losses.log_cosh, name, dtype)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Cosine similarity along `axis` (1 for the same direction); the loss is its negative.

    Args:
        y_true: targets.
        y_pred: predictions.
        axis: the axis holding the vectors (default -1).

    Example:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        tensor([1.])
    """
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(_BuiltinMetricWrapper):
    """Mean cosine similarity between labels and predictions.

    Args:
        name: the metric's name (default `"cosine_similarity"`).
        dtype: the float type of the state (default `backend.floatx()`).
        axis: the axis holding the vectors (default -1).

    Example:
        >>> m = CosineSimilarity(); m.update_state([[1.0, 0.0]], [[3.0, 0.0]]); m.result()
        tensor(1.)
    """

    _direction = "up"

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(cosine_similarity, name, dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean squared error over all samples seen.

    Args:
        name: the metric's name (default `"root_mean_squared_error"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = RootMeanSquaredError(); m.update_state([[0.0], [0.0]], [[2.0], [2.0]]); m.result()
        tensor(2.)
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        """Add the squared errors of a batch."""
        device = self._sync_device(y_pred)
        y_pred = to_tensor(y_pred, device, self._torch_dtype)
        y_true = to_tensor(y_true, device, self._torch_dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        self._accumulate(torch.square(y_pred - y_true), sample_weight, None)

    def result(self) -> torch.Tensor:
        """Return the root of the mean squared error as a 0-d tensor."""
        return torch.sqrt(super().result())
