"""What fit prints at verbose 0, 1 and 2 when stdout is not a terminal."""

from __future__ import annotations

import re

import numpy as np

import nerve
from nerve.layers import Dense, Input


def _fit(verbose, capsys, epochs=2):
    model = nerve.Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(40, 3).astype("float32")
    y = np.random.randint(0, 2, 40)
    model.fit(x, y, epochs=epochs, batch_size=10, validation_split=0.25, verbose=verbose)
    return capsys.readouterr().out


def test_verbose_0_prints_nothing(capsys):
    assert _fit(0, capsys) == ""


def test_verbose_1_prints_one_clean_line_per_epoch_in_logs(capsys):
    out = _fit(1, capsys)
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert "\r" not in out and "\x1b" not in out and "\b" not in out
    assert re.fullmatch(
        r"3/3 ━+ \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - "
        r"val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1]), lines[1]


def test_verbose_2_prints_keras_epoch_line(capsys):
    out = _fit(2, capsys, epochs=1)
    assert re.fullmatch(
        r"3/3 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - "
        r"val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}\n", out), out


def test_verbose_1_on_a_terminal_redraws_the_bar(capsys, monkeypatch):
    monkeypatch.setenv("NERVE_PROGRESS", "tty")
    out = _fit(1, capsys, epochs=1)
    assert "\r" in out and "\x1b[1m3/3\x1b[0m" in out
    assert out.endswith("\n") and "val_loss:" in out.splitlines()[-1]
