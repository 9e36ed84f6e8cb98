"""A loss that turns NaN mid-training: stop at that batch, keep the best checkpoint and the backup."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nerve
from nerve import callbacks
from nerve.layers import Dense, Layer

BATCH, SAMPLES = 10, 100  # 10 batches an epoch


class NaNAfter(Layer):
    """Passes its input through until it has been called `calls` times in training, then gives NaN."""

    def __init__(self, calls: int, **kwargs):
        super().__init__(**kwargs)
        self.calls, self.seen = calls, 0

    def get_config(self):
        return {**super().get_config(), "calls": self.calls}

    def call(self, x, training=False):
        if training:
            self.seen += 1
            if self.seen > self.calls:
                return x * float("nan")
        return x


class CountBatches(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def _model(nan_after: int) -> nerve.Model:
    nerve.utils.set_random_seed(0)
    model = nerve.Sequential([nerve.Input((4,)), Dense(8, activation="relu"), NaNAfter(nan_after), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 4)).astype("float32")
    return x, x.sum(1, keepdims=True)


@pytest.mark.parametrize("nan_batch", [0, 3, 14])
def test_terminate_on_nan_stops_at_the_first_nan_batch(nan_batch):
    model, counter = _model(nan_batch), CountBatches()
    x, y = _data()
    history = model.fit(x, y, batch_size=BATCH, epochs=5, shuffle=False, verbose=0,
                        callbacks=[counter, callbacks.TerminateOnNaN()])
    assert counter.batches == nan_batch + 1  # the NaN batch is the last one trained
    assert len(history.epoch) == nan_batch // 10 + 1
    assert math.isnan(history.history["loss"][-1])


def test_a_nan_epoch_never_overwrites_the_best_checkpoint_nor_the_backup(tmp_path):
    best, backup_dir = tmp_path / "best.keras", tmp_path / "backup"
    model = _model(nan_after=2 * 10 + 5)  # epochs 0 and 1 are fine, epoch 2 turns NaN at its 6th batch
    x, y = _data()
    history = model.fit(x, y, batch_size=BATCH, epochs=6, shuffle=False, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(best), monitor="loss", save_best_only=True),
        callbacks.TerminateOnNaN(),
        callbacks.BackupAndRestore(backup_dir),
    ])
    assert history.epoch == [0, 1, 2] and math.isnan(history.history["loss"][2])
    assert any(np.isnan(w).any() for w in model.get_weights())  # the model itself is ruined

    saved = nerve.models.load_model(best, custom_objects={"NaNAfter": NaNAfter})
    assert all(np.isfinite(w).all() for w in saved.get_weights())

    backup = backup_dir / "latest.h5"
    assert backup.exists(), "stopping on NaN must keep the backup"
    restart = _model(nan_after=10**9)
    resume = callbacks.BackupAndRestore(backup_dir)
    restart.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0, callbacks=[resume])
    assert all(np.isfinite(w).all() for w in restart.get_weights())
    assert restart.history.epoch == [2, 3]  # resumed after epoch 1, the last finite one
    assert not backup.exists()  # this run finished normally


def test_an_infinite_validation_loss_is_not_backed_up_either(tmp_path):
    cb = callbacks.BackupAndRestore(tmp_path)
    model = _model(nan_after=10**9)
    model.fit(*_data(), epochs=1, verbose=0)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.5, "val_loss": float("inf")})
    assert not cb.path.exists()
    cb.on_epoch_end(1, {"loss": 0.4, "val_loss": 0.3})
    assert cb.path.exists()
