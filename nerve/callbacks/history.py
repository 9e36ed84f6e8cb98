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

    @classmethod
    def from_dict(cls, history: dict[str, list[Any]], epoch: list[int] | None = None) -> "History":
        """A History holding `history` (e.g. a saved `h.history` dict), not attached to a model.

        Example:
            >>> h = History.from_dict({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
            >>> h.epoch
            [0, 1]
        """
        out = cls()
        out.history = {str(k): [float(v) if isinstance(v, (int, float)) else v for v in values]
                       for k, values in history.items()}
        n = max((len(v) for v in out.history.values()), default=0)
        out.epoch = list(epoch) if epoch is not None else list(range(n))
        return out

    def to_dataframe(self) -> Any:
        """The history as a pandas DataFrame: one row per epoch (index `epoch`), one column per key.

        Needs pandas (`pip install pandas`).

        Example:
            >>> df = model.fit(x, y, epochs=5, validation_split=0.2).to_dataframe()
            >>> df["val_loss"].idxmin()
        """
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError("History.to_dataframe() needs pandas: pip install pandas") from err
        n = len(self.epoch)
        columns = {k: list(v) + [float("nan")] * (n - len(v)) for k, v in self.history.items()}
        return pd.DataFrame(columns, index=pd.Index(self.epoch, name="epoch"))

    def plot(self, **kwargs: Any) -> Any:
        """Draw loss and metric curves, train solid and validation dashed, best epoch marked.

        Needs matplotlib (`pip install nerve[plot]`). Keyword arguments go to
        `nerve.experiments.plot_history` (e.g. `metrics=`, `monitor=`, `path=`
        to save a PNG). Returns the matplotlib Figure.

        Example:
            >>> model.fit(x, y, epochs=20, validation_split=0.2).plot(path="curves.png")
        """
        from nerve.experiments.plots import plot_history

        return plot_history(self, **kwargs)

    def diagnose(self, **kwargs: Any) -> Any:
        """Say, with numbers, what the curves show: best epoch, overfitting, underfitting, NaN, plateau.

        Keyword arguments go to `nerve.experiments.diagnose` (e.g. `monitor=`,
        `gradient_norms=`). Returns a `Diagnosis`; `print()` it for the report.

        Example:
            >>> print(model.fit(x, y, epochs=30, validation_split=0.2).diagnose())
        """
        from nerve.experiments.diagnosis import diagnose

        return diagnose(self, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # Picklable without the model (runs come back from worker processes).
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"
