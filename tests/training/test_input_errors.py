"""Mistakes are refused before the first optimizer step, with messages a person can act on."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve.layers import Dense, Input


def _model(out=3, activation="softmax", loss="sparse_categorical_crossentropy"):
    model = nerve.Sequential([Input((4,), name="features"), Dense(5, name="hidden"), Dense(out, activation=activation, name="head")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def _unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


X = np.random.rand(10, 4).astype("float32")
Y = np.random.randint(0, 3, 10)


@pytest.mark.parametrize(
    "x, y, kwargs, error, pattern",
    [
        (X, Y[:7], {}, ValueError, r"same number of samples.*x: 10.*y: 7"),
        (X[:0], Y[:0], {}, ValueError, r"empty"),
        (X, Y + 5, {}, ValueError, r"label 7 is outside the valid range \[0, 2\].*3 units"),
        (X, Y - 3, {}, ValueError, r"label -3 is outside"),
        (X, nerve.utils.to_categorical(Y, 3), {}, ValueError, r"look one-hot.*categorical_crossentropy"),
        (X, Y + 0.5, {}, ValueError, r"integer class labels.*non-integer"),
        (np.random.rand(10, 5), Y, {}, ValueError, r"incompatible with layer 'hidden'.*\(None, 4\).*\(10, 5\)"),
        (np.random.rand(10, 2, 2), Y, {}, ValueError, r"expected shape \(None, 4\).*Flatten"),
        (np.array([["a"] * 4] * 10), Y, {}, TypeError, r"must hold numbers"),
        (X, Y, {"validation_split": 1.5}, ValueError, r"validation_split must be a number strictly between 0 and 1"),
        (X, Y, {"validation_split": -0.1}, ValueError, r"validation_split"),
        (X, Y, {"batch_size": 0}, ValueError, r"batch_size must be a positive integer.*0"),
        (X, Y, {"batch_size": -4}, ValueError, r"batch_size"),
        (X, Y, {"validation_data": (X,)}, ValueError, r"validation_data needs targets"),
    ],
)
def test_fit_refuses_bad_input_before_training(x, y, kwargs, error, pattern):
    model = _model()
    before = model.get_weights()
    with pytest.raises(error, match=pattern):
        model.fit(x, y, epochs=1, verbose=0, **kwargs)
    assert _unchanged(model, before)


def test_integer_labels_into_categorical_crossentropy_get_a_hint():
    model = _model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical"):
        model.fit(X, Y, verbose=0)


def test_binary_crossentropy_labels_must_be_in_0_1():
    model = _model(out=1, activation="sigmoid", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"labels in \[0, 1\].*from 0.0 to 2.0"):
        model.fit(X, Y.astype("float32"), verbose=0)


def test_fit_and_evaluate_before_compile():
    model = nerve.Sequential([Input((4,)), Dense(1)])
    for method in ("fit", "evaluate", "train_on_batch"):
        with pytest.raises(RuntimeError, match=rf"compile\(\) before {method}"):
            getattr(model, method)(X, Y)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"loss": "sparse_categorical_crossentropyy"}, r"(?i)(unknown|interpret) loss.*sparse_categorical_crossentropy"),
        ({"optimizer": "adamm", "loss": "mse"}, r"(?i)unknown optimizer.*adam"),
        ({"loss": "mse", "metrics": ["acuracy"]}, r"(?i)(unknown|interpret) metric.*accuracy"),
    ],
)
def test_unknown_names_list_valid_ones(kwargs, pattern):
    model = nerve.Sequential([Input((4,)), Dense(3)])
    with pytest.raises(ValueError, match=pattern):
        model.compile(**kwargs)
        model.fit(X, Y, verbose=0)


def test_unknown_activation_lists_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown activation 'rellu'.*'relu'"):
        Dense(3, activation="rellu")


def test_predict_on_unbuilt_model_builds_from_the_data():
    model = nerve.Sequential([Dense(2)])
    assert model.predict(np.zeros((2, 3)), verbose=0).shape == (2, 2)


def test_multi_output_targets_must_match_outputs():
    a = Input((2,))
    model = nerve.Model(a, [Dense(1, name="o1")(a), Dense(1, name="o2")(a)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"2 outputs \[.o1., .o2.\].*single array"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"one loss per model output"):
        model.compile(optimizer="sgd", loss=["mse"])
        model.fit(np.zeros((4, 2)), [np.zeros((4, 1))] * 2, verbose=0)
