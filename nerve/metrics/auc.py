"""`AUC`: area under the ROC or precision-recall curve, from confusion counts at fixed thresholds."""

from __future__ import annotations

from typing import Any

import torch

from nerve import backend
from nerve.losses import _divide_no_nan as _div
from nerve.metrics.confusion import FN, FP, TN, TP, confusion_counts, evenly_spaced
from nerve.metrics.metric import Metric, to_tensor

__all__ = ["AUC"]

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Approximate area under the ROC or PR curve with a Riemann sum over thresholds.

    Predictions are counted as true/false positives/negatives at
    `num_thresholds` evenly spaced thresholds (or the given `thresholds`); the
    curve through those points is integrated with `summation_method`. For the
    PR curve with interpolation, precision is interpolated as Davis & Goadrich
    (2006) describe, as Keras does.

    Args:
        num_thresholds: number of thresholds, > 1 (default 200).
        curve: `"ROC"` (default) or `"PR"` (or `"PRGAIN"`).
        summation_method: `"interpolation"` (default), `"minoring"` or `"majoring"`.
        name: the metric's name (default `"auc"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).
        thresholds: explicit thresholds in [0, 1], used instead of `num_thresholds` (default None).
        multi_label: treat each label (last axis) separately and average the AUCs (default False).
        num_labels: number of labels with `multi_label`, to create the state early (default None).
        label_weights: per-label weights for the average (multi-label) or the counts (default None).
        from_logits: apply a sigmoid to predictions first (default False).

    Example:
        >>> m = AUC(num_thresholds=3); m.update_state([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]); m.result()
        tensor(0.7500)
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        curve_name = getattr(curve, "value", curve)
        if str(curve_name).lower() not in _CURVES:
            raise ValueError(f"Invalid AUC curve value: expected one of ['ROC', 'PR', 'PRGAIN']. Received: curve={curve!r}")
        summation = str(getattr(summation_method, "value", summation_method)).lower()
        if summation not in _SUMMATIONS:
            raise ValueError(
                f"Invalid AUC summation method: expected one of {list(_SUMMATIONS)}. "
                f"Received: summation_method={summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        eps = backend.epsilon()
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            if any(t < 0 or t > 1 for t in inner):
                raise ValueError(f"Threshold values must be in [0, 1]. Received: thresholds={thresholds!r}")
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - eps] + inner + [1.0 + eps]
        self.curve = _CURVES[str(curve_name).lower()]
        self.summation_method = summation
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else to_tensor(label_weights, self._device, self._torch_dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build(num_labels)
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, including the two outer ones just beyond 0 and 1."""
        return list(self._thresholds)

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, int(num_labels))
        self._num_labels = num_labels
        self.true_positives = self.add_variable(shape=shape, initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=shape, initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=shape, initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=shape, initializer="zeros", name="false_negatives")
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the batch's confusion counts at every threshold."""
        self._sync_device(y_pred)
        y_pred = to_tensor(y_pred, self._device)
        if not self._built:
            if y_pred.dim() != 2:
                raise ValueError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Received: y_pred.shape={tuple(y_pred.shape)}"
                )
            self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        label_weights = None
        if self.label_weights is not None and not self.multi_label:
            if self.label_weights.device != self._device:
                self.label_weights = self.label_weights.to(self._device)
            label_weights = self.label_weights
        counts = confusion_counts(
            y_true,
            y_pred,
            self._thresholds,
            (TP, FP, TN, FN),
            thresholds_distributed_evenly=self._evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=label_weights,
            dtype=self._torch_dtype,
        )
        self.true_positives.value.add_(counts[TP])
        self.false_positives.value.add_(counts[FP])
        self.true_negatives.value.add_(counts[TN])
        self.false_negatives.value.add_(counts[FN])

    def _average(self, by_label: torch.Tensor) -> torch.Tensor:
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return _div((by_label * weights).sum(), weights.sum())

    def _interpolate_pr_auc(self) -> torch.Tensor:
        # Precision is interpolated between thresholds (Davis & Goadrich, 2006).
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - slope * p[1:]
        both_pos = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both_pos, _div(p[:-1], torch.clamp(p[1:], min=0)), torch.ones_like(p[1:]))
        increment = _div(slope * (dtp + intercept * torch.log(ratio)), torch.clamp(tp[1:] + fn[1:], min=0))
        return self._average(increment.sum(dim=0))

    def result(self) -> torch.Tensor:
        """Return the area under the curve as a 0-d tensor."""
        if not self._built:
            return torch.zeros((), dtype=self._torch_dtype, device=self._device)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _div(tp, tp + fp)
        else:
            scale = _div(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _div(fn, tp)
            precision_gain = 1.0 - scale * _div(fp, tp)
            no_tp = tp == 0
            recall_gain = torch.clamp(torch.where(no_tp, torch.zeros_like(recall_gain), recall_gain), min=0.0)
            precision_gain = torch.where(no_tp, torch.ones_like(precision_gain), precision_gain)
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average(((x[:-1] - x[1:]) * heights).sum(dim=0))

    def reset_state(self) -> None:
        """Zero the counts (the multi-label state keeps its shape)."""
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        label_weights = None if self.label_weights is None else self.label_weights.detach().cpu().tolist()
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
