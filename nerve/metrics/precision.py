"""`Precision`: the fraction of predicted positives that are truly positive."""

from __future__ import annotations

from typing import Any

import torch

from nerve.metrics.confusion import FP, NEG_INF, TP, confusion_counts, evenly_spaced, parse_thresholds
from nerve.metrics.metric import Metric, to_tensor

__all__ = ["Precision"]


def _ratio(num: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    den = num + other
    zero = den == 0
    return torch.where(zero, torch.zeros_like(num), num / torch.where(zero, torch.ones_like(den), den))


class Precision(Metric):
    """Precision `tp / (tp + fp)`, with predictions thresholded (or restricted to the top `k`).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1]; predictions above
            count as positive (default 0.5, or "any top-k prediction" with `top_k`).
        top_k: only the `k` highest predictions per sample can be positive (default None).
        class_id: compute the metric for this class only (default None).
        name: the metric's name (default `"precision"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Precision(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        tensor(0.6667)
    """

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, default=0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_spaced(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(n,), initializer="zeros", name="false_positives")

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the batch's true and false positives."""
        self._sync_device(y_pred)
        counts = confusion_counts(
            y_true,
            to_tensor(y_pred, self._device),
            self.thresholds,
            (TP, FP),
            thresholds_distributed_evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            dtype=self._torch_dtype,
        )
        self.true_positives.value.add_(counts[TP])
        self.false_positives.value.add_(counts[FP])

    def result(self) -> torch.Tensor:
        """Return precision (0-d with one threshold, else one value per threshold)."""
        value = _ratio(self.true_positives.value, self.false_positives.value)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }
