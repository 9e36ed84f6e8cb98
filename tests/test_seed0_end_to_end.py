"""Seed 0 end to end on real data: the three set-ups rank as the course notes say."""

from __future__ import annotations

import pytest

import nerve
from nerve.datasets import digits
from nerve.layers import Dense, Flatten
from nerve.optimizers import SGD, Adam


def _seed0_model(activation):
    model = nerve.Sequential()
    model.add(Flatten())
    for units in (64, 128, 256, 128, 64):
        model.add(Dense(units=units, activation=activation))
    model.add(Dense(units=10, activation="softmax"))
    return model


@pytest.mark.slow
def test_seed0_three_models_on_digits():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    results = {}
    for name, activation, optimizer in [("sigmoid+SGD", "sigmoid", SGD(learning_rate=0.01)),
                                        ("relu+SGD", "relu", SGD(learning_rate=0.01)),
                                        ("relu+Adam", "relu", Adam(learning_rate=0.001))]:
        nerve.utils.set_random_seed(0)
        model = _seed0_model(activation)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        history = model.fit(x_train, y_train, epochs=20, validation_split=0.2, batch_size=128, verbose=0)
        assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        assert all(len(v) == 20 for v in history.history.values())
        results[name] = model.evaluate(x_test, y_test, verbose=0)[1]
    assert results["relu+Adam"] >= 0.95, results
    # Deep sigmoid nets with plain SGD barely learn in 20 epochs (vanishing gradients).
    assert results["sigmoid+SGD"] < results["relu+SGD"] < results["relu+Adam"], results
