"""`R2Score`: the coefficient of determination, accumulated over batches."""

from __future__ import annotations

from typing import Any

import torch

from nerve.losses import squeeze_or_expand_to_same_rank
from nerve.metrics.metric import Metric, to_tensor

__all__ = ["R2Score"]

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """R² = 1 - residual sum of squares / total sum of squares, per output then aggregated.

    Inputs are 2-D: `(batch, num_outputs)` (a 1-D `y_true` next to a
    `(batch, 1)` prediction is matched). Outputs whose targets have zero
    variance score 0, as in Keras.

    Args:
        class_aggregation: `"uniform_average"` (default), `"variance_weighted_average"`,
            or None for one score per output.
        num_regressors: number of independent regressors, for the adjusted R² (default 0).
        name: the metric's name (default `"r2_score"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]]); m.result()
        tensor(0.5000)
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Invalid value for argument `class_aggregation`. Expected one of {_AGGREGATIONS}. "
                f"Received: class_aggregation={class_aggregation!r}"
            )
        if num_regressors < 0:
            raise ValueError(
                f"Invalid value for argument `num_regressors`. Expected a value >= 0. Received: num_regressors={num_regressors}"
            )
        self._direction = "up"
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, num_outputs: int) -> None:
        self.squared_sum = self.add_variable(shape=(num_outputs,), initializer="zeros", name="squared_sum")
        self.sum = self.add_variable(shape=(num_outputs,), initializer="zeros", name="sum")
        self.total_mse = self.add_variable(shape=(num_outputs,), initializer="zeros", name="residual")
        self.count = self.add_variable(shape=(num_outputs,), initializer="zeros", name="count")
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch's sums of targets, squared targets and squared residuals."""
        device = self._sync_device(y_pred)
        dtype = self._torch_dtype
        y_pred = to_tensor(y_pred, device, dtype)
        y_true = to_tensor(y_true, device, dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.dim() != 2 or y_pred.dim() != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                f"y_pred.shape={tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}."
            )
        if not self._built:
            self._build(y_pred.shape[-1])
        if sample_weight is None:
            weight = torch.ones_like(y_true)
        else:
            weight = to_tensor(sample_weight, device, dtype)
            if weight.dim() == 1:
                weight = weight.unsqueeze(1)
            weight = torch.broadcast_to(weight, y_true.shape)
        weighted = y_true * weight
        self.sum.value.add_(weighted.sum(dim=0))
        self.squared_sum.value.add_((y_true * weighted).sum(dim=0))
        self.total_mse.value.add_((torch.square(y_true - y_pred) * weight).sum(dim=0))
        self.count.value.add_(weight.sum(dim=0))
        self.num_samples.value.add_(y_true.numel())

    def result(self) -> torch.Tensor:
        """Return the (aggregated) R² score."""
        if not self._built:
            return torch.zeros((), dtype=self._torch_dtype, device=self._device)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1.0 - self.total_mse.value / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n = self.num_samples.value
            p = float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            # Too few samples for the adjustment: keep the plain score (Keras warns and does the same).
            score = torch.where(p < n - 1.0, adjusted, score)
        return score

    def reset_state(self) -> None:
        """Zero all sums (the per-output state keeps its shape)."""
        super().reset_state()

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
