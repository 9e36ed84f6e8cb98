"""ProgbarLogger: the progress bar of fit/evaluate/predict at verbose 1 or 2."""

from __future__ import annotations

import time
from typing import Any

from nerve.callbacks.callback import Callback
from nerve.utils.progbar import Progbar

__all__ = ["ProgbarLogger"]


class ProgbarLogger(Callback):
    """Prints Keras's progress bar (verbose=1) or one line per epoch (verbose=2).

    `fit`, `evaluate` and `predict` add one when `verbose` is not 0. Running
    metrics are read from the device only when the bar is redrawn (at most
    every `interval` seconds), so the bar does not slow the training step.

    Args:
        verbose: 1 for a live bar, 2 for one line per epoch (default 1).
        interval: minimum seconds between redraws (default 0.05).
    """

    _main_process_only = True  # data-parallel jobs: only rank 0 prints and writes (CallbackList)

    _reads_lazy_logs = True  # takes LazyLogs and reads them only when it redraws

    def __init__(self, verbose: int = 1, interval: float = 0.05) -> None:
        super().__init__()
        self.verbose = verbose
        self.interval = interval
        self.progbar: Progbar | None = None
        self._last_draw = 0.0
        self._in_fit = False

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", self.verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self, target: int | None) -> None:
        # The trainer passes running epoch averages: show them as given.
        self.progbar = Progbar(target=target, verbose=self.verbose, interval=self.interval, unit_name="step",
                               stateless_metrics=())
        self._last_draw = 0.0

    def _update(self, step: int, logs: Any, finalize: bool = False) -> None:
        if self.progbar is None:
            return
        if not finalize and (self.verbose != 1 or not self.progbar.dynamic):
            return  # nothing would be drawn: do not read values from the device
        now = time.monotonic()
        if not finalize and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        if finalize and self.progbar.target is None:
            self.progbar.target = step
        self.progbar.update(step, values=list(logs.items()) if logs else [], finalize=finalize)

    # fit
    def on_train_begin(self, logs: Any = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Any = None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self._new_bar(self.target)
        self._seen = 0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._seen = batch + 1
        self._update(batch + 1, logs)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._update(self.target or self._seen, logs, finalize=True)

    # evaluate (not the validation inside fit, which shows in the epoch line)
    def on_test_begin(self, logs: Any = None) -> None:
        if not self._in_fit:
            self._new_bar(self.target)
            self._seen = 0

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        if not self._in_fit:
            self._seen = batch + 1
            self._update(batch + 1, logs)

    def on_test_end(self, logs: Any = None) -> None:
        if not self._in_fit:
            self._update(self.target or self._seen, logs, finalize=True)

    # predict
    def on_predict_begin(self, logs: Any = None) -> None:
        self._new_bar(self.target)
        self._seen = 0

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._seen = batch + 1
        self._update(batch + 1, None)

    def on_predict_end(self, logs: Any = None) -> None:
        self._update(self.target or self._seen, None, finalize=True)
