"""Atomic writes, and BackupAndRestore resuming an interrupted fit exactly."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nerve
from nerve.callbacks.backup_and_restore import BackupAndRestore
from nerve.layers import Dense, Dropout
from nerve.saving.atomic import atomic_path


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "best.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as handle:
                handle.write(b"half")
            raise RuntimeError("crash mid-save")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["best.h5"]


def test_written_files_get_the_mode_open_would_give_not_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "shared.json") as tmp:
            with open(tmp, "w") as f:
                f.write("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.json").stat().st_mode & 0o777 == 0o644


def test_save_failure_in_model_save_leaves_previous_checkpoint(tmp_path, monkeypatch):
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    model.save(tmp_path / "m.h5")
    good = (tmp_path / "m.h5").read_bytes()
    import nerve.saving.saving_api as api

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(api, "write_weights", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "m.h5")
    assert (tmp_path / "m.h5").read_bytes() == good and os.listdir(tmp_path) == ["m.h5"]


def _model():
    model = nerve.Sequential([nerve.Input((4,)), Dense(8, activation="relu"), Dropout(0.3),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class _Crash(nerve.callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("simulated interruption")


@pytest.mark.parametrize("crash_at", [1, 3, 5])
def test_resumed_fit_matches_uninterrupted_run(crash_at, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4), dtype=np.float32), rng.integers(0, 3, 64)
    nerve.utils.set_random_seed(3)
    reference = _model()
    ref_history = reference.fit(x, y, epochs=6, batch_size=16, verbose=0).history

    nerve.utils.set_random_seed(3)
    interrupted = _model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=6, batch_size=16, verbose=0,
                        callbacks=[BackupAndRestore(tmp_path), _Crash(crash_at)])
    assert (tmp_path / "latest.h5").exists()

    nerve.utils.set_random_seed(12345)  # a different process: nothing but the backup carries over
    resumed = _model()
    history = resumed.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[BackupAndRestore(tmp_path)])
    # The crash hits during epoch `crash_at`'s callbacks: the last finished epoch is the one before.
    assert history.epoch == list(range(crash_at, 6))
    np.testing.assert_allclose(history.history["loss"], ref_history["loss"][crash_at:], rtol=1e-6)
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not (tmp_path / "latest.h5").exists()  # deleted after a finished run


def test_resume_restores_early_stopping_state_wherever_it_is_listed(tmp_path):
    x = np.random.default_rng(0).random((32, 4), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 3, 32)

    def frozen_model():
        model = nerve.Sequential([nerve.Input((4,)), Dense(3, activation="softmax")])
        model.compile(optimizer=nerve.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
        return model

    # With a learning rate of 0 the loss never improves by min_delta: wait grows 1 per epoch
    # after the first, so an uninterrupted run stops at epoch 4 (patience 4).
    es = nerve.callbacks.EarlyStopping(monitor="loss", patience=4, min_delta=1.0)
    with pytest.raises(KeyboardInterrupt):
        frozen_model().fit(x, y, epochs=10, verbose=0, callbacks=[BackupAndRestore(tmp_path), es, _Crash(2)])
    resumed_es = nerve.callbacks.EarlyStopping(monitor="loss", patience=4, min_delta=1.0)
    history = frozen_model().fit(x, y, epochs=10, verbose=0, callbacks=[BackupAndRestore(tmp_path), resumed_es])
    assert history.epoch == [2, 3, 4] and resumed_es.stopped_epoch == 4
