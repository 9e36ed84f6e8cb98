"""TensorBoard: write training curves (and optionally weight histograms) for TensorBoard to display."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np

from nerve.callbacks.callback import Callback
from nerve.callbacks.monitor import scalar_or_none

__all__ = ["TensorBoard"]

_INSTALL_HINT = "pip install tensorboard  (or: pip install 'nerve[tensorboard]')"


def _summary_writer_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # torch's writer needs the tensorboard package
        raise ImportError(
            f"The TensorBoard callback writes event files with the `tensorboard` package, which is not "
            f"installed. help: {_INSTALL_HINT}"
        ) from e
    return SummaryWriter


def weight_image(weight: np.ndarray) -> np.ndarray | None:
    """Keras's picture of a weight as NHWC images (bias: one column; kernel: one image), or None."""
    w = np.squeeze(weight)
    if w.ndim == 1:
        return w.reshape(1, w.shape[0], 1, 1)
    if w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        return w.reshape(1, w.shape[0], w.shape[1], 1)
    if w.ndim == 3:  # channels last: one image per channel
        w = np.transpose(w, (2, 0, 1))
        return w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
    return None


class TensorBoard(Callback):
    """Write event files that TensorBoard reads: the epoch metrics, and optionally batch metrics and weights.

    Training values go to `log_dir/train` and validation values to
    `log_dir/validation`, under Keras's tags `epoch_loss`, `epoch_accuracy`, ...
    (validation values drop their `val_` prefix), plus `epoch_learning_rate`.
    View them with `tensorboard --logdir logs`. Needs the `tensorboard` package.

    Args:
        log_dir: the folder for the event files (default "logs").
        histogram_freq: every this many epochs, write a histogram of each weight
            (default 0: never).
        write_graph: accepted for Keras compatibility; nerve writes no graph (default True).
        write_images: with `histogram_freq`, also write the weights as images (default False).
        write_steps_per_second: also log training steps per second (default False).
        update_freq: "epoch" (default), "batch", or an integer N: also write
            `batch_*` values every N batches (each write reads the values from the device).
        profile_batch: accepted for Keras compatibility; profiling is not supported (default 0).
        embeddings_freq: accepted for Keras compatibility; not supported (default 0).
        embeddings_metadata: accepted for Keras compatibility (default None).

    Example:
        >>> tb = TensorBoard(log_dir="logs/run1", histogram_freq=1)
        >>> model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[tb])
    """

    _main_process_only = True  # data-parallel jobs: only rank 0 prints and writes (CallbackList)

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: Any = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0. Received: {histogram_freq!r}")
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(
                "TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer. "
                f"Received: update_freq={update_freq!r}"
            )
        self.update_freq = update_freq
        if profile_batch not in (0, None, "0", (0, 0)):
            warnings.warn("TensorBoard: nerve does not profile batches; profile_batch is ignored. "
                          "help: use torch.profiler to profile a training step.", stacklevel=2)
        if embeddings_freq:
            warnings.warn("TensorBoard: nerve does not write embeddings for the projector; embeddings_freq "
                          "is ignored.", stacklevel=2)
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0
        self._batch_start_time = 0.0

    # ------------------------------------------------------------------ writers
    def _writer(self, which: str) -> Any:
        if which not in self._writers:
            folder = self._train_dir if which == "train" else self._val_dir
            self._writers[which] = self._writer_class(log_dir=folder)
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        return int(iterations) if iterations is not None else 0

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        return scalar_or_none(getattr(optimizer, "learning_rate", None)) if optimizer is not None else None

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: Any = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: Any = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start_time = time.perf_counter()
            self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self.write_steps_per_second:
            self._batch_start_time = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._global_train_batch += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._batch_start_time
            if seconds > 0:
                writer.add_scalar("batch_steps_per_second", 1.0 / seconds, step)
        for name, value in (logs or {}).items():
            number = scalar_or_none(value)
            if number is not None:
                writer.add_scalar(f"batch_{name}", number, step)

    def on_test_end(self, logs: Any = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations") or not logs:
            return
        writer = self._writer("validation")
        step = self._iterations()
        for name, value in logs.items():
            number = scalar_or_none(value)
            if number is not None:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", number, step)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if train or val:
            lr = self._learning_rate()
            if lr is not None:
                train["learning_rate"] = lr
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start_time
            if seconds > 0:
                train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / seconds
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(which)
            for name, value in values.items():
                number = scalar_or_none(value)
                if number is not None:
                    writer.add_scalar(f"epoch_{name}", number, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in getattr(self.model, "layers", ()):
            for weight in getattr(layer, "weights", ()):
                name = str(getattr(weight, "path", None) or getattr(weight, "name", "weight")).replace(":", "_")
                values = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight, dtype=np.float32)
                writer.add_histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = weight_image(values)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")
