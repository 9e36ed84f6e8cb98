"""EarlyStopping: stop fit when a monitored quantity stops improving."""

from __future__ import annotations

from typing import Any, NamedTuple

from nerve.callbacks.callback import print_msg
from nerve.callbacks.monitor import MonitorCallback, is_improvement

__all__ = ["EarlyStopping", "StopDecision", "early_stopping_decision"]


class StopDecision(NamedTuple):
    """What one epoch means for EarlyStopping."""

    improved: bool  # beats the best so far: it becomes the best epoch
    wait: int  # epochs counted without improvement, after this one
    stop: bool  # stop training now


def early_stopping_decision(
    current: float, best: float | None, wait: int, epoch: int, *,
    mode: str, min_delta: float, patience: int, baseline: float | None,
) -> StopDecision:
    """Keras 3's rule for one epoch, as a pure function.

    The epoch counts towards `wait`; an improvement over `best` makes it the
    best epoch and resets `wait`, unless a `baseline` is set and not beaten.
    Without improvement, training stops once `wait >= patience` (never at epoch 0).

    Example:
        >>> early_stopping_decision(0.5, 0.4, wait=1, epoch=3, mode="min", min_delta=0,
        ...                         patience=2, baseline=None)
        StopDecision(improved=False, wait=2, stop=True)
    """
    wait += 1
    if is_improvement(current, best, mode, min_delta):
        if baseline is None or is_improvement(current, baseline, mode, min_delta):
            wait = 0
        return StopDecision(True, wait, False)
    return StopDecision(False, wait, wait >= patience and epoch > 0)


def _non_negative_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{owner}: {name} must be an integer >= 0. Received: {name}={value!r}")
    return value


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the log key to watch (default "val_loss").
        min_delta: an epoch improves only if it beats the best by more than this (default 0).
        patience: epochs without improvement after which training stops (default 0).
        verbose: 1 prints "Epoch N: early stopping" and the restore message (default 0).
        mode: "auto", "min" or "max" (default "auto": names ending in loss are
            minimised, accuracy-like names such as accuracy, auc, precision,
            recall, f1 are maximised; nerve decides where Keras would raise).
        baseline: the training stops unless the best value beats this within
            `patience` epochs (default None; Keras 3's rule).
        restore_best_weights: at the end of training, put back the weights of
            the best epoch, whether training stopped early or not (default False).
        start_from_epoch: epochs to ignore before watching (default 0).

    After `fit`, `stopped_epoch` (0-based, 0 if it never stopped), `best`,
    `best_epoch` and `wait` can be read.

    Example:
        >>> es = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
        >>> model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[es])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta, verbose)
        self.patience = _non_negative_int("EarlyStopping", "patience", patience)
        self.start_from_epoch = _non_negative_int("EarlyStopping", "start_from_epoch", start_from_epoch)
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        current = self._monitor_value(logs, epoch)
        if current is None or epoch < self.start_from_epoch:
            return
        decision = early_stopping_decision(
            current, self.best, self.wait, epoch, mode=self.monitor_mode or "min",
            min_delta=self.min_delta, patience=self.patience, baseline=self.baseline,
        )
        self.wait = decision.wait
        if decision.improved:
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        elif self.restore_best_weights and self.best_weights is None:
            # Resumed without weights: the first watched epoch is the fallback.
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        if decision.stop:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Any = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}
