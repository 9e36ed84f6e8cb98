"""Merging layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and a
ResNet-style functional block that trains, saves and loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers import merging
from nerve.layers.batch_normalization import BatchNormalization
from nerve.layers.dense import Dense
from nerve.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract

ELEMENTWISE = [Add, Subtract, Multiply, Average, Maximum, Minimum]


def merge_layer_test(cls, kwargs, input_shapes, expected_shape, keras):
    """layer_test for list inputs: symbolic and eager shapes, config round trip, Keras numerics."""
    layer = cls(**kwargs)
    symbolic = [nerve.Input(shape=s[1:]) for s in input_shapes]
    assert layer(symbolic).shape == expected_shape
    assert layer.weights == []
    xs = [torch.randn(s) for s in input_shapes]
    y = layer(xs)
    assert tuple(y.shape) == tuple(input_shapes[0][0] if d is None else d for d in expected_shape)
    config = layer.get_config()
    clone = cls.from_config({**config, "name": config["name"] + "_clone"})
    torch.testing.assert_close(clone(xs), y)
    assert {**clone.get_config(), "name": config["name"]} == config
    klayer = getattr(keras.layers, cls.__name__)(**kwargs)
    expected = klayer([x.numpy() for x in xs])
    np.testing.assert_allclose(y.numpy(), np.asarray(expected.detach().cpu()), rtol=1e-6, atol=1e-6)
    return layer


@pytest.mark.parametrize("cls", ELEMENTWISE)
@pytest.mark.parametrize(
    "input_shapes, expected",
    [
        ([(3, 4), (3, 4)], (None, 4)),
        ([(2, 3, 4), (2, 1, 4)], (None, 3, 4)),
        ([(2, 4), (2, 3, 4)], (None, 3, 4)),  # lower rank: aligned right, batch axis first
        ([(2, 3, 1), (2, 3, 5)], (None, 3, 5)),
    ],
)
def test_elementwise_merges_match_keras(cls, input_shapes, expected, keras):
    merge_layer_test(cls, {}, input_shapes, expected, keras)


@pytest.mark.parametrize("cls", [Add, Multiply, Average, Maximum, Minimum])
def test_elementwise_merges_of_three_inputs_match_keras(cls, keras):
    merge_layer_test(cls, {}, [(2, 5), (2, 5), (2, 5)], (None, 5), keras)


def test_elementwise_closed_forms():
    a, b, c = torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]]), torch.tensor([[2.0, 2.0]])
    torch.testing.assert_close(Add()([a, b, c]), torch.tensor([[6.0, 9.0]]))
    torch.testing.assert_close(Subtract()([a, b]), torch.tensor([[-2.0, 3.0]]))
    torch.testing.assert_close(Multiply()([a, b, c]), torch.tensor([[6.0, 20.0]]))
    torch.testing.assert_close(Average()([a, b, c]), torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(Maximum()([a, b, c]), torch.tensor([[3.0, 5.0]]))
    torch.testing.assert_close(Minimum()([a, b, c]), torch.tensor([[1.0, 2.0]]))


@pytest.mark.parametrize(
    "kwargs, input_shapes, expected",
    [
        ({}, [(2, 3), (2, 4)], (None, 7)),
        ({"axis": 1}, [(2, 3, 4), (2, 5, 4), (2, 1, 4)], (None, 9, 4)),
        ({"axis": -2}, [(2, 3, 4), (2, 2, 4)], (None, 5, 4)),
        ({}, [(2, 3, 4, 1), (2, 3, 4, 2)], (None, 3, 4, 3)),
    ],
)
def test_concatenate_matches_keras(kwargs, input_shapes, expected, keras):
    merge_layer_test(Concatenate, kwargs, input_shapes, expected, keras)


def test_add_error_names_both_shapes_and_the_layer():
    with pytest.raises(ValueError, match=r"'skip' \(Add\).*\(None, 3\), \(None, 4\)"):
        Add(name="skip")([nerve.Input(shape=(3,)), nerve.Input(shape=(4,))])
    layer = Add(name="sum")
    layer([nerve.Input(shape=(3,)), nerve.Input(shape=(3,))])
    with pytest.raises(ValueError, match=r"'sum'.*\(None, 2, 3\), \(None, 2, 5\)"):
        layer([nerve.Input(shape=(2, 3)), nerve.Input(shape=(2, 5))])


def test_merge_input_errors():
    with pytest.raises(ValueError, match=r"Multiply layer \('m'\) must be called on a list of tensors"):
        Multiply(name="m")(nerve.Input(shape=(3,)))
    with pytest.raises(ValueError, match=r"exactly 2 inputs.*3 inputs"):
        Subtract()([nerve.Input(shape=(3,))] * 3)
    with pytest.raises(ValueError, match="different batch sizes"):
        Add()([torch.ones(2, 3), torch.ones(4, 3)])
    with pytest.raises(ValueError, match=r"'cat'.*sizes on axis 1 differ.*\(None, 3, 4\), \(None, 2, 5\)"):
        Concatenate(name="cat")([nerve.Input(shape=(3, 4)), nerve.Input(shape=(2, 5))])
    with pytest.raises(ValueError, match=r"ranks differ"):
        Concatenate()([nerve.Input(shape=(3, 4)), nerve.Input(shape=(4,))])
    with pytest.raises(ValueError, match=r"axis 3 is out of range"):
        Concatenate(axis=3)([nerve.Input(shape=(3,)), nerve.Input(shape=(3,))])


@pytest.mark.parametrize("fn, cls", [("add", Add), ("subtract", Subtract), ("multiply", Multiply),
                                     ("average", Average), ("maximum", Maximum), ("minimum", Minimum),
                                     ("concatenate", Concatenate)])
def test_functional_forms_build_the_layer(fn, cls, keras):
    a, b = nerve.Input(shape=(4,)), nerve.Input(shape=(4,))
    out = getattr(merging, fn)([a, b], name=f"my_{fn}")
    layer = out._history.layer
    assert type(layer) is cls and layer.name == f"my_{fn}"
    xs = [np.random.randn(2, 4).astype("float32") for _ in range(2)]
    expected = getattr(keras.layers, fn)(xs)
    np.testing.assert_allclose(getattr(merging, fn)(xs).numpy(), np.asarray(expected.detach().cpu()), rtol=1e-6)


def test_concatenate_with_unknown_sizes():
    out = Concatenate(axis=1)([nerve.Input(shape=(None, 4)), nerve.Input(shape=(3, 4))])
    assert out.shape == (None, None, 4)


def _residual_model():
    inputs = nerve.Input(shape=(8,))
    h = Dense(16, activation="relu")(inputs)
    skip = h
    h = Dense(16)(h)
    h = BatchNormalization()(h)
    h = Add()([h, skip])
    h = Dense(16)(h)
    h = BatchNormalization()(h)
    h = merging.add([h, skip])
    outputs = Dense(1)(Concatenate()([h, inputs]))
    return nerve.Model(inputs, outputs)


def test_residual_block_trains_saves_and_loads(tmp_path):
    model = _residual_model()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.randn(256, 8).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2]).astype("float32")
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    bns = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
    assert not np.allclose(bns[0].moving_mean.numpy(), 0.0)
    path = str(tmp_path / "resnet.keras")
    model.save(path)
    scope = {"BatchNormalization": BatchNormalization, "Add": Add, "Concatenate": Concatenate}
    with nerve.saving.custom_object_scope(scope):
        loaded = nerve.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    loaded_bns = [layer for layer in loaded.layers if isinstance(layer, BatchNormalization)]
    for mine, theirs in zip(bns, loaded_bns):
        np.testing.assert_array_equal(mine.moving_variance.numpy(), theirs.moving_variance.numpy())
    loaded.fit(x, y, epochs=1, batch_size=32, verbose=0)  # it keeps training
