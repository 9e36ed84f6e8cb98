"""Regularizers add their penalty to the training loss, as in Keras."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve import regularizers


@pytest.mark.parametrize("reg, expected", [
    (regularizers.L1(0.1), 0.1 * 6.0),
    (regularizers.L2(0.1), 0.1 * 14.0),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * 6.0 + 0.2 * 14.0),
])
def test_penalty_closed_form(reg, expected):
    assert float(reg(torch.tensor([1.0, -2.0, 3.0]))) == pytest.approx(expected)


def test_defaults_match_keras():
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.0, "l2": 0.0}


def test_kernel_regularizer_adds_to_reported_loss():
    model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(
        1, kernel_initializer="ones", kernel_regularizer=regularizers.L2(0.5))])
    model.compile(optimizer=nerve.optimizers.SGD(0.0), loss="mse")
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.5 * 2.0)
    assert len(model.losses) == 1


def test_regularized_training_matches_keras(keras):
    def build(lib):
        return lib.Sequential([lib.Input((3,)), lib.layers.Dense(
            2, kernel_regularizer=lib.regularizers.L2(0.01), bias_regularizer=lib.regularizers.L1(0.02))])

    ours, theirs = build(nerve), build(keras)
    theirs.set_weights(ours.get_weights())
    x = np.random.rand(16, 3).astype("float32")
    y = np.random.rand(16, 2).astype("float32")
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    h1 = ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
