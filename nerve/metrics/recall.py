"""`Recall`: the fraction of true positives that are predicted positive."""

from __future__ import annotations

from nerve.metrics.confusion import FN, TP, _PrecisionRecall

__all__ = ["Recall"]


class Recall(_PrecisionRecall):
    """Recall `tp / (tp + fn)`, with predictions thresholded (or restricted to the top `k`).

    Args:
        thresholds: a threshold or list of thresholds in [0, 1]; predictions above
            count as positive (default 0.5, or "any top-k prediction" with `top_k`).
        top_k: only the `k` highest predictions per sample can be positive (default None).
        class_id: compute the metric for this class only (default None).
        name: the metric's name (default `"recall"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Recall(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        tensor(0.6667)
    """

    _cells = ((TP, "true_positives"), (FN, "false_negatives"))
