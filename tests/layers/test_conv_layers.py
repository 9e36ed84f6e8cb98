"""Convolution layers: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers.conv import Conv1D, Conv2D
from nerve.layers.conv_base import from_nchw, same_padding, to_nchw
from nerve.layers.conv_transpose import Conv2DTranspose
from nerve.layers.depthwise_conv import DepthwiseConv2D, SeparableConv2D
from nerve.layers.dense import Dense
from nerve.layers.dropout import Dropout
from nerve.layers.pooling import MaxPooling2D
from nerve.layers.reshaping import Flatten
from tests.layers.layer_test_utils import layer_test

CF = {"data_format": "channels_first"}


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 4, "kernel_size": 3}, (2, 8, 8, 3), (None, 6, 6, 4)),
        ({"filters": 4, "kernel_size": (2, 3), "use_bias": False}, (2, 7, 8, 2), (None, 6, 6, 4)),
        ({"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 7, 7, 3), (None, 7, 7, 4)),
        ({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 7, 7, 3), (None, 4, 4, 4)),
        ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 9, 8, 3), (None, 5, 4, 4)),
        ({"filters": 4, "kernel_size": 4, "padding": "same"}, (2, 6, 7, 3), (None, 6, 7, 4)),
        ({"filters": 3, "kernel_size": 3, "strides": (2, 1), "padding": "valid"}, (2, 9, 9, 2), (None, 4, 7, 3)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (2, 9, 9, 3), (None, 5, 5, 4)),
        ({"filters": 4, "kernel_size": 2, "dilation_rate": (2, 3), "padding": "same"}, (2, 8, 8, 3), (None, 8, 8, 4)),
        ({"filters": 6, "kernel_size": 3, "groups": 3}, (2, 7, 7, 6), (None, 5, 5, 6)),
        ({"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same", "strides": 2}, (2, 7, 7, 4), (None, 4, 4, 4)),
        ({"filters": 5, "kernel_size": 3, "activation": "relu", **CF}, (2, 3, 8, 8), (None, 5, 6, 6)),
        ({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same", **CF}, (2, 3, 7, 6), (None, 4, 4, 3)),
        ({"filters": 4, "kernel_size": 3, "activation": "tanh", "kernel_initializer": "he_normal",
          "bias_initializer": "ones"}, (2, 6, 6, 1), (None, 4, 4, 4)),
    ],
)
def test_conv2d_matches_keras(kwargs, input_shape, output_shape, keras):
    n = 1 if kwargs.get("use_bias") is False else 2
    layer = layer_test(Conv2D, kwargs, input_shape, output_shape, n, n, keras_module=keras)
    channels = input_shape[-1] if "data_format" not in kwargs else input_shape[1]
    assert layer.kernel.shape == (*layer.kernel_size, channels // layer.groups, kwargs["filters"])


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 4, "kernel_size": 3}, (2, 10, 3), (None, 8, 4)),
        ({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 9, 3), (None, 5, 4)),
        ({"filters": 4, "kernel_size": 4, "padding": "same", "use_bias": False}, (2, 9, 3), (None, 9, 4)),
        ({"filters": 4, "kernel_size": 3, "padding": "causal"}, (2, 9, 3), (None, 9, 4)),
        ({"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 3), (None, 9, 4)),
        ({"filters": 4, "kernel_size": 2, "padding": "causal", "strides": 2}, (2, 9, 3), (None, 5, 4)),
        ({"filters": 4, "kernel_size": 3, "groups": 2, "activation": "relu"}, (2, 9, 4), (None, 7, 4)),
        ({"filters": 4, "kernel_size": 3, "padding": "causal", **CF}, (2, 3, 9), (None, 4, 9)),
        ({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same", **CF}, (2, 3, 9), (None, 4, 5)),
    ],
)
def test_conv1d_matches_keras(kwargs, input_shape, output_shape, keras):
    n = 1 if kwargs.get("use_bias") is False else 2
    layer_test(Conv1D, kwargs, input_shape, output_shape, n, n, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 4, "kernel_size": 3}, (2, 5, 5, 3), (None, 7, 7, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 3), (None, 10, 12, 4)),
        ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 5, 5, 3), (None, 10, 10, 4)),
        ({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "valid"}, (2, 5, 5, 3), (None, 10, 10, 4)),
        ({"filters": 4, "kernel_size": 1, "strides": 3}, (2, 4, 4, 3), (None, 12, 12, 4)),
        ({"filters": 4, "kernel_size": 4, "padding": "same"}, (2, 5, 5, 3), (None, 5, 5, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0},
         (2, 5, 5, 3), (None, 9, 9, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "valid", "output_padding": 1},
         (2, 5, 5, 3), (None, 12, 12, 4)),
        ({"filters": 4, "kernel_size": 4, "strides": (3, 2), "padding": "same", "output_padding": (2, 1)},
         (2, 5, 5, 3), (None, 14, 9, 4)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 5, 5, 3), (None, 5, 5, 4)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (2, 5, 5, 3), (None, 9, 9, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", **CF}, (2, 3, 5, 5), (None, 4, 10, 10)),
    ],
)
def test_conv2d_transpose_matches_keras(kwargs, input_shape, output_shape, keras):
    n = 1 if kwargs.get("use_bias") is False else 2
    layer = layer_test(Conv2DTranspose, kwargs, input_shape, output_shape, n, n, keras_module=keras)
    channels = input_shape[-1] if "data_format" not in kwargs else input_shape[1]
    assert layer.kernel.shape == (*layer.kernel_size, kwargs["filters"], channels)  # Keras: (kh, kw, out, in)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"kernel_size": 3}, (2, 7, 7, 3), (None, 5, 5, 3)),
        ({"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 7, 7, 3), (None, 7, 7, 6)),
        ({"kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False}, (2, 7, 7, 3), (None, 4, 4, 3)),
        ({"kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 3}, (2, 8, 8, 2), (None, 4, 4, 6)),
        ({"kernel_size": 3, "depth_multiplier": 2, **CF}, (2, 3, 7, 7), (None, 6, 5, 5)),
    ],
)
def test_depthwise_conv2d_matches_keras(kwargs, input_shape, output_shape, keras):
    n = 1 if kwargs.get("use_bias") is False else 2
    layer_test(DepthwiseConv2D, kwargs, input_shape, output_shape, n, n, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 5, "kernel_size": 3}, (2, 7, 7, 3), (None, 5, 5, 5)),
        ({"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 7, 7, 3), (None, 7, 7, 5)),
        ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "use_bias": False},
         (2, 7, 7, 3), (None, 4, 4, 4)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"}, (2, 8, 8, 2), (None, 4, 4, 4)),
        ({"filters": 4, "kernel_size": 3, "depth_multiplier": 2, **CF}, (2, 3, 7, 7), (None, 4, 5, 5)),
    ],
)
def test_separable_conv2d_matches_keras(kwargs, input_shape, output_shape, keras):
    n = 2 if kwargs.get("use_bias") is False else 3
    layer = layer_test(SeparableConv2D, kwargs, input_shape, output_shape, n, n, keras_module=keras)
    assert [w.name for w in layer.weights][:2] == ["depthwise_kernel", "pointwise_kernel"]


def test_same_padding_puts_the_odd_pixel_bottom_right():
    # 5x5 ramp, 2x2 ones kernel, stride 2: windows start at rows/cols 0, 2, 4, so the pad is after.
    x = torch.arange(25.0).reshape(1, 5, 5, 1)
    layer = Conv2D(1, 2, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
    expected = torch.tensor([[12.0, 20.0, 13.0], [52.0, 60.0, 33.0], [41.0, 45.0, 24.0]])
    torch.testing.assert_close(layer(x)[0, :, :, 0], expected)
    assert same_padding(5, 2, 2) == (0, 1) and same_padding(5, 4, 1) == (1, 2) and same_padding(8, 4, 2) == (1, 1)


def test_conv1d_causal_sees_only_the_past():
    layer = Conv1D(1, 3, padding="causal", use_bias=False, kernel_initializer="ones")
    x = torch.zeros(1, 6, 1)
    x[0, 3, 0] = 1.0
    out = layer(x)[0, :, 0]
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]))


def test_channels_last_runs_without_copies():
    x = torch.randn(4, 10, 10, 3)
    view = to_nchw(x, "channels_last", 2)
    assert view.data_ptr() == x.data_ptr() and view.is_contiguous(memory_format=torch.channels_last)
    layer = Conv2D(8, 3, padding="same")
    out = layer(x)
    assert out.is_contiguous()  # torch kept channels_last, so the NHWC view is contiguous
    y = torch.nn.functional.conv2d(view, layer._torch_kernel(), padding=1)
    assert from_nchw(y, "channels_last", 2).data_ptr() == y.data_ptr()
    assert layer._torch_kernel().data_ptr() == layer.kernel.value.data_ptr()  # kernel view, no copy
    for layer in (Conv1D(4, 3), Conv2DTranspose(4, 3, strides=2, padding="same"), DepthwiseConv2D(3),
                  SeparableConv2D(4, 3), Conv2D(4, 3, strides=2, padding="same")):
        shape = (4, 12, 3) if isinstance(layer, Conv1D) else (4, 9, 9, 3)
        assert layer(torch.randn(shape)).is_contiguous(), type(layer).__name__


def test_keras_documented_shapes_and_param_counts(keras):
    inputs = nerve.Input(shape=(28, 28, 1))
    layer = Conv2D(32, 3)
    assert layer(inputs).shape == (None, 26, 26, 32)
    assert layer.count_params() == 320
    assert layer.get_config()["kernel_size"] == (3, 3) and layer.get_config()["strides"] == (1, 1)
    assert Conv2D(8, 3, padding="same")(nerve.Input(shape=(28, 28, 1))).shape == (None, 28, 28, 8)
    assert Conv1D(8, 5)(nerve.Input(shape=(100, 16))).shape == (None, 96, 8)
    assert SeparableConv2D(32, 3)(nerve.Input(shape=(8, 8, 16))).shape == (None, 6, 6, 32)


def test_default_names_follow_keras(keras):
    for ours, theirs in [(Conv1D(2, 3), keras.layers.Conv1D(2, 3)), (Conv2D(2, 3), keras.layers.Conv2D(2, 3)),
                         (Conv2DTranspose(2, 3), keras.layers.Conv2DTranspose(2, 3)),
                         (DepthwiseConv2D(3), keras.layers.DepthwiseConv2D(3)),
                         (SeparableConv2D(2, 3), keras.layers.SeparableConv2D(2, 3))]:
        assert ours.name == _strip_uid(theirs.name)


def test_keras_aliases(keras):
    from nerve.layers import conv, conv_transpose, depthwise_conv

    for module in (conv, conv_transpose, depthwise_conv):
        for name in module.__all__:
            assert getattr(module, name).__name__ == getattr(keras.layers, name).__name__, name


def _strip_uid(name: str) -> str:
    """Keras's session-wide counters differ from nerve's (cleared per test): compare the stems."""
    stem, _, tail = name.rpartition("_")
    return stem if tail.isdigit() else name


def _small_cnn(lib, dropout):
    layers = lib.layers
    return [
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]


def test_small_cnn_param_counts_equal_keras(keras):
    class _Lib:  # nerve's classes under Keras's names, before nerve.layers exports them
        layers = type("L", (), {"Conv2D": Conv2D, "MaxPooling2D": MaxPooling2D, "Flatten": Flatten,
                                "Dense": Dense})

    ours = nerve.Sequential([nerve.Input(shape=(28, 28, 1)), *_small_cnn(_Lib, Dropout)])
    theirs = keras.Sequential([keras.Input(shape=(28, 28, 1)), *_small_cnn(keras, keras.layers.Dropout)])
    assert [layer.count_params() for layer in ours.layers] == [layer.count_params() for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params() == 34826
    # Same weights in Keras's layout: same predictions.
    for a, b in zip(ours.layers, theirs.layers):
        b.set_weights(a.get_weights())
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    expected = theirs(x).detach().cpu().numpy()
    np.testing.assert_allclose(ours(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: Conv2D(4, 3, name="c2"), (5, 5), r"'c2'.*rank 4 \(batch, height, width, channels\).*rank 3"),
        (lambda: Conv1D(4, 3, name="c1"), (5, 5, 5), r"'c1'.*rank 3 \(batch, steps, channels\).*rank 4"),
        (lambda: Conv2D(4, 3, data_format="channels_first", name="cf"), (5, 5),
         r"'cf'.*rank 4 \(batch, channels, height, width\)"),
        (lambda: Conv2D(4, 9, name="big"), (5, 5, 1), r"'big'.*padding='valid'.*kernel \(9, 9\).*\(5, 5\)"),
        (lambda: Conv2D(4, 3, dilation_rate=3, name="dil"), (5, 5, 1), r"'dil'.*dilated to \(7, 7\)"),
        (lambda: Conv2D(4, 3, groups=2, name="g"), (8, 8, 3), r"'g'.*input channels.*divisible by groups.*3"),
        (lambda: DepthwiseConv2D(3, name="dw"), (8, 8, None), r"'dw'.*known number of input channels"),
        (lambda: Conv2DTranspose(4, 3, name="t"), (5, 5), r"'t'.*rank 4"),
    ],
)
def test_bad_inputs_name_the_layer(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(nerve.Input(shape=shape))


def test_eager_wrong_rank_and_channels_are_clear():
    layer = Conv2D(4, 3, name="eager")
    with pytest.raises(ValueError, match=r"'eager'.*rank 4.*rank 3.*help: add a channels axis"):
        layer(torch.zeros(2, 8, 8))
    layer(torch.zeros(2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"'eager'.*rank 4.*rank 5"):
        layer(torch.zeros(2, 8, 8, 3, 1))
    with pytest.raises(ValueError, match=r"eager.*built for input shape"):
        layer(torch.zeros(2, 8, 8, 5))
    with pytest.raises(ValueError, match=r"'eager'.*built for 3 input channels.*\(None, 8, 8, 5\)"):
        layer(nerve.Input(shape=(8, 8, 5)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2D(0, 3), r"filters must be a positive integer.*filters=0"),
        (lambda: Conv2D("8", 3), r"filters must be a positive integer"),
        (lambda: Conv2D(4, 0), r"kernel_size must be a positive integer or a tuple of 2.*kernel_size=0"),
        (lambda: Conv2D(4, (3,)), r"kernel_size.*tuple of 2"),
        (lambda: Conv2D(4, 3, padding="full"), r"padding must be one of \['valid', 'same'\].*'full'"),
        (lambda: Conv2D(4, 3, padding="causal"), r"padding must be one of \['valid', 'same'\]"),
        (lambda: Conv1D(4, 3, padding="full"), r"\['valid', 'same', 'causal'\]"),
        (lambda: Conv2D(4, 3, data_format="NHWC"), r"data_format must be one of \['channels_last'"),
        (lambda: Conv2D(6, 3, groups=4), r"filters must be divisible by groups"),
        (lambda: Conv2D(4, 3, strides=2, dilation_rate=2), r"strides > 1 cannot be combined with dilation_rate"),
        (lambda: Conv2DTranspose(4, 3, strides=2, output_padding=2), r"output_padding must be strictly less"),
        (lambda: Conv2DTranspose(4, 3, output_padding=1), r"output_padding must be strictly less"),
        (lambda: DepthwiseConv2D(3, depth_multiplier=0), r"depth_multiplier must be a positive integer"),
    ],
)
def test_bad_arguments_are_clear(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_config_matches_keras_keys_and_normalisation(keras):
    for ours, theirs in [
        (Conv2D(4, 3), keras.layers.Conv2D(4, 3)),
        (Conv1D(4, 3, padding="causal"), keras.layers.Conv1D(4, 3, padding="causal")),
        (Conv2DTranspose(4, 3, output_padding=0, strides=2), keras.layers.Conv2DTranspose(4, 3, output_padding=0,
                                                                                          strides=2)),
        (DepthwiseConv2D(3), keras.layers.DepthwiseConv2D(3)),
        (SeparableConv2D(4, 3), keras.layers.SeparableConv2D(4, 3)),
    ]:
        a, b = ours.get_config(), theirs.get_config()
        # The base Layer writes activity_regularizer only when set; Keras always writes it.
        assert set(a) | {"activity_regularizer"} == set(b), (set(a) ^ set(b))
        for key in ("kernel_size", "strides", "padding", "dilation_rate", "data_format", "activation"):
            assert a[key] == b[key], key
    assert Conv2D(4, 3, padding="SAME").padding == "same"


def test_weight_regularizers_reach_losses():
    layer = Conv2D(2, 3, kernel_regularizer=nerve.regularizers.L2(0.1), bias_regularizer="l1",
                   kernel_initializer="ones", bias_initializer="ones")
    layer(torch.zeros(1, 5, 5, 1))
    penalties = [float(p.detach()) for p in layer.losses]
    assert penalties == pytest.approx([0.1 * 18, 0.01 * 2])


def test_cnn_trains_on_digits_with_fit():
    nerve.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = nerve.datasets.digits.load_data()
    x_train = (x_train.reshape(-1, 8, 8, 1) / 255.0).astype("float32")
    x_test = (x_test.reshape(-1, 8, 8, 1) / 255.0).astype("float32")
    model = nerve.Sequential([
        nerve.Input(shape=(8, 8, 1)),
        Conv2D(16, 3, padding="same", activation="relu"),
        MaxPooling2D(),
        SeparableConv2D(16, 3, padding="same", activation="relu"),
        Conv2DTranspose(8, 2, strides=2, activation="relu"),
        Conv2D(8, 3, strides=2, activation="relu"),
        Flatten(),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=nerve.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.35 * history.history["loss"][0]
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.8
