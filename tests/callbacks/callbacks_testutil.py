"""Stub models and drivers that feed scripted metric sequences straight into callback hooks.

The same stub serves nerve's callbacks and Keras's, so each scripted case can
be compared with the oracle.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

import nerve


class StubOptimizer:
    """Holds a float32 learning rate, like nerve's and Keras's optimizers."""

    def __init__(self, learning_rate: float = 1.0) -> None:
        self.learning_rate = learning_rate
        self.iterations = 0

    @property
    def learning_rate(self) -> float:
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._lr = float(np.float32(value))


class StubModel:
    """A model whose weights are one number: the epoch that last 'trained' it."""

    def __init__(self, learning_rate: float = 1.0) -> None:
        self.stop_training = False
        self.marker = -1
        self.optimizer = StubOptimizer(learning_rate)
        self.metrics: list[Any] = []
        self.saved: list[tuple[str, str]] = []

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(self.marker)]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self.marker = int(weights[0])

    def _write(self, kind: str, path: str) -> None:
        self.saved.append((kind, os.fspath(path)))
        with open(path, "w") as f:
            f.write(kind)

    def save(self, path: str, overwrite: bool = True) -> None:
        self._write("model", path)

    def save_weights(self, path: str, overwrite: bool = True) -> None:
        self._write("weights", path)


def drive(callback: Any, values: Sequence[float], monitor: str = "val_loss", model: StubModel | None = None,
          extra: dict[str, float] | None = None, batches: int = 0) -> dict[str, Any]:
    """Run one scripted 'fit': epoch e logs `{monitor: values[e]}`; stops when the callback says so.

    Returns the epoch training stopped at (None if never), the learning rate
    in force during each epoch, the logs each epoch ended with and the model.
    """
    model = model if model is not None else StubModel()
    model.stop_training = False
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": batches, "verbose": 0})
    callback.on_train_begin({})
    stopped, lrs, logs_seen = None, [], []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch, {})
        lrs.append(float(np.asarray(model.optimizer.learning_rate)))
        model.marker = epoch
        for b in range(batches):
            callback.on_train_batch_begin(b, {})
            callback.on_train_batch_end(b, {"loss": float(value)})
        logs = {"loss": 1.0, monitor: value, **(extra or {})}
        callback.on_epoch_end(epoch, logs)
        logs_seen.append(logs)
        if model.stop_training:
            stopped = epoch
            break
    callback.on_train_end({})
    return {"stopped": stopped, "lrs": lrs, "logs": logs_seen, "model": model}


NAN = math.nan


def mlp(n_in: int = 64, n_out: int = 10, optimizer: Any = "adam", hidden: int = 32) -> nerve.Model:
    """A small compiled softmax classifier."""
    model = nerve.Sequential([nerve.Input((n_in,)), nerve.layers.Dense(hidden, activation="relu"),
                              nerve.layers.Dense(n_out, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
