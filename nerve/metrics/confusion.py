"""Confusion-matrix counting shared by the threshold metrics, plus TP/FP/TN/FN counters.

Counting follows Keras: a prediction is positive when strictly above a
threshold, a label is positive when non-zero, and evenly spaced thresholds
(as in `AUC`) are counted by bucketing predictions, in one scatter per batch.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import torch

from nerve import backend
from nerve.losses import _divide_no_nan, squeeze_or_expand_to_same_rank
from nerve.metrics.metric import Metric, to_tensor

__all__ = ["FalseNegatives", "FalsePositives", "TrueNegatives", "TruePositives"]

NEG_INF = -1e10
TP, FP, TN, FN = "tp", "fp", "tn", "fn"


def parse_thresholds(thresholds: Any, default: float = 0.5) -> list[float]:
    """Return thresholds as a list of floats, checking they lie in [0, 1]."""
    if thresholds is None:
        return [float(default)]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: thresholds={thresholds!r}")
    return [float(t) for t in values]


def evenly_spaced(thresholds: Sequence[float]) -> bool:
    """True when the thresholds are `i / (n - 1)` for `i` in `0..n-1` (up to epsilon), n >= 3."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=backend.epsilon()))


def filter_top_k(x: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the `k` largest values along the last axis; set the others to -1e10."""
    k = min(int(k), x.shape[-1])
    idx = torch.topk(x, k, dim=-1).indices
    keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, idx, True)
    return torch.where(keep, x, torch.full_like(x, NEG_INF))


@functools.lru_cache(maxsize=64)
def _threshold_tensor(thresholds: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Made once per device: copying a list to the GPU at every update would wait for the GPU.
    return torch.tensor(thresholds, dtype=dtype, device=device)


def _reverse_cumsum(x: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.flip(torch.cumsum(torch.flip(x, (dim,)), dim=dim), (dim,))


def confusion_counts(
    y_true: Any,
    y_pred: Any,
    thresholds: Sequence[float],
    wanted: Sequence[str],
    thresholds_distributed_evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight: Any = None,
    multi_label: bool = False,
    label_weights: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """Return the weighted confusion counts of a batch at each threshold.

    Args:
        y_true: labels; non-zero counts as positive.
        y_pred: scores, usually probabilities.
        thresholds: the decision thresholds.
        wanted: which counts to return, among `"tp"`, `"fp"`, `"tn"`, `"fn"`.
        thresholds_distributed_evenly: count with buckets (thresholds are `i/(n-1)`).
        top_k: only the top `k` predictions per sample can be positive (default None).
        class_id: only count this class (last axis) (default None).
        sample_weight: per-sample or per-element weights (default None).
        multi_label: keep a separate count per label (last axis) (default False).
        label_weights: per-label weights, shape `(num_labels,)` (default None).
        dtype: the float type of the counts.

    Returns:
        A dict of count tensors, shaped `(num_thresholds,)` or, with
        `multi_label`, `(num_thresholds, num_labels)`.
    """
    y_pred = to_tensor(y_pred, dtype=dtype)
    device = y_pred.device
    y_true = to_tensor(y_true, device, dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, device, dtype).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
        if 0 < sample_weight.dim() < y_pred.dim():
            sample_weight = sample_weight.reshape(tuple(sample_weight.shape) + (1,) * (y_pred.dim() - sample_weight.dim()))
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                f"num_classes). Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        y_true = y_true[..., class_id : class_id + 1]
        y_pred = y_pred[..., class_id : class_id + 1]
    if y_true.shape != y_pred.shape:
        y_true = torch.broadcast_to(y_true, y_pred.shape)

    weights = None
    if sample_weight is not None:
        weights = torch.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        lw = torch.broadcast_to(label_weights.to(device=device, dtype=dtype), y_pred.shape)
        weights = lw if weights is None else weights * lw

    positive = (y_true != 0).to(dtype)
    num_thresholds = len(thresholds)
    if multi_label:
        if y_pred.dim() != 2:
            raise ValueError(f"With multi_label=True, y_pred must have rank 2. Received: y_pred.shape={tuple(y_pred.shape)}")
    else:
        y_pred = y_pred.reshape(-1)
        positive = positive.reshape(-1)
        if weights is not None:
            weights = weights.reshape(-1)
    pos_w = positive if weights is None else positive * weights
    neg_w = (1.0 - positive) if weights is None else (1.0 - positive) * weights

    if thresholds_distributed_evenly:
        with_eps = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        bucket = torch.ceil(torch.clamp(y_pred, 0.0, 1.0) * (num_thresholds - 1)) - 1
        if with_eps:
            bucket = torch.relu(bucket)
        bucket = bucket.to(torch.int64)
        # Out-of-range buckets (prediction 0 with thresholds that start at 0) go to a dropped slot.
        bucket = torch.where(bucket < 0, torch.full_like(bucket, num_thresholds), bucket)
        if multi_label:
            num_labels = y_pred.shape[1]
            index = (bucket * num_labels + torch.arange(num_labels, device=device)).reshape(-1)
            size = (num_thresholds + 1) * num_labels
            tp_b = torch.zeros(size, dtype=dtype, device=device).scatter_add_(0, index, pos_w.reshape(-1))
            fp_b = torch.zeros(size, dtype=dtype, device=device).scatter_add_(0, index, neg_w.reshape(-1))
            tp_b = tp_b.reshape(num_thresholds + 1, num_labels)[:-1]
            fp_b = fp_b.reshape(num_thresholds + 1, num_labels)[:-1]
        else:
            tp_b = torch.zeros(num_thresholds + 1, dtype=dtype, device=device).scatter_add_(0, bucket, pos_w)[:-1]
            fp_b = torch.zeros(num_thresholds + 1, dtype=dtype, device=device).scatter_add_(0, bucket, neg_w)[:-1]
        tp = _reverse_cumsum(tp_b)
        fp = _reverse_cumsum(fp_b)
    else:
        thr = _threshold_tensor(tuple(float(t) for t in thresholds), dtype, device)
        # One row of comparisons per threshold (each holding a column per label with multi_label).
        above = y_pred.unsqueeze(0) > (thr.reshape(-1, 1, 1) if multi_label else thr.unsqueeze(1))
        zero = torch.zeros((), dtype=dtype, device=device)
        tp = torch.where(above, pos_w.unsqueeze(0), zero).sum(dim=1)
        fp = torch.where(above, neg_w.unsqueeze(0), zero).sum(dim=1)

    out: dict[str, torch.Tensor] = {}
    if TP in wanted:
        out[TP] = tp
    if FP in wanted:
        out[FP] = fp
    if FN in wanted:
        out[FN] = pos_w.sum(dim=0) - tp
    if TN in wanted:
        out[TN] = neg_w.sum(dim=0) - fp
    return out


class _ThresholdMetric(Metric):
    """Base of the metrics that accumulate confusion-matrix cells at each threshold.

    Subclasses list the cells they keep in `_cells`, as (cell, variable name)
    pairs: each becomes a state variable with one count per threshold, held
    as the attribute of that name. `top_k` and `class_id` restrict the counts
    (see `confusion_counts`) in the subclasses that take them.
    """

    _cells: tuple[tuple[str, str], ...] = ()
    top_k: int | None = None
    class_id: int | None = None

    def __init__(self, thresholds: Any, name: str | None, dtype: Any, default_threshold: float = 0.5) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, default=default_threshold)
        self._evenly = evenly_spaced(self.thresholds)
        accumulators = []
        for cell, var_name in self._cells:
            variable = self.add_variable(shape=(len(self.thresholds),), initializer="zeros", name=var_name)
            setattr(self, var_name, variable)
            accumulators.append((cell, variable))
        self._accumulators = tuple(accumulators)
        self._wanted = tuple(cell for cell, _ in self._cells)

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the batch's weighted counts at each threshold."""
        self._sync_device(y_pred)
        counts = confusion_counts(
            y_true,
            to_tensor(y_pred, self._device),
            self.thresholds,
            self._wanted,
            thresholds_distributed_evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            dtype=self._torch_dtype,
        )
        for cell, variable in self._accumulators:
            variable.value.add_(counts[cell])

    def _per_threshold(self, value: torch.Tensor) -> torch.Tensor:
        """`value` as a 0-d tensor with one threshold, else one value per threshold."""
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {**super().get_config(), "thresholds": self.init_thresholds}


class _ConfusionCount(_ThresholdMetric):
    """Counts one confusion-matrix cell at each threshold, in the variable `accumulator`."""

    def __init__(self, thresholds: float | list[float] | None = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(thresholds, name, dtype)

    def result(self) -> torch.Tensor:
        """Return the count (0-d with one threshold, else one per threshold)."""
        return self._per_threshold(self.accumulator.value).clone()


class _PrecisionRecall(_ThresholdMetric):
    """Base of `Precision` and `Recall`: `tp / (tp + other)`, `_cells` naming true positives, then the other cell."""

    _direction = "up"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.top_k = top_k
        self.class_id = class_id
        super().__init__(thresholds, name, dtype, default_threshold=0.5 if top_k is None else NEG_INF)

    def result(self) -> torch.Tensor:
        """Return the ratio (0-d with one threshold, else one value per threshold)."""
        (_, true_positives), (_, other) = self._accumulators
        tp = true_positives.value
        return self._per_threshold(_divide_no_nan(tp, tp + other.value))

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class TruePositives(_ConfusionCount):
    """Weighted number of true positives (prediction above threshold, label non-zero).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1] (default 0.5).
        name: the metric's name (default `"true_positives"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = TruePositives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        tensor(2.)
    """

    _cells = ((TP, "accumulator"),)


class FalsePositives(_ConfusionCount):
    """Weighted number of false positives (prediction above threshold, label zero).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1] (default 0.5).
        name: the metric's name (default `"false_positives"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = FalsePositives(); m.update_state([0, 1, 0, 0], [0, 0, 1, 1]); m.result()
        tensor(2.)
    """

    _cells = ((FP, "accumulator"),)


class TrueNegatives(_ConfusionCount):
    """Weighted number of true negatives (prediction at or below threshold, label zero).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1] (default 0.5).
        name: the metric's name (default `"true_negatives"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = TrueNegatives(); m.update_state([0, 1, 0, 0], [1, 1, 0, 0]); m.result()
        tensor(2.)
    """

    _cells = ((TN, "accumulator"),)


class FalseNegatives(_ConfusionCount):
    """Weighted number of false negatives (prediction at or below threshold, label non-zero).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1] (default 0.5).
        name: the metric's name (default `"false_negatives"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = FalseNegatives(); m.update_state([0, 1, 1, 1], [0, 1, 0, 0]); m.result()
        tensor(2.)
    """

    _cells = ((FN, "accumulator"),)
