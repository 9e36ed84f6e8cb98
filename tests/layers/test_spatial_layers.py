"""Spatial layers: UpSampling2D, ZeroPadding2D, Cropping2D."""

from __future__ import annotations

import pytest
import torch

import nerve
from nerve.layers.spatial import Cropping2D, UpSampling2D, ZeroPadding2D
from tests.layers.layer_test_utils import layer_test

CF = {"data_format": "channels_first"}


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 4, 5, 3), (None, 8, 10, 3)),
        ({"size": 3}, (2, 4, 5, 3), (None, 12, 15, 3)),
        ({"size": (2, 1)}, (2, 4, 5, 3), (None, 8, 5, 3)),
        ({"interpolation": "bilinear"}, (2, 4, 5, 3), (None, 8, 10, 3)),
        ({"size": (3, 2), "interpolation": "bilinear"}, (2, 4, 5, 3), (None, 12, 10, 3)),
        ({"size": (1, 3), **CF}, (2, 3, 4, 5), (None, 3, 4, 15)),
        ({"interpolation": "bilinear", **CF}, (2, 3, 4, 5), (None, 3, 8, 10)),
    ],
)
def test_upsampling2d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(UpSampling2D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 4, 5, 3), (None, 6, 7, 3)),
        ({"padding": 2}, (2, 4, 5, 3), (None, 8, 9, 3)),
        ({"padding": (1, 3)}, (2, 4, 5, 3), (None, 6, 11, 3)),
        ({"padding": ((0, 2), (3, 1))}, (2, 4, 5, 3), (None, 6, 9, 3)),
        ({"padding": ((1, 0), (0, 2)), **CF}, (2, 3, 4, 5), (None, 3, 5, 7)),
    ],
)
def test_zero_padding2d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(ZeroPadding2D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 6, 7, 3), (None, 6, 7, 3)),
        ({"cropping": 1}, (2, 6, 7, 3), (None, 4, 5, 3)),
        ({"cropping": (2, 1)}, (2, 6, 7, 3), (None, 2, 5, 3)),
        ({"cropping": ((0, 2), (3, 1))}, (2, 6, 7, 3), (None, 4, 3, 3)),
        ({"cropping": ((1, 0), (0, 2)), **CF}, (2, 3, 6, 7), (None, 3, 5, 5)),
    ],
)
def test_cropping2d_matches_keras(kwargs, input_shape, output_shape, keras):
    layer_test(Cropping2D, kwargs, input_shape, output_shape, 0, 0, keras_module=keras)


def test_closed_forms():
    x = torch.arange(4.0).reshape(1, 2, 2, 1)
    up = UpSampling2D()(x)[0, :, :, 0]
    torch.testing.assert_close(up, torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]))
    padded = ZeroPadding2D(((1, 0), (0, 1)))(x)[0, :, :, 0]
    torch.testing.assert_close(padded, torch.tensor([[0.0, 0, 0], [0, 1, 0], [2, 3, 0]]))
    cropped = Cropping2D(((1, 0), (0, 1)))(x)[0, :, :, 0]
    torch.testing.assert_close(cropped, torch.tensor([[2.0]]))


def test_configs_normalise_like_keras(keras):
    for ours, theirs in [
        (ZeroPadding2D(2), keras.layers.ZeroPadding2D(2)),
        (ZeroPadding2D((1, 2)), keras.layers.ZeroPadding2D((1, 2))),
        (Cropping2D(3), keras.layers.Cropping2D(3)),
        (Cropping2D((1, 2)), keras.layers.Cropping2D((1, 2))),
        (UpSampling2D(3, interpolation="bilinear"), keras.layers.UpSampling2D(3, interpolation="bilinear")),
    ]:
        a, b = ours.get_config(), theirs.get_config()
        assert set(a) == set(b)
        assert all(a[k] == b[k] for k in a if k not in ("name", "dtype")), (a, b)


def test_layouts_do_not_copy_needlessly():
    x = torch.randn(2, 6, 7, 3)
    assert UpSampling2D()(x).is_contiguous() and UpSampling2D(interpolation="bilinear")(x).is_contiguous()
    assert ZeroPadding2D()(x).is_contiguous()
    assert Cropping2D(1)(x).data_ptr() != 0 and Cropping2D(1)(x).untyped_storage().data_ptr() == x.data_ptr()


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: UpSampling2D(name="up"), (4, 4), r"'up'.*rank 4 \(batch, height, width, channels\).*rank 3"),
        (lambda: ZeroPadding2D(name="zp"), (4, 4, 4, 1), r"'zp'.*rank 4.*rank 5"),
        (lambda: Cropping2D(((2, 2), (0, 0)), name="crop"), (4, 6, 1), r"'crop'.*removes all 4 rows"),
        (lambda: Cropping2D(((0, 0), (3, 3)), name="crop_w", **CF), (1, 4, 6), r"'crop_w'.*removes all 6 columns"),
    ],
)
def test_bad_inputs_name_the_layer(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(nerve.Input(shape=shape))


def test_eager_wrong_rank_is_clear():
    with pytest.raises(ValueError, match=r"'eager_up'.*rank 4.*rank 3"):
        UpSampling2D(name="eager_up")(torch.zeros(2, 4, 4))


@pytest.mark.parametrize("make, message", [
    (lambda: UpSampling2D(interpolation="bicubic"), r"interpolation must be one of \['nearest', 'bilinear'\]"),
    (lambda: UpSampling2D(size=0), r"size must be a positive integer"),
    (lambda: ZeroPadding2D(padding=-1), r"padding must be an int, a pair of ints.*\(\(top, bottom\)"),
    (lambda: ZeroPadding2D(padding=((1, 2), 3)), r"padding must be an int, a pair of ints"),
    (lambda: Cropping2D(cropping=((1, 2), (3, -1))), r"cropping must be a non-negative integer"),
])
def test_bad_arguments_are_clear(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_default_names_follow_keras():
    assert [UpSampling2D().name, ZeroPadding2D().name, Cropping2D().name] == [
        "up_sampling2d", "zero_padding2d", "cropping2d"]
