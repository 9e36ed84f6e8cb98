"""CSVLogger: write each epoch's logs as a row of a CSV file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import IO, Any

import numpy as np

from nerve.callbacks.callback import Callback

__all__ = ["CSVLogger"]


def _cell(value: Any) -> Any:
    """Keras's cell format: strings as they are, sequences as "[a, b]", numbers as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Write one CSV row per epoch: `epoch` (0-based) first, then the log keys in sorted order.

    The file is flushed after every row, so it can be read while training runs.

    Args:
        filename: the CSV file (str or os.PathLike); missing folders are created.
        separator: the column separator (default ",").
        append: continue an existing file instead of overwriting it (default
            False). The header is written only if the file is new or empty; an
            existing header fixes the columns, so rows stay aligned with it.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[CSVLogger("training.log")])
    """

    _main_process_only = True  # data-parallel jobs: only rank 0 prints and writes (CallbackList)

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger: filename must be a path. Received: filename={filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be a single character. Received: separator={separator!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: IO[str] | None = None
        self.writer: csv.DictWriter | None = None

    def _existing_header(self) -> list[str] | None:
        if not os.path.exists(self.filename):
            return None
        with open(self.filename, newline="") as f:
            first = f.readline()
        if not first.strip():
            return None
        return next(csv.reader([first], delimiter=self.sep))

    def on_train_begin(self, logs: Any = None) -> None:
        self.close()
        self.keys = None
        self.append_header = True
        if self.append:
            header = self._existing_header()
            if header is not None:
                self.append_header = False
                self.keys = [k for k in header if k != "epoch"]
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = dict(logs or {})
        if self.csv_file is None or self.csv_file.closed:  # used outside fit's on_train_begin
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                # Keras's layout: keep room for validation columns that may appear later.
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep,
                                         lineterminator="\n", extrasaction="ignore")
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{k: _cell(logs.get(k, "NA")) for k in self.keys}}
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Any = None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (fit does this at its end)."""
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None

