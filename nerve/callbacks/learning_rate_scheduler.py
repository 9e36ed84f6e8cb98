"""LearningRateScheduler: set the learning rate at the start of each epoch from a function."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from nerve.callbacks.callback import Callback, print_msg
from nerve.callbacks.reduce_lr_on_plateau import read_learning_rate

__all__ = ["LearningRateScheduler", "schedule_arity"]


def schedule_arity(schedule: Callable[..., Any]) -> int:
    """2 if `schedule` can be called as `schedule(epoch, lr)`, 1 if only as `schedule(epoch)`, 0 if unknown."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):
        return 0
    try:
        signature.bind(0, 0.1)
        return 2
    except TypeError:
        pass
    try:
        signature.bind(0)
        return 1
    except TypeError as e:
        raise TypeError(
            "LearningRateScheduler: the schedule must accept `(epoch)` or `(epoch, lr)` and return the "
            f"learning rate. Received: {schedule!r} with signature {signature}"
        ) from e


def _as_learning_rate(value: Any, epoch: int) -> float:
    if isinstance(value, (bool, str)) or value is None:
        ok = False
    elif isinstance(value, numbers.Real):
        ok = True
    else:
        try:
            ok = np.asarray(value).size == 1
        except Exception:  # noqa: BLE001 - anything that is not array-like
            ok = False
    if not ok:
        raise ValueError(
            "The output of the `schedule` function should be a float (the learning rate). "
            f"Received: {value!r} at epoch {epoch}"
        )
    lr = float(np.asarray(value).reshape(()))
    if not lr >= 0:
        raise ValueError(f"The schedule returned a learning rate that is not >= 0. Received: {lr} at epoch {epoch}")
    return lr


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch from `schedule`.

    Adds `learning_rate` to the epoch logs, so it appears in History.

    Args:
        schedule: a function `schedule(epoch, lr) -> new_lr` (epoch 0-based,
            lr the current rate as a float) or `schedule(epoch) -> new_lr`.
            A second parameter with a default value also receives the current rate.
        verbose: 1 prints the rate set at each epoch (default 0).

    Example:
        >>> def scheduler(epoch, lr):
        ...     return lr if epoch < 10 else lr * math.exp(-0.1)
        >>> model.fit(x, y, epochs=15, callbacks=[LearningRateScheduler(scheduler)])
    """

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler needs a function schedule(epoch) or schedule(epoch, lr) returning the "
                f"learning rate. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._arity = schedule_arity(schedule)

    def _call_schedule(self, epoch: int, lr: float) -> Any:
        if self._arity == 2:
            return self.schedule(epoch, lr)
        if self._arity == 1:
            return self.schedule(epoch)
        try:  # no signature to read (a builtin or C function): try both, as Keras does
            return self.schedule(epoch, lr)
        except TypeError:
            return self.schedule(epoch)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        lr = read_learning_rate(self.model, "LearningRateScheduler")
        value = self._call_schedule(epoch, lr)
        new_lr = _as_learning_rate(value, epoch)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            shown = value if isinstance(value, (float, np.floating)) else new_lr
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {shown}.", flush=True)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if logs is not None:
            logs["learning_rate"] = read_learning_rate(self.model, "LearningRateScheduler")
