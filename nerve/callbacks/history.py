"""History: records every epoch's logs; `model.fit()` returns it."""

from __future__ import annotations

from typing import Any

from nerve.callbacks.callback import Callback

__all__ = ["History"]


class History(Callback):
    """Records the metrics of each epoch in `history.history`, a dict of lists.

    `fit` always adds one and returns it. Keys are the log names, e.g. `loss`,
    `accuracy`, `val_loss`, `val_accuracy`; each list has one value per epoch.

    Example:
        >>> h = model.fit(x, y, epochs=3, validation_split=0.2)
        >>> h.history["val_loss"]
        [0.41, 0.33, 0.30]
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"
