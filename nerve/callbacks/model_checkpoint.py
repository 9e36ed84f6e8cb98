"""ModelCheckpoint: save the model (or its weights) during training, optionally only the best."""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from typing import Any

from nerve.callbacks.callback import print_msg
from nerve.callbacks.monitor import MonitorCallback
from nerve.distribution.runtime import is_main_process

__all__ = ["CheckpointPathError", "ModelCheckpoint", "template_fields"]


class CheckpointPathError(KeyError):
    """A ModelCheckpoint file path names a key that is not in the logs (a KeyError, printed plainly)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def template_fields(filepath: str) -> list[str]:
    """The names a `str.format` template uses: ['epoch', 'val_accuracy'] for 'm_{epoch:02d}_{val_accuracy:.2f}.h5'."""
    try:
        parsed = list(string.Formatter().parse(filepath))
    except ValueError as e:
        raise ValueError(
            f"ModelCheckpoint: the file path is not a valid format template ({e}). Use names in braces such "
            "as 'model_{epoch:02d}_{val_loss:.2f}.h5', and double braces {{ }} for literal ones. "
            f"Received: filepath={filepath!r}"
        ) from None
    names = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        base = field.split(".", 1)[0].split("[", 1)[0]
        if base == "" or base.isdigit():
            raise ValueError(
                "ModelCheckpoint: the file path has a positional placeholder '{}'; name what goes there, "
                f"e.g. {{epoch:02d}} or {{val_loss:.4f}}. Received: filepath={filepath!r}"
            )
        if base not in names:
            names.append(base)
    return names


class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights each epoch (or every `save_freq` batches).

    Args:
        filepath: where to save (str or os.PathLike). It may name `epoch`
            (1-based), `batch` (1-based, with an integer `save_freq`) and any log
            key, e.g. 'dm_{epoch:02d}_{val_accuracy:0.2f}.hdf5'. Missing folders
            are created. `.keras`, `.h5` and `.hdf5` paths are accepted.
        monitor: the log key that decides what is best (default "val_loss").
        verbose: 1 prints a line at each save decision (default 0).
        save_best_only: save only when `monitor` improves on the best so far (default False).
        save_weights_only: call `model.save_weights` instead of `model.save` (default False).
        mode: "auto", "min" or "max" (default "auto").
        save_freq: "epoch" (default) or an integer: save every that many batches.
        initial_value_threshold: the best value to beat before the first save
            with `save_best_only` (default None: the first epoch is saved).

    `best` holds the best value so far; like in Keras it carries over to the
    next `fit` of the same callback, so continuing training never replaces a
    better file with a worse one.

    Example:
        >>> ckpt = ModelCheckpoint("best_model.h5", monitor="val_accuracy", save_best_only=True, verbose=1)
        >>> model.fit(x, y, epochs=20, validation_split=0.2, callbacks=[ckpt])
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, 0.0, verbose)
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(
                "ModelCheckpoint: filepath must be a string or os.PathLike such as 'model_{epoch:02d}.h5'. "
                f"Received: filepath={filepath!r}"
            )
        self.filepath = os.fspath(filepath)
        self._fields = template_fields(self.filepath)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(
                "ModelCheckpoint: save_freq must be 'epoch' or a positive integer (a number of batches). "
                f"Received: save_freq={save_freq!r}"
            )
        self.save_freq = save_freq
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.initial_value_threshold = initial_value_threshold
        self.best = None if initial_value_threshold is None else float(initial_value_threshold)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0

    def _reset(self) -> None:
        # `best` is kept across fits, as in Keras; only the batch counting restarts.
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None

    # ------------------------------------------------------------------ hooks
    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.save_freq == "epoch":
            return
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            self._batches_seen_since_last_saving += batch + 1  # a new epoch started
        else:
            self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save(self._current_epoch, batch, dict(logs or {}))

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, dict(logs or {}))

    # ------------------------------------------------------------------ saving
    def _file_path(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> str:
        given = {"epoch": epoch + 1, **logs}
        if batch is not None and "batch" not in logs:
            given["batch"] = batch + 1
        missing = [name for name in self._fields if name not in given]
        if missing:
            where = "batch" if batch is not None else "epoch"
            hint = ""
            if any(m.startswith("val_") for m in missing):
                hint = (" Validation keys exist only at epoch ends of a fit with validation data"
                        + (" (not in batch logs: use save_freq='epoch')." if batch is not None else "."))
            raise CheckpointPathError(
                f"ModelCheckpoint cannot fill the file path {self.filepath!r}: "
                f"{', '.join(repr(m) for m in missing)} {'is' if len(missing) == 1 else 'are'} not among the "
                f"{where} logs. Available keys: {', '.join(repr(k) for k in given)}.{hint} "
                "help: fix the name in braces, or add the metric in compile(metrics=[...])."
            )
        return self.filepath.format(**given)

    def _should_save(self, epoch: int, logs: Mapping[str, Any], filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = self._monitor_value(logs, epoch)
        if current is None:
            return False
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._improved(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}", flush=True)
        return False

    def _save(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> None:
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if not is_main_process():
            return  # data-parallel: every process tracks `best` alike, rank 0 writes the file once
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"ModelCheckpoint: the file path {filepath!r} is an existing directory. "
                "help: give a file name such as 'checkpoints/model_{epoch:02d}.h5'."
            )
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "_batches_seen_since_last_saving": self._batches_seen_since_last_saving,
                "_last_batch_seen": self._last_batch_seen}

