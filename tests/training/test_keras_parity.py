"""Same weights and batches in nerve and Keras 3 give the same History and the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import nerve

OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.05}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {}),
    ("Adam", {}),
    ("AdamW", {}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}),
    ("Nadam", {}),
]


def _pair(keras, activation, units_out, out_activation):
    def build(lib):
        return lib.Sequential([
            lib.Input((6,)),
            lib.layers.Dense(8, activation=activation),
            lib.layers.Dense(units_out, activation=out_activation),
        ])

    ours, theirs = build(nerve), build(keras)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("opt_name, opt_kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_fit_matches_keras_for_each_optimizer(opt_name, opt_kwargs, keras):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = rng.integers(0, 3, size=48)
    ours, theirs = _pair(keras, "relu", 3, "softmax")
    for model, lib in ((ours, nerve), (theirs, keras)):
        model.compile(optimizer=getattr(lib.optimizers, opt_name)(**opt_kwargs),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(x, y, batch_size=10, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    h2 = theirs.fit(x, y, batch_size=10, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    assert list(h1) == list(h2)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=2e-4, atol=1e-5, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


@pytest.mark.parametrize("loss, out, activation, target", [
    ("binary_crossentropy", 1, "sigmoid", "binary"),
    ("categorical_crossentropy", 3, "softmax", "onehot"),
    ("mse", 2, None, "real"),
    ("mae", 2, "tanh", "real"),
    ("huber", 2, None, "real"),
])
def test_losses_train_like_keras(loss, out, activation, target, keras):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 6)).astype("float32")
    if target == "binary":
        y = rng.integers(0, 2, size=(32, 1)).astype("float32")
    elif target == "onehot":
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=32)]
    else:
        y = rng.normal(size=(32, out)).astype("float32")
    ours, theirs = _pair(keras, "tanh", out, activation)
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss=loss)
    h1 = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
