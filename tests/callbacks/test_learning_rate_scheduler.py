"""LearningRateScheduler: seed 3's schedule, both signatures, Keras's messages, and lr in History."""

from __future__ import annotations

import math

import numpy as np
import pytest
from callbacks_testutil import StubModel, drive, mlp

import nerve
from nerve.callbacks import LearningRateScheduler

lr = 0.001  # seed 3 reads this global inside its schedule


def my_schedule(epoch, learning_rate=lr):  # seed 3's function, with math.exp for tf.math.exp
    if epoch < 5:
        return lr
    else:
        return float(lr * math.exp(0.1 * (5 - epoch)))


def halve(epoch, lr):
    return lr * 0.5


def by_epoch(epoch):
    return 0.1 / (epoch + 1)


def expected_seed3(epoch):
    return float(np.float32(lr if epoch < 5 else lr * math.exp(0.1 * (5 - epoch))))


@pytest.mark.parametrize("schedule, expected", [
    (my_schedule, [expected_seed3(e) for e in range(8)]),
    (halve, [float(np.float32(0.5 ** (e + 1))) for e in range(8)]),
    (by_epoch, [float(np.float32(0.1 / (e + 1))) for e in range(8)]),
    (lambda epoch, lr=None: 0.01 * (epoch + 1), [float(np.float32(0.01 * (e + 1))) for e in range(8)]),
])
def test_learning_rate_set_at_each_epoch_begin(schedule, expected):
    out = drive(LearningRateScheduler(schedule), [1.0] * 8)
    assert out["lrs"] == pytest.approx(expected, rel=1e-7)
    assert [lg["learning_rate"] for lg in out["logs"]] == out["lrs"]


@pytest.mark.parametrize("schedule", [my_schedule, halve, by_epoch])
def test_matches_keras_learning_rate_scheduler(keras, capsys, schedule):
    ref = drive(keras.callbacks.LearningRateScheduler(schedule, verbose=1), [1.0] * 7)
    theirs = capsys.readouterr().out
    out = drive(LearningRateScheduler(schedule, verbose=1), [1.0] * 7)
    assert out["lrs"] == ref["lrs"]
    assert [lg["learning_rate"] for lg in out["logs"]] == [lg["learning_rate"] for lg in ref["logs"]]
    assert capsys.readouterr().out == theirs
    assert "Epoch 1: LearningRateScheduler setting learning rate to" in theirs


def test_schedule_receives_the_current_learning_rate():
    seen = []

    def spy(epoch, current):
        seen.append(current)
        return 0.25

    drive(LearningRateScheduler(spy), [1.0, 1.0], model=StubModel(learning_rate=0.5))
    assert seen == [0.5, 0.25]


@pytest.mark.parametrize("value", ["0.1", None, [0.1, 0.2]])
def test_non_number_from_schedule_is_refused(value):
    with pytest.raises(ValueError, match="should be a float"):
        drive(LearningRateScheduler(lambda epoch: value), [1.0])


def test_non_callable_schedule_is_refused():
    with pytest.raises(TypeError, match="needs a function"):
        LearningRateScheduler(0.1)


def test_numbers_of_other_types_are_accepted():
    import torch

    out = drive(LearningRateScheduler(lambda e: [1, np.float32(0.5), torch.tensor(0.25)][e]), [1.0] * 3)
    assert out["lrs"] == [1.0, 0.5, 0.25]


def test_seed3_fit_puts_learning_rate_in_history(digits_data):
    x, y = digits_data
    model = mlp(optimizer=nerve.optimizers.Adam(learning_rate=lr))
    history = model.fit(x, y, epochs=8, batch_size=512, validation_split=1 / 6,
                        callbacks=[LearningRateScheduler(my_schedule)], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([expected_seed3(e) for e in range(8)], rel=1e-7)
    assert float(model.optimizer.learning_rate) == pytest.approx(expected_seed3(7), rel=1e-6)


def test_type_error_inside_the_schedule_is_not_hidden():
    def broken(epoch, lr):
        return lr * "2"  # a bug in the user's schedule

    with pytest.raises(TypeError, match="can't multiply sequence"):
        drive(LearningRateScheduler(broken), [1.0])
