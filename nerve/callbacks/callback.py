"""The Callback base class, with every hook Keras calls during fit/evaluate/predict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nerve.models.model import Model

__all__ = ["Callback"]

Logs = dict[str, Any] | None


def print_msg(*args: Any, **kwargs: Any) -> None:
    """`print` for callbacks' messages: on rank 0 only in a data-parallel job."""
    from nerve.distribution.runtime import is_main_process

    if is_main_process():
        print(*args, **kwargs)


class Callback:
    """Base class for objects that act at points of training, evaluation and prediction.

    Subclass it and override the hooks you need. `self.model` is the model being
    trained; set `self.model.stop_training = True` to stop `fit` after the
    current batch. `self.params` holds `epochs`, `steps` and `verbose`.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._model: "Model | None" = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: "Model") -> None:
        self._model = model

    @property
    def model(self) -> "Model":
        return self._model  # type: ignore[return-value]

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Backwards-compatible alias of `on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Backwards-compatible alias of `on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of an epoch (0-based) during fit."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of an epoch with its metrics, `val_` ones included."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each training batch with the running epoch averages."""
        self.on_batch_end(batch, logs=logs)

    def on_before_optimizer_step(self, batch: int, logs: Logs = None) -> None:
        """Called in fit after the backward pass, before the optimizer step; grads are in `weight.value.grad`.

        A nerve extension (PyTorch Lightning's hook of the same name): Keras has
        no such hook. `nerve.callbacks.GradientMonitor` uses it. Only callbacks
        that override it are called, so it costs nothing otherwise.
        """

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of evaluate (and of validation inside fit)."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of evaluate (and of validation inside fit)."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of predict."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of predict; `logs["outputs"]` holds its outputs."""

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once when fit starts."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once when fit ends (also after early stopping)."""

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called when evaluate (or validation) starts."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called when evaluate (or validation) ends, with its results."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called when predict starts."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called when predict ends."""
