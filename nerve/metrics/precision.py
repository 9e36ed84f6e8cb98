"""`Precision`: the fraction of predicted positives that are truly positive."""

from __future__ import annotations

from nerve.metrics.confusion import FP, TP, _PrecisionRecall

__all__ = ["Precision"]


class Precision(_PrecisionRecall):
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

    _cells = ((TP, "true_positives"), (FP, "false_positives"))
