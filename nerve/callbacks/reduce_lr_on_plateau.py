"""ReduceLROnPlateau: lower the learning rate when a monitored quantity stops improving."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from nerve.callbacks.callback import print_msg
from nerve.callbacks.monitor import MonitorCallback, is_improvement

__all__ = ["PlateauDecision", "ReduceLROnPlateau", "plateau_decision", "read_learning_rate"]


class PlateauDecision(NamedTuple):
    """What one epoch means for ReduceLROnPlateau."""

    improved: bool  # the value becomes the best
    wait: int  # epochs without improvement, after this one
    cooldown_counter: int  # cooldown epochs still to go
    reduce: bool  # lower the learning rate now (if it is still above min_lr)


def plateau_decision(
    current: float, best: float | None, wait: int, cooldown_counter: int, *,
    mode: str, min_delta: float, patience: int,
) -> PlateauDecision:
    """Keras 3's rule for one epoch, as a pure function.

    A cooldown epoch counts down and clears `wait`; an improvement clears
    `wait`; otherwise, outside cooldown, `wait` grows and reaching `patience`
    asks for a reduction (the caller then restarts the cooldown and `wait`).

    Example:
        >>> plateau_decision(1.0, 0.9, wait=1, cooldown_counter=0, mode="min", min_delta=1e-4, patience=2)
        PlateauDecision(improved=False, wait=2, cooldown_counter=0, reduce=True)
    """
    if cooldown_counter > 0:
        cooldown_counter -= 1
        wait = 0
    if is_improvement(current, best, mode, min_delta):
        return PlateauDecision(True, 0, cooldown_counter, False)
    if cooldown_counter > 0:
        return PlateauDecision(False, wait, cooldown_counter, False)
    wait += 1
    return PlateauDecision(False, wait, cooldown_counter, wait >= patience)


def read_learning_rate(model: Any, owner: str) -> float:
    """The model's optimizer's current learning rate as a float, or a clear error."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"{owner} needs a compiled model whose optimizer has a `learning_rate`. "
            f"Received: optimizer={optimizer!r}. help: call model.compile(optimizer=...) before fit."
        )
    return float(np.asarray(optimizer.learning_rate))


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    Adds `learning_rate` (the rate used during the epoch) to the epoch logs,
    so it appears in History.

    Args:
        monitor: the log key to watch (default "val_loss").
        factor: new_lr = lr * factor, below 1 (default 0.1).
        patience: epochs without improvement before reducing (default 10).
        verbose: 1 prints a message at each reduction (default 0).
        mode: "auto", "min" or "max" (default "auto").
        min_delta: an epoch improves only if it beats the best by more than this (default 1e-4).
        cooldown: epochs to wait after a reduction before counting again (default 0).
        min_lr: the learning rate never goes below this (default 0.0).

    Example:
        >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
        >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if "epsilon" in kwargs:  # Keras 2's name of min_delta
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: `epsilon` is Keras 2's name of `min_delta`; use min_delta.",
                          stacklevel=2)
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau got unexpected arguments {sorted(kwargs)}. Valid arguments: monitor, factor, "
                "patience, verbose, mode, min_delta, cooldown, min_lr."
            )
        super().__init__(monitor, mode, min_delta, verbose)
        if not float(factor) < 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0 (it would not reduce). Received: factor={factor}"
            )
        if patience < 0 or cooldown < 0:
            raise ValueError(
                f"ReduceLROnPlateau: patience and cooldown must be >= 0. Received: patience={patience}, "
                f"cooldown={cooldown}"
            )
        self.factor = float(factor)
        self.patience = int(patience)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs if logs is not None else {}
        old_lr = read_learning_rate(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = old_lr
        current = self._monitor_value(logs, epoch)
        if current is None:
            return
        decision = plateau_decision(
            current, self.best, self.wait, self.cooldown_counter, mode=self.monitor_mode or "min",
            min_delta=self.min_delta, patience=self.patience,
        )
        self.wait, self.cooldown_counter = decision.wait, decision.cooldown_counter
        if decision.improved:
            self.best = current
        if decision.reduce and old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.", flush=True)
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "wait": self.wait, "cooldown_counter": self.cooldown_counter}
