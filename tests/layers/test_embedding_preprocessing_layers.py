"""Embedding, Rescaling and Normalization (with adapt), against Keras, numpy and end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers.dense import Dense
from nerve.layers.embedding import Embedding
from nerve.layers.preprocessing import Normalization, Rescaling
from nerve.layers.reshaping import Flatten
from tests.layers.layer_test_utils import layer_test


def _indices(high):
    return lambda shape: torch.randint(0, high, shape)


# ---------------------------------------------------------------- Embedding
@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"input_dim": 10, "output_dim": 3}, (4, 5), (None, 5, 3)),
        ({"input_dim": 7, "output_dim": 2, "embeddings_initializer": "random_normal"}, (2, 3, 4), (None, 3, 4, 2)),
        ({"input_dim": 5, "output_dim": 4, "mask_zero": True}, (6,), (None, 4)),
    ],
)
@pytest.mark.filterwarnings("ignore:Embedding layer .* mask_zero=True:UserWarning")
def test_embedding_matches_keras(kwargs, input_shape, output_shape, keras):
    layer = layer_test(Embedding, kwargs, input_shape, output_shape, 1, 1, keras_module=keras,
                       make_input=_indices(kwargs["input_dim"]))
    assert layer.embeddings.shape == (kwargs["input_dim"], kwargs["output_dim"])


def test_embedding_lookup_closed_form_and_dtypes():
    layer = Embedding(4, 2, weights=np.arange(8, dtype="float32").reshape(4, 2))
    expected = torch.tensor([[[6.0, 7.0], [0.0, 1.0]]])
    torch.testing.assert_close(layer(np.array([[3, 0]])), expected)  # numpy ints stay ints
    torch.testing.assert_close(layer(torch.tensor([[3.0, 0.0]])), expected)  # float indices are cast
    torch.testing.assert_close(layer(torch.tensor([[3, 0]], dtype=torch.int32)), expected)
    assert layer(np.array([[3, 0]])).dtype == torch.float32


def test_embedding_default_initializer_is_keras_uniform():
    layer = Embedding(500, 40)
    layer.build(None)
    table = layer.embeddings.numpy()
    assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.025
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_embedding_out_of_range_indices_raise_a_clear_error():
    layer = Embedding(10, 3, name="words")
    with pytest.raises(ValueError, match=r"'words' received indices in \[2, 12\].*input_dim=10.*\[0, 9\]"):
        layer(np.array([[2, 12]]))
    layer(np.array([[1, 2]]))
    with pytest.raises(ValueError, match=r"'words' received indices in \[-1, 1\]"):
        layer(np.array([[-1, 1]]))  # after the first call: torch's IndexError, translated


def test_embedding_arguments():
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim must be a positive integer"):
        Embedding(3, 2.5)
    with pytest.raises(NotImplementedError, match="lora_rank"):
        Embedding(3, 2, lora_rank=4)
    with pytest.warns(UserWarning, match="input_length"):
        layer = Embedding(3, 2, input_length=5)
    assert "input_length" not in layer.get_config()
    with pytest.warns(UserWarning, match="does not pass masks"):
        masked = Embedding(3, 2, mask_zero=True)
    assert masked.get_config()["mask_zero"] is True
    torch.testing.assert_close(masked.compute_mask(torch.tensor([[0, 2]])), torch.tensor([[False, True]]))
    torch.testing.assert_close(masked.compute_mask(np.array([[0, 2]])), torch.tensor([[False, True]]))
    assert Embedding(3, 2).compute_mask(torch.tensor([[0, 2]])) is None


def test_embedding_model_fits_on_integer_inputs_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(256, 6)).astype("int64")
    y = (x[:, :1] >= 10).astype("float32")  # the first token decides the label
    inputs = nerve.Input(shape=(6,), dtype="int32")
    embedding = Embedding(20, 8, embeddings_regularizer=nerve.regularizers.L2(1e-4))
    h = Flatten()(embedding(inputs))
    model = nerve.Model(inputs, Dense(1, activation="sigmoid")(h))
    assert len(model.losses) == 1
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    path = str(tmp_path / "embed.keras")
    model.save(path)
    loaded = nerve.models.load_model(path, custom_objects={"Embedding": Embedding})
    np.testing.assert_allclose(loaded.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), rtol=1e-6)


def test_embedding_out_of_range_in_fit_names_the_layer():
    inputs = nerve.Input(shape=(3,), dtype="int32")
    model = nerve.Model(inputs, Dense(1)(Flatten()(Embedding(5, 2, name="vocab")(inputs))))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"'vocab' received indices in \[0, 7\].*input_dim=5"):
        model.fit(np.array([[0, 1, 7]] * 4), np.zeros((4, 1)), verbose=0)


# ---------------------------------------------------------------- Rescaling
@pytest.mark.parametrize(
    "kwargs, input_shape",
    [({"scale": 1 / 255}, (2, 4, 4, 3)), ({"scale": 2.0, "offset": -1.0}, (3, 5)),
     ({"scale": [0.5, 1.0, 2.0], "offset": [0.0, 1.0, -1.0]}, (2, 4, 3))],
)
def test_rescaling_matches_keras(kwargs, input_shape, keras):
    layer_test(Rescaling, kwargs, input_shape, (None, *input_shape[1:]), 0, keras_module=keras)


def test_rescaling_converts_integer_images():
    images = np.array([[[0, 128, 255]]], dtype="uint8")
    out = Rescaling(1 / 127.5, offset=-1)(images)
    torch.testing.assert_close(out, torch.tensor([[[-1.0, 128 / 127.5 - 1, 1.0]]]))
    out = Rescaling(1 / 255)(torch.tensor([[255]], dtype=torch.uint8))
    assert out.dtype == torch.float32 and float(out) == pytest.approx(1.0)
    assert Rescaling.from_config({"scale": {"class_name": "__numpy__", "config": {"value": [1.0, 2.0]}},
                                  "offset": 0.0}).scale == [1.0, 2.0]


# ---------------------------------------------------------------- Normalization
@pytest.mark.parametrize(
    "axis, shape",
    [(-1, (50, 4)), (None, (30, 3)), ((1, 2), (10, 3, 4, 2)), (1, (12, 3, 5)), ((-1,), (20, 2, 3))],
)
def test_normalization_adapt_matches_numpy_and_keras(axis, shape, keras):
    data = (np.random.randn(*shape) * np.arange(1, shape[-1] + 1) + 3).astype("float32")
    layer = Normalization(axis=axis)
    layer.adapt(data)
    keep = () if axis is None else tuple(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis))
    reduce = tuple(d for d in range(len(shape)) if d not in keep)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), data.astype("float64").mean(axis=reduce), rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), data.astype("float64").var(axis=reduce), rtol=1e-5)
    klayer = keras.layers.Normalization(axis=axis)
    klayer.adapt(data)
    for mine, theirs in zip(layer.get_weights()[:2], klayer.get_weights()[:2]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    x = data[:5]
    np.testing.assert_allclose(layer(x).numpy(), np.asarray(klayer(x).detach().cpu()), rtol=1e-5, atol=1e-5)


def test_normalization_adapt_from_batches_tensors_and_tuples_is_exact():
    data = np.random.randn(101, 3) * [1.0, 10.0, 0.1] + [5.0, -2.0, 0.0]
    whole = Normalization()
    whole.adapt(data)
    for source in ([data[:30], data[30:64], data[64:]],
                   (torch.tensor(data[i:i + 16]) for i in range(0, 101, 16)),
                   [(data[:50], None), (data[50:], None)],
                   torch.tensor(data)):
        layer = Normalization()
        layer.adapt(source)
        np.testing.assert_allclose(layer.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(layer.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-6)
    assert int(whole.count.numpy()) == 101
    one_d = Normalization(axis=None)
    one_d.adapt([1.0, 2.0, 3.0, 4.0])
    assert float(one_d.adapt_mean.numpy()) == pytest.approx(2.5)


def test_normalization_fixed_statistics_and_invert_match_keras(keras):
    for kwargs in ({"mean": 2.0, "variance": 4.0}, {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]},
                   {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0], "invert": True}):
        layer = layer_test(Normalization, kwargs, (4, 2, 3), (None, 2, 3), 0, keras_module=keras)
        assert layer.get_config()["mean"] == kwargs["mean"]
    x = np.array([[3.0, 6.0, 12.0]], dtype="float32")
    torch.testing.assert_close(Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])(x),
                               torch.tensor([[2.0, 2.0, 3.0]]))


def test_normalization_adapted_layer_config_round_trips_and_contract():
    layer = Normalization(axis=-1)
    layer.adapt(np.random.randn(40, 3, 4))
    layer_config = layer.get_config()
    assert layer_config["axis"] == (-1,) and layer_config["mean"] is None
    clone = Normalization.from_config(layer_config)
    clone.build((None, 3, 4))
    clone.set_weights(layer.get_weights())
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(clone(x), layer(x))
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert all(not w.trainable for w in layer.weights)


def test_normalization_before_adapt_raises_and_bad_arguments():
    with pytest.raises(ValueError, match=r"'norm' has no statistics yet: call layer.adapt\(data\)"):
        Normalization(name="norm")(np.ones((2, 3)))
    inputs = nerve.Input(shape=(3,))
    model = nerve.Model(inputs, Normalization(name="norm2")(inputs))
    with pytest.raises(ValueError, match="'norm2' has no statistics yet"):
        model.predict(np.ones((2, 3)), verbose=0)
    with pytest.raises(ValueError, match="both mean and variance"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="fixed mean and variance"):
        Normalization(mean=1.0, variance=1.0).adapt(np.ones((2, 3)))
    layer = Normalization()
    layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"adapt\(\) received a batch of shape \(4, 5\)"):
        layer.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="received no data"):
        Normalization().adapt([])


def test_normalization_in_a_model_trains_saves_and_counts_non_trainable_params(tmp_path):
    x = (np.random.randn(200, 3) * [1.0, 50.0, 0.01] + [0.0, 100.0, 5.0]).astype("float32")
    y = (x[:, 1:2] - 100.0) / 50.0
    norm = Normalization()
    norm.adapt(x)
    inputs = nerve.Input(shape=(3,))
    model = nerve.Model(inputs, Dense(1)(norm(inputs)))
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 7" in "\n".join(lines)  # mean 3 + variance 3 + count 1
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05
    path = str(tmp_path / "norm.keras")
    model.save(path)
    loaded = nerve.models.load_model(path, custom_objects={"Normalization": Normalization})
    loaded_norm = [layer for layer in loaded.layers if isinstance(layer, Normalization)][0]
    np.testing.assert_array_equal(loaded_norm.adapt_mean.numpy(), norm.adapt_mean.numpy())
    np.testing.assert_allclose(loaded.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0), rtol=1e-6)
