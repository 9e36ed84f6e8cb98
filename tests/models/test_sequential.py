"""Sequential: ways to build it, its layers, and its summary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers import Dense, Dropout, Flatten, Input, InputLayer


def _seed1_model():
    model = nerve.models.Sequential()
    model.add(nerve.layers.Input(shape=(8,)))
    model.add(Dense(32, activation="relu"))
    model.add(Dense(32, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    return model


def test_seed1_param_count_is_1377():
    model = _seed1_model()
    assert model.count_params() == 1377
    assert [layer.count_params() for layer in model.layers] == [288, 1056, 33]


@pytest.mark.parametrize(
    "make",
    [
        lambda: nerve.Sequential([Input(shape=(8,)), Dense(4), Dense(2)]),
        lambda: nerve.Sequential([InputLayer(shape=(8,)), Dense(4), Dense(2)]),
        lambda: nerve.Sequential([InputLayer(input_shape=(8,)), Dense(4), Dense(2)]),
        lambda: nerve.Sequential([Dense(4, input_shape=(8,)), Dense(2)]),
        lambda: nerve.Sequential([Dense(4, input_dim=8), Dense(2)]),
    ],
)
def test_input_shape_can_be_given_every_keras_way(make):
    model = make()
    assert model.built and model.input_shape == (None, 8) and model.output_shape == (None, 2)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]  # no InputLayer
    assert model.count_params() == 8 * 4 + 4 + 4 * 2 + 2


def test_deferred_build_from_first_data():
    model = nerve.Sequential([Flatten(), Dense(5, activation="relu"), Dense(3)])
    assert not model.built
    texts: list[str] = []
    model.summary(print_fn=texts.append)  # like Keras: shapes unknown, params "0 (unbuilt)"
    assert "0 (unbuilt)" in texts[0] and "?" in texts[0]
    out = model.predict(np.zeros((4, 6, 2), dtype="uint8"), verbose=0)
    assert out.shape == (4, 3) and model.built
    assert model.input_shape == (None, 6, 2)
    assert model.layers[1].kernel.shape == (12, 5)


def test_pop_add_and_get_layer():
    model = nerve.Sequential([Input(shape=(3,)), Dense(4, name="a"), Dense(5, name="b")])
    assert model.get_layer("b").units == 5 and model.get_layer(index=0).name == "a"
    popped = model.pop()
    assert popped.name == "b" and model.output_shape == (None, 4)
    model.add(Dense(2, name="c"))
    assert [layer.name for layer in model.layers] == ["a", "c"] and model.output_shape == (None, 2)
    with pytest.raises(ValueError, match=r"No layer named 'zz'.*\['a', 'c'\]"):
        model.get_layer("zz")


def test_input_must_come_first():
    model = nerve.Sequential([Dense(3)])
    with pytest.raises(ValueError, match="must come first"):
        model.add(Input(shape=(2,)))
    with pytest.raises(TypeError, match="expects a layer"):
        model.add("dense")


def test_summary_matches_keras_text(keras):
    ours = _seed1_model()
    ours.compile(loss="binary_crossentropy", metrics=["accuracy"], optimizer="adam")
    keras.backend.clear_session()
    theirs = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(32, activation="relu"),
                               keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    texts: list[str] = []
    ours.summary(print_fn=texts.append)
    theirs.summary(print_fn=texts.append)
    import re

    assert re.sub(r'"sequential(_\d+)?"', "", texts[0]) == re.sub(r'"sequential(_\d+)?"', "", texts[1])
    assert "Total params: 1,377 (5.38 KB)" in texts[0]


def test_functional_summary_has_connected_to_column():
    a, b = nerve.Input((4,), name="a"), nerve.Input((3,), name="b")
    merged = Dense(2, name="d")(a)
    model = nerve.Model([a, b], [merged, Dense(1, name="e")(b)])
    texts: list[str] = []
    model.summary(print_fn=texts.append)
    assert "Connected to" in texts[0] and "a[0][0]" in texts[0] and "b[0][0]" in texts[0]


def test_summary_counts_frozen_weights_as_non_trainable():
    model = nerve.Sequential([Input(shape=(3,)), Dense(4), Dense(1)])
    model.layers[0].trainable = False
    texts: list[str] = []
    model.summary(print_fn=texts.append)
    assert "Trainable params: 5 (20.00 B)" in texts[0] and "Non-trainable params: 16 (64.00 B)" in texts[0]


def test_model_is_a_torch_module():
    model = nerve.Sequential([Input(shape=(3,)), Dense(4, name="d"), Dropout(0.1)])
    names = [n for n, _ in model.named_parameters()]
    assert names == ["d.kernel", "d.bias"]
    assert isinstance(model(torch.ones(2, 3)), torch.Tensor)


def test_unbuilt_sequential_can_be_called_and_nested():
    model = nerve.Sequential([Dense(3)])
    assert model(np.zeros((2, 4), "float32")).shape == (2, 3)
    outer = nerve.Sequential([Input((8,)), nerve.Sequential([Dense(6)]), Dense(3)])
    assert outer.count_params() == 8 * 6 + 6 + 6 * 3 + 3


def test_model_as_first_layer_builds_the_sequential():
    base = nerve.Sequential([Input((4,)), Dense(3)], name="base")
    base.trainable = False
    model = nerve.Sequential([base, Dense(2)])
    assert model.built and model.input_shape == (None, 4)
    assert len(model.trainable_weights) == 2 and len(model.weights) == 4
