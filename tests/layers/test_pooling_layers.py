"""Pooling layers: Max/Average pooling 1D/2D and the global poolings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import nerve
from nerve.layers import pooling
from nerve.layers.conv_base import same_padding
from nerve.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from tests.layers.layer_test_utils import layer_test

CF = {"data_format": "channels_first"}


def _reference_pool(x: np.ndarray, pool: tuple, strides: tuple, padding: str, kind: str) -> np.ndarray:
    """Keras/TF semantics by loops on (N, H, W, C): 'same' pads after first, padded cells never count."""
    _, h, w, _ = x.shape
    (top, _), (left, _) = [same_padding(n, k, s) if padding == "same" else (0, 0)
                           for n, k, s in zip((h, w), pool, strides)]
    out_h, out_w = [-(-n // s) if padding == "same" else (n - k) // s + 1 for n, k, s in zip((h, w), pool, strides)]
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]), np.float32)
    for i, j in itertools.product(range(out_h), range(out_w)):
        r0, c0 = i * strides[0] - top, j * strides[1] - left
        window = x[:, max(r0, 0):min(r0 + pool[0], h), max(c0, 0):min(c0 + pool[1], w), :]
        out[:, i, j, :] = window.max(axis=(1, 2)) if kind == "max" else window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 8, 8, 3), (None, 4, 4, 3)),
        ({"pool_size": 3}, (2, 9, 8, 3), (None, 3, 2, 3)),
        ({"pool_size": (2, 3), "strides": 1}, (2, 6, 7, 2), (None, 5, 5, 2)),
        ({"pool_size": 2, "padding": "same"}, (2, 7, 7, 3), (None, 4, 4, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 7, 3), (None, 4, 4, 3)),
        ({"pool_size": 4, "strides": 1, "padding": "same"}, (2, 6, 6, 3), (None, 6, 6, 3)),
        ({"pool_size": 2, "strides": 3, "padding": "same"}, (2, 7, 8, 3), (None, 3, 3, 3)),
        ({"pool_size": 2, **CF}, (2, 3, 8, 6), (None, 3, 4, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same", **CF}, (2, 3, 7, 6), (None, 3, 4, 3)),
    ],
)
def test_max_pooling2d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(MaxPooling2D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 8, 3), (None, 4, 3)),
        ({"pool_size": 3, "strides": 1}, (2, 8, 3), (None, 6, 3)),
        ({"pool_size": 2, "padding": "same"}, (2, 9, 3), (None, 5, 3)),
        ({"pool_size": 4, "strides": 1, "padding": "same"}, (2, 9, 3), (None, 9, 3)),
        ({"pool_size": 2, **CF}, (2, 3, 8), (None, 3, 4)),
    ],
)
def test_max_pooling1d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(MaxPooling1D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


# Keras-on-torch agrees with Keras-on-TF for average pooling whenever 'same' pads both sides equally
# (or not at all); those configurations are checked against it directly.
@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"pool_size": 2}, (2, 8, 8, 3), (None, 4, 4, 3)),
        ({"pool_size": (2, 3), "strides": (1, 2)}, (2, 6, 7, 2), (None, 5, 3, 2)),
        ({"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 6, 3), (None, 6, 6, 3)),
        ({"pool_size": 2, "padding": "same"}, (2, 7, 7, 3), (None, 4, 4, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3), (None, 4, 4, 3)),
        ({"pool_size": 2, **CF}, (2, 3, 8, 6), (None, 3, 4, 3)),
    ],
)
def test_average_pooling2d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(AveragePooling2D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"pool_size": 2}, (2, 8, 3), (None, 4, 3)),
        ({"pool_size": 3, "strides": 1, "padding": "same"}, (2, 8, 3), (None, 8, 3)),
        ({"pool_size": 2, "padding": "same", **CF}, (2, 3, 9), (None, 3, 5)),
    ],
)
def test_average_pooling1d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(AveragePooling1D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool, strides", [(1, 2), (2, 1), (2, 2), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3), (2, 3)])
@pytest.mark.parametrize("size", [(5, 6), (7, 7), (8, 5)])
def test_same_pooling_follows_keras_tf_semantics(kind, pool, strides, size):
    """Padded cells never win a max and never count in a mean (Keras on TF/JAX; see the module notes)."""
    x = np.random.default_rng(0).standard_normal((2, *size, 3)).astype(np.float32)
    cls = MaxPooling2D if kind == "max" else AveragePooling2D
    out = cls(pool, strides, padding="same")(torch.from_numpy(x)).numpy()
    expected = _reference_pool(x, (pool, pool), (strides, strides), "same", kind)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    one_d = (MaxPooling1D if kind == "max" else AveragePooling1D)(pool, strides, padding="same")
    out = one_d(torch.from_numpy(x[:, 0])).numpy()
    np.testing.assert_allclose(out, _reference_pool(x[:, :1], (1, pool), (1, strides), "same", kind)[:, 0], atol=1e-6)


def test_average_same_excludes_padding_even_where_keras_torch_replicates_edges(keras):
    # Keras 3.15 on torch fills an odd 'same' padding with edge copies (keras-team/keras#23233);
    # Keras on TF/JAX, and nerve, average the real values only.
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32).reshape(1, 5, 1)
    ours = AveragePooling1D(4, 2, padding="same")(torch.from_numpy(x))[0, :, 0]
    torch.testing.assert_close(ours, torch.tensor([(1 + 2 + 3) / 3, (2 + 3 + 4 + 5) / 4, (4 + 5) / 2]))
    theirs = np.asarray(keras.layers.AveragePooling1D(4, 2, padding="same")(x))[0, :, 0]
    assert not np.allclose(ours.numpy(), theirs)  # fails once Keras's fix lands: then compare directly


def test_defaults_follow_keras(keras):
    config = MaxPooling2D().get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == ((2, 2), (2, 2), "valid")
    assert MaxPooling1D().pool_size == (2,) and MaxPooling1D(3).strides == (3,)
    assert MaxPooling2D(3, strides=1).strides == (1, 1)
    with pytest.raises(TypeError):
        AveragePooling2D()  # no default pool_size in Keras 3
    with pytest.raises(TypeError):
        keras.layers.AveragePooling2D()
    with pytest.raises(TypeError):
        AveragePooling1D()
    for ours, theirs in [(MaxPooling2D(), keras.layers.MaxPooling2D()),
                         (AveragePooling1D(3, padding="same"), keras.layers.AveragePooling1D(3, padding="same")),
                         (GlobalMaxPooling2D(keepdims=True), keras.layers.GlobalMaxPooling2D(keepdims=True))]:
        a, b = ours.get_config(), theirs.get_config()
        assert set(a) == set(b)
        assert all(a[k] == b[k] for k in a if k not in ("name", "dtype"))


def test_max_pooling_same_never_picks_padding():
    x = -1.0 - torch.rand(1, 5, 5, 2)
    out = MaxPooling2D(2, padding="same")(x)
    assert out.shape == (1, 3, 3, 2) and (out < -1.0).all()


@pytest.mark.parametrize("cls", [GlobalAveragePooling2D, GlobalMaxPooling2D])
@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({}, (2, 5, 6, 3), (None, 3)),
    ({"keepdims": True}, (2, 5, 6, 3), (None, 1, 1, 3)),
    ({**CF}, (2, 3, 5, 6), (None, 3)),
    ({"keepdims": True, **CF}, (2, 3, 5, 6), (None, 3, 1, 1)),
])
def test_global_pooling2d_matches_keras(cls, kwargs, input_shape, output_shape, keras):
    layer_test(cls, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize("cls", [GlobalAveragePooling1D, GlobalMaxPooling1D])
@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({}, (2, 7, 3), (None, 3)),
    ({"keepdims": True}, (2, 7, 3), (None, 1, 3)),
    ({"keepdims": True, **CF}, (2, 3, 7), (None, 3, 1)),
])
def test_global_pooling1d_matches_keras(cls, kwargs, input_shape, output_shape, keras):
    layer_test(cls, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


def test_pooling_outputs_stay_contiguous_channels_last():
    x = torch.randn(4, 9, 9, 8)
    for layer in (MaxPooling2D(), AveragePooling2D(3, 2, padding="same"), MaxPooling2D(4, 1, padding="same"),
                  AveragePooling2D(4, 1, padding="same")):
        assert layer(x).is_contiguous()
    assert MaxPooling1D()(torch.randn(4, 9, 8)).is_contiguous()


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: MaxPooling2D(name="mp"), (8, 8), r"'mp'.*rank 4 \(batch, height, width, channels\).*rank 3"),
        (lambda: MaxPooling1D(name="mp1"), (8, 8, 1), r"'mp1'.*rank 3 \(batch, steps, channels\).*rank 4"),
        (lambda: GlobalAveragePooling2D(name="gap"), (8, 8), r"'gap'.*rank 4"),
        (lambda: GlobalMaxPooling1D(name="gmp"), (8,), r"'gmp'.*rank 3"),
        (lambda: MaxPooling2D(3, name="small"), (2, 2, 1), r"'small'.*pool_size \(3, 3\).*\(2, 2\).*'same'"),
    ],
)
def test_bad_inputs_name_the_layer(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(nerve.Input(shape=shape))


def test_eager_wrong_rank_is_clear():
    layer = MaxPooling2D(name="eager_pool")
    with pytest.raises(ValueError, match=r"'eager_pool'.*rank 4.*rank 3"):
        layer(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"'eager_gap'.*rank 3"):
        GlobalAveragePooling1D(name="eager_gap")(torch.zeros(2, 8, 8, 1))


@pytest.mark.parametrize("make, message", [
    (lambda: MaxPooling2D(padding="full"), r"padding must be one of \['valid', 'same'\]"),
    (lambda: MaxPooling2D(0), r"pool_size must be a positive integer"),
    (lambda: AveragePooling2D(2, strides=(1, 0)), r"strides must be"),
    (lambda: GlobalMaxPooling2D(data_format="NCHW"), r"data_format must be one of"),
])
def test_bad_arguments_are_clear(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_public_names_and_keras_aliases(keras):
    canonical = {"AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
                 "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D"}
    aliases = {"AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D",
               "GlobalMaxPool2D", "MaxPool1D", "MaxPool2D"}
    assert set(pooling.__all__) == canonical | aliases
    for alias in aliases:  # the same class under the same alias as in Keras
        assert getattr(pooling, alias).__name__ == getattr(keras.layers, alias).__name__


def test_default_names_follow_keras():
    assert [MaxPooling1D().name, MaxPooling2D().name, AveragePooling2D(2).name, GlobalAveragePooling1D().name,
            GlobalMaxPooling2D().name, MaxPooling2D().name] == [
        "max_pooling1d", "max_pooling2d", "average_pooling2d", "global_average_pooling1d",
        "global_max_pooling2d", "max_pooling2d_1"]
