"""The shared base of callbacks that watch one logged quantity (EarlyStopping, ModelCheckpoint, ...).

Deciding lives in pure functions (`resolve_mode`, `is_improvement`); the
`MonitorCallback` class only reads the value from the logs, resolves the mode
once, refuses or warns when the value is missing (see `missing_monitor`) and
keeps the per-run state.
"""

from __future__ import annotations

import copy
import difflib
import math
import warnings
from collections.abc import Mapping
from typing import Any

from nerve.callbacks.callback import Callback, print_msg

__all__ = ["MonitorCallback", "is_improvement", "missing_monitor", "resolve_mode", "scalar_or_none"]

MODES = ("auto", "min", "max")

# Words that mark a quantity where higher is better (matched on whole `_`-separated words).
_HIGHER_IS_BETTER = frozenset({
    "accuracy", "acc", "auc", "prc", "precision", "recall", "f1", "fbeta", "r2", "iou",
    "similarity", "sensitivity", "specificity", "dice", "psnr", "ssim",
})


def resolve_mode(monitor: str, mode: str = "auto", directions: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Decide whether `monitor` should go down ('min') or up ('max').

    Args:
        monitor: the log key, e.g. "val_loss" or "val_accuracy".
        mode: "min" or "max" are returned as given; "auto" decides (default "auto").
        directions: optional {metric name: "up" | "down"} from the model's metric objects.

    Returns:
        `(mode, reason)`, reason being "given", "loss", "metric" or "name":
        names ending in `loss` are minimised; then a metric's own direction
        decides; otherwise names containing a word such as accuracy, acc, auc,
        precision, recall, f1, r2 or iou are maximised and all others minimised.

    Example:
        >>> resolve_mode("val_accuracy")
        ('max', 'name')
    """
    if mode in ("min", "max"):
        return mode, "given"
    name = monitor.removeprefix("val_")
    words = [w for w in name.lower().split("_") if w]
    while len(words) > 1 and words[-1].isdigit():  # "auc_1", "precision_2"
        words.pop()
    if words and words[-1] == "loss":
        return "min", "loss"
    if directions:
        direction = directions.get(name)
        if direction in ("up", "down"):
            return ("max" if direction == "up" else "min"), "metric"
    if any(w in _HIGHER_IS_BETTER for w in words):
        return "max", "name"
    return "min", "name"


def is_improvement(current: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """True if `current` beats `best` by more than `min_delta` in direction `mode`.

    Keras's rule: with mode "min", `current + min_delta < best`; with "max",
    `current - min_delta > best` (min_delta is taken as its absolute value).
    Anything beats `best=None`; NaN never improves.

    Example:
        >>> is_improvement(0.30, 0.31, "min", min_delta=0.02)
        False
    """
    if best is None:
        return True
    delta = abs(min_delta)
    if mode == "min":
        return current + delta < best
    if mode == "max":
        return current - delta > best
    raise ValueError(f"mode must be 'min' or 'max' here (resolve 'auto' first). Received: mode={mode!r}")


def scalar_or_none(value: Any) -> float | None:
    """The value as a Python float, or None if it is missing or not a single number."""
    if value is None:
        return None
    try:
        size = getattr(value, "size", None)
        if callable(getattr(value, "numel", None)):
            size = value.numel()
        if size is not None and size != 1:
            return None
        return float(value)
    except (TypeError, ValueError):
        return None


def missing_monitor(monitor: str, keys: list[str]) -> str:
    """Why `monitor` is not among the logged `keys`: "unknown", "no_validation" or "" (it is there).

    "unknown": neither the key nor, for a `val_` key, its training counterpart is logged, so no
    epoch of this fit will ever log it (a misspelt or never-compiled metric). "no_validation":
    a `val_` key whose training counterpart is logged: validation did not run at this epoch
    (no validation data, or `validation_freq` skipped it), so it may appear later. With no keys
    at all nothing can be told, and the answer is "no_validation" (the lenient one).

    Example:
        >>> missing_monitor("val_acc", ["loss", "accuracy", "val_loss", "val_accuracy"])
        'unknown'
    """
    if monitor in keys:
        return ""
    base = monitor.removeprefix("val_")
    return "no_validation" if not keys or (base != monitor and base in keys) else "unknown"


def _check_mode(mode: str, owner: str) -> str:
    if mode not in MODES:
        warnings.warn(
            f"{owner}: mode {mode!r} is unknown; falling back to 'auto'. Valid modes: 'auto', 'min', 'max'.",
            stacklevel=3,
        )
        return "auto"
    return mode


class MonitorCallback(Callback):
    """Base of callbacks that act on one logged quantity; subclasses add only their action.

    A monitor that no epoch of the fit can log (a typo such as 'val_acc' when the logs hold
    'val_accuracy', or a metric that was not compiled) raises a ValueError at the end of the
    first epoch: the earliest point where the logs are known, since metrics are resolved on the
    first batch and other callbacks may add keys. Training stops there, before any further step.
    Keras 3 also raises there for such a name in mode "auto" (it cannot tell its direction), and
    only warns with mode "min"/"max"; nerve raises in every mode, naming the logged keys and the
    closest one. A `val_` monitor at an epoch without validation (none given, or skipped by
    `validation_freq`) warns once per fit, as in Keras.

    Args:
        monitor: the log key to watch (default "val_loss").
        mode: "auto", "min" or "max" (default "auto"; see `resolve_mode`).
        min_delta: smallest change that counts as an improvement (default 0).
        verbose: 0 silent, 1 prints actions (default 0).

    Subclasses put their per-run state in `_reset()`; `on_train_begin` calls it
    unless `load_state_dict()` was just called (so a resumed run continues).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", min_delta: float = 0.0,
                 verbose: int = 0) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(
                f"{type(self).__name__}: monitor must be the name of a logged quantity such as "
                f"'val_loss' or 'val_accuracy'. Received: monitor={monitor!r}"
            )
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or math.isnan(min_delta):
            raise TypeError(f"{type(self).__name__}: min_delta must be a number. Received: min_delta={min_delta!r}")
        self.monitor = monitor
        self.mode = _check_mode(mode, type(self).__name__)
        self.min_delta = abs(float(min_delta))
        self.verbose = verbose
        self.best: float | None = None
        self.monitor_mode: str | None = None  # "min" or "max" once resolved
        self._warned_missing = False
        self._keep_state = False

    # ------------------------------------------------------------------ per run
    def _reset(self) -> None:
        """Clear the state of one training run (override and call super)."""

    def on_train_begin(self, logs: Any = None) -> None:
        self._warned_missing = False
        if self._keep_state:
            self._keep_state = False
            return
        self._reset()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._keep_state = False

    # ------------------------------------------------------------------ reading
    def _metric_directions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for metric in getattr(self.model, "metrics", None) or ():
            direction = getattr(metric, "_direction", None)
            name = getattr(metric, "name", None)
            if name and direction:
                out[name] = direction
        return out

    def _resolve(self, epoch: int) -> str:
        if self.monitor_mode is None:
            directions = self._metric_directions() if self.mode == "auto" and self.model is not None else None
            self.monitor_mode, reason = resolve_mode(self.monitor, self.mode, directions)
            if reason == "name" and self.verbose > 0:
                better = "higher" if self.monitor_mode == "max" else "lower"
                print_msg(f"\nEpoch {epoch + 1}: {type(self).__name__} watches {self.monitor!r} in mode "
                      f"'{self.monitor_mode}' ({better} is better), decided from its name by mode='auto'. "
                      "Pass mode='min' or mode='max' to choose.", flush=True)
        return self.monitor_mode

    def _monitor_value(self, logs: Mapping[str, Any] | None, epoch: int) -> float | None:
        """The monitored value as a float, or None (with one warning per fit) if it is not logged."""
        self._resolve(epoch)
        logs = logs if logs is not None else {}
        value = scalar_or_none(logs.get(self.monitor))
        if value is None and missing_monitor(self.monitor, list(logs)) == "unknown":
            raise ValueError(self._unknown_monitor_message(list(logs), epoch))
        if value is None and not self._warned_missing:
            self._warned_missing = True
            available = ", ".join(repr(k) for k in logs) or "none"
            hint = ""
            if self.monitor.startswith("val_") and not any(str(k).startswith("val_") for k in logs):
                hint = " Validation metrics appear only when fit gets validation_data or validation_split."
            warnings.warn(
                f"{type(self).__name__} is conditioned on {self.monitor!r}, which is not in the logs of "
                f"epoch {epoch + 1}, so it does nothing at such epochs. Available keys: {available}.{hint}",
                stacklevel=3,
            )
        return value

    def _unknown_monitor_message(self, keys: list[str], epoch: int) -> str:
        close = difflib.get_close_matches(self.monitor, keys, n=2, cutoff=0.6)
        hint = f" help: did you mean {' or '.join(repr(k) for k in close)}?" if close else ""
        return (
            f"{type(self).__name__}(monitor={self.monitor!r}): no epoch of this fit logs {self.monitor!r}, so "
            f"the callback could never act on it (checked at the end of epoch {epoch + 1}). Logged keys: "
            f"{', '.join(repr(k) for k in keys)}.{hint} Pass one of the logged keys as monitor, or add the "
            "metric to compile(metrics=[...]) (validation keys are the same names with 'val_'); a key another "
            "callback writes must come from a callback placed before this one in the callbacks list."
        )

    def _improved(self, current: float, reference: float | None) -> bool:
        return is_improvement(current, reference, self.monitor_mode or "min", self.min_delta)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The state a resumed run needs to continue exactly."""
        return {"best": self.best, "monitor_mode": self.monitor_mode}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`'s output; the next `fit` continues from it instead of starting afresh."""
        valid = set(self.state_dict())
        unknown = sorted(set(state) - valid)
        if unknown:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: unknown keys {unknown}. Valid keys: {sorted(valid)}"
            )
        for key, value in state.items():
            setattr(self, key, copy.deepcopy(value))
        self._keep_state = True
