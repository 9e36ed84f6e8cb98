"""Seed 0's checkpoint recipe on real digits: the files are exactly the improving epochs."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nerve
from nerve.callbacks import EarlyStopping, ModelCheckpoint
from nerve.datasets import digits
from nerve.layers import Dense, Flatten


@pytest.mark.slow
def test_save_best_only_writes_improving_epochs_and_best_file_reloads(tmp_path, capsys):
    (x_train, y_train), _ = digits.load_data()
    x_train = x_train / 255.0
    model = nerve.Sequential([Flatten()] + [Dense(u, activation="relu") for u in (64, 128, 64)]
                             + [Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    template = str(tmp_path / "digit_model" / "dm_{epoch:02d}_{val_accuracy:0.4f}.hdf5")
    mckp = ModelCheckpoint(filepath=template, verbose=1, save_best_only=True, monitor="val_accuracy")
    early = EarlyStopping(monitor="val_accuracy", verbose=1, patience=3)
    history = model.fit(x_train, y_train, epochs=40, validation_split=0.2, batch_size=128,
                        callbacks=[mckp, early], verbose=0)

    val = history.history["val_accuracy"]
    best_so_far, improving = -np.inf, []
    for epoch, value in enumerate(val):
        if value > best_so_far:
            best_so_far = value
            improving.append((epoch + 1, value))
    expected = sorted(f"dm_{e:02d}_{v:0.4f}.hdf5" for e, v in improving)
    written = sorted(p.name for p in (tmp_path / "digit_model").iterdir())
    assert written == expected
    out = capsys.readouterr().out
    assert out.count("improved from") == len(improving)
    assert re.search(r"Epoch \d+: early stopping", out) or len(val) == 40

    best_epoch, best_value = improving[-1]
    best_model = nerve.models.load_model(tmp_path / "digit_model" / f"dm_{best_epoch:02d}_{best_value:0.4f}.hdf5")
    n_val = len(x_train) - int(np.floor(len(x_train) * 0.8))
    _, reloaded_acc = best_model.evaluate(x_train[-n_val:], y_train[-n_val:], verbose=0)
    assert reloaded_acc == pytest.approx(best_value, abs=1e-6)
