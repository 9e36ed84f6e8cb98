"""CSVLogger: Keras's columns and rows, append mode without a second header, flushing each epoch."""

from __future__ import annotations

import csv

import pytest

from nerve.callbacks import CSVLogger

EPOCHS = [
    {"loss": 0.9, "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.45},
    {"loss": 0.7, "accuracy": 0.625, "val_loss": 0.8, "val_accuracy": 0.5},
]


def run(cb, epochs=EPOCHS, start=0):
    cb.on_train_begin({})
    for i, logs in enumerate(epochs):
        cb.on_epoch_end(start + i, dict(logs))
    cb.on_train_end({})


def rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_epoch_then_sorted_keys(tmp_path):
    path = tmp_path / "log.csv"
    run(CSVLogger(str(path)))
    assert rows(path) == [
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
        ["0", "0.5", "0.9", "0.45", "1.0"],
        ["1", "0.625", "0.7", "0.5", "0.8"],
    ]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_same_rows_as_keras(keras, tmp_path, sep):
    epochs = EPOCHS + [{"loss": 0.5, "accuracy": 0.75, "val_loss": float("nan"), "val_accuracy": 0.6}]
    run(CSVLogger(str(tmp_path / "ours.csv"), separator=sep), epochs)
    run(keras.callbacks.CSVLogger(str(tmp_path / "theirs.csv"), separator=sep), epochs)
    assert rows(tmp_path / "ours.csv", sep) == rows(tmp_path / "theirs.csv", sep)


def test_without_validation_keeps_keras_val_columns_as_na(keras, tmp_path):
    epochs = [{"loss": 0.9}, {"loss": 0.8}]
    run(CSVLogger(str(tmp_path / "ours.csv")), epochs)
    run(keras.callbacks.CSVLogger(str(tmp_path / "theirs.csv")), epochs)
    assert rows(tmp_path / "ours.csv") == rows(tmp_path / "theirs.csv") == [
        ["epoch", "loss", "val_loss"], ["0", "0.9", "NA"], ["1", "0.8", "NA"]]


def test_append_continues_without_a_second_header(tmp_path):
    path = tmp_path / "log.csv"
    run(CSVLogger(str(path)))
    run(CSVLogger(str(path), append=True), start=2)
    got = rows(path)
    assert [r[0] for r in got] == ["epoch", "0", "1", "2", "3"]
    assert sum(r[0] == "epoch" for r in got) == 1


def test_append_follows_the_existing_header_columns(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,0.9,1.0\n")
    run(CSVLogger(str(path), append=True), [{"val_loss": 0.5, "loss": 0.4, "accuracy": 0.9}], start=1)
    assert rows(path) == [["epoch", "loss", "val_loss"], ["0", "0.9", "1.0"], ["1", "0.4", "0.5"]]


def test_append_to_a_new_file_writes_the_header(tmp_path):
    path = tmp_path / "new" / "log.csv"
    run(CSVLogger(path, append=True))
    assert rows(path)[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]


def test_without_append_the_file_is_overwritten(tmp_path):
    path = tmp_path / "log.csv"
    run(CSVLogger(str(path)))
    run(CSVLogger(str(path)), EPOCHS[:1])
    assert len(rows(path)) == 2


def test_each_row_is_flushed_before_training_ends(tmp_path):
    path = tmp_path / "log.csv"
    cb = CSVLogger(str(path))
    cb.on_train_begin({})
    cb.on_epoch_end(0, dict(EPOCHS[0]))
    assert len(rows(path)) == 2  # readable while training is still running
    cb.on_train_end({})
    assert cb.csv_file is None


def test_array_values_are_written_as_keras_does(tmp_path):
    import numpy as np

    run(CSVLogger(str(tmp_path / "log.csv")), [{"loss": 0.5, "per_class": np.array([0.1, 0.2])}])
    assert rows(tmp_path / "log.csv")[1][2] == '"[0.1, 0.2]"'


def test_a_real_fit_writes_one_row_per_epoch(tmp_path, digits_data):
    from callbacks_testutil import mlp

    x, y = digits_data
    path = tmp_path / "training.log"
    history = mlp().fit(x[:300], y[:300], epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[CSVLogger(str(path))])
    got = rows(path)
    assert got[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [float(r[2]) for r in got[1:]] == pytest.approx(history.history["loss"])
