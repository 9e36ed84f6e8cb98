"""The nerve and Keras 3 peers: the same user code, with `keras` being nerve or Keras 3.

Exactly what a user writes: build the model, `compile(optimizer=Adam(1e-3),
loss="sparse_categorical_crossentropy", metrics=["accuracy"])`, `fit(x, y, batch_size,
epochs, validation_split, verbose=0, callbacks=[timer])` on numpy arrays, and
`predict(x, batch_size, verbose=0)`. The timer callback takes the time of each epoch from
`on_epoch_begin` to `on_epoch_end` (validation included).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from harness import keras_models
from harness.clock import EpochClock
from harness.workloads import Workload


def make_timer(keras: Any, start: float, result: dict[str, Any]) -> Any:
    clock = EpochClock(result, start)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            clock.begin()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            clock.end()
            logs = logs or {}
            for key in ("loss", "accuracy", "val_accuracy"):
                if key in logs:
                    result[key].append(float(logs[key]))

    return EpochTimer()


def train(keras: Any, workload: Workload, x: np.ndarray, y: np.ndarray, epochs: int) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    result: dict[str, Any] = {"epoch_s": [], "epoch_cpu_s": [], "loss": [], "accuracy": [], "val_accuracy": []}
    model = keras_models.build(keras, workload.name, workload.features)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=workload.batch, epochs=epochs, validation_split=workload.validation_split,
              verbose=0, callbacks=[make_timer(keras, start, result)])
    return result


def predict(keras: Any, workload: Workload, x: np.ndarray, repeats: int) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    result: dict[str, Any] = {"epoch_s": [], "epoch_cpu_s": []}
    model = keras_models.build(keras, workload.name)
    clock = EpochClock(result, start)
    for _ in range(repeats):
        clock.begin()
        out = model.predict(x, batch_size=workload.batch, verbose=0)
        clock.end()
    result["output_shape"] = list(np.shape(out))
    return result


def run(keras: Any, workload: Workload, data: tuple, epochs: int) -> dict[str, Any]:
    if workload.kind == "predict":
        return predict(keras, workload, data[0], epochs)
    return train(keras, workload, data[0], data[1], epochs)
