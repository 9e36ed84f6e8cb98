"""Noise and structured dropout layers: statistics in training, identity at inference, Keras configs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve
from nerve.layers.dense import Dense
from nerve.layers.noise import (AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                SpatialDropout3D)
from nerve.layers.reshaping import Flatten
from tests.layers.layer_test_utils import layer_test


@pytest.mark.parametrize("cls, kwargs, input_shape", [
    (SpatialDropout1D, {"rate": 0.3}, (2, 5, 4)),
    (SpatialDropout2D, {"rate": 0.3}, (2, 5, 6, 4)),
    (SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first", "seed": 3}, (2, 4, 5, 6)),
    (SpatialDropout3D, {"rate": 0.2}, (2, 3, 4, 5, 2)),
    (GaussianNoise, {"stddev": 0.4}, (3, 5)),
    (GaussianNoise, {"stddev": 0.1, "seed": 2}, (2, 4, 4, 3)),
    (GaussianDropout, {"rate": 0.3}, (3, 5)),
    (AlphaDropout, {"rate": 0.2}, (3, 5)),
    (AlphaDropout, {"rate": 0.2, "noise_shape": (None, 1, 4), "seed": 1}, (3, 2, 4)),
])
def test_layer_contract_inference_identity_and_keras_config(cls, kwargs, input_shape, keras):
    layer = layer_test(cls, kwargs, input_shape, (None,) + input_shape[1:], 0, 0, keras_module=keras)
    x = torch.randn(input_shape)
    assert layer(x) is x and layer(x, training=False) is x  # inference: no copy, no change
    theirs = getattr(keras.layers, cls.__name__)(**kwargs)
    ours, kconf = layer.get_config(), theirs.get_config()
    assert set(ours) == set(kconf)
    for key in set(ours) - {"name", "dtype"}:
        assert ours[key] == kconf[key], key


def test_default_names_match_keras():
    assert SpatialDropout2D(0.1).name == "spatial_dropout2d"
    assert SpatialDropout2D(0.1).name == "spatial_dropout2d_1"
    assert SpatialDropout1D(0.1).name == "spatial_dropout1d"
    assert GaussianNoise(0.1).name == "gaussian_noise"


def test_spatial_dropout_2d_drops_whole_channels():
    rate = 0.4
    x = torch.ones(500, 3, 4, 8)
    out = SpatialDropout2D(rate)(x, training=True)
    per_map = out.permute(0, 3, 1, 2).reshape(500, 8, -1)
    assert (per_map == per_map[..., :1]).all()  # each (sample, channel) map is all kept or all dropped
    kept = per_map[..., 0][per_map[..., 0] != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - rate)))
    assert abs((per_map[..., 0] == 0).float().mean().item() - rate) < 0.03
    dropped = per_map[..., 0] == 0
    assert (dropped.any(dim=1) & ~dropped.all(dim=1)).any()  # channels of one sample are decided apart
    first = SpatialDropout2D(rate, data_format="channels_first")(x.permute(0, 3, 1, 2), training=True)
    per_map = first.reshape(500, 8, -1)
    assert (per_map == per_map[..., :1]).all() and (per_map == 0).any()


def test_spatial_dropout_1d_and_3d_drop_the_same_channels_at_every_position():
    out = SpatialDropout1D(0.5)(torch.ones(200, 6, 5), training=True)
    assert (out == out[:, :1, :]).all() and (out == 0).any() and (out == 2).any()
    assert ((out[:, 0] == 0).any(dim=1) & (out[:, 0] == 2).any(dim=1)).any()
    out = SpatialDropout3D(0.5)(torch.ones(50, 2, 3, 2, 4), training=True)
    flat = out.reshape(50, -1, 4)
    assert (flat == flat[:, :1, :]).all() and (flat == 0).any()


def test_gaussian_noise_statistics_and_seed():
    x = torch.full((200, 500), 3.0)
    noise = GaussianNoise(0.25)(x, training=True) - x
    assert abs(noise.mean().item()) < 0.005 and abs(noise.std().item() - 0.25) < 0.005
    a = GaussianNoise(0.5, seed=5)(x, training=True)
    torch.manual_seed(1)
    b = GaussianNoise(0.5, seed=5)(x, training=True)
    torch.testing.assert_close(a, b)
    nerve.utils.set_random_seed(3)
    c = GaussianNoise(0.5)(x, training=True)
    nerve.utils.set_random_seed(3)
    torch.testing.assert_close(GaussianNoise(0.5)(x, training=True), c)


def test_gaussian_dropout_statistics():
    rate = 0.3
    x = torch.full((200, 500), 2.0)
    factor = GaussianDropout(rate)(x, training=True) / x
    assert abs(factor.mean().item() - 1) < 0.01
    assert abs(factor.std().item() - math.sqrt(rate / (1 - rate))) < 0.01


def test_alpha_dropout_keeps_mean_and_variance_of_selu_activations():
    x = torch.randn(400, 500)
    layer = AlphaDropout(0.2)
    out = layer(x, training=True)
    assert abs(out.mean().item()) < 0.01 and abs(out.var().item() - 1) < 0.02
    dropped = ~torch.isclose(out, x * _alpha_a(0.2) + _alpha_b(0.2))
    assert abs(dropped.float().mean().item() - 0.2) < 0.01


def _alpha_a(rate: float) -> float:
    sat = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    return ((1 - rate) * (1 + rate * sat ** 2)) ** -0.5


def _alpha_b(rate: float) -> float:
    sat = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    return -_alpha_a(rate) * sat * rate


def test_noise_is_off_in_predict_and_on_in_fit():
    x = np.random.default_rng(0).random((64, 4, 4, 2)).astype("float32")
    y = np.ones((64, 1), dtype="float32")

    def model(*noise):
        nerve.utils.set_random_seed(0)
        return nerve.Sequential([nerve.Input((4, 4, 2)), *noise, Flatten(), Dense(1, kernel_initializer="ones")])

    noisy = model(SpatialDropout2D(0.5), GaussianNoise(0.5), GaussianDropout(0.3))
    plain = model()
    np.testing.assert_allclose(noisy.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-6)
    for m in (noisy, plain):
        m.compile(optimizer="sgd", loss="mse")
    noisy_loss = noisy.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0).history["loss"][0]
    plain_loss = plain.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0).history["loss"][0]
    assert noisy_loss != pytest.approx(plain_loss, rel=1e-3)


@pytest.mark.parametrize("make, match", [
    (lambda: GaussianNoise(1.5), r"gaussian_noise.*stddev.*\[0, 1\].*1.5"),
    (lambda: GaussianDropout(1.0), r"rate.*\[0, 1\).*1.0"),
    (lambda: AlphaDropout(-0.1), r"rate"),
    (lambda: SpatialDropout2D(0.2, data_format="NHWC"), r"data_format.*NHWC"),
    (lambda: SpatialDropout1D(1.2), r"rate"),
])
def test_bad_arguments_are_refused_clearly(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_rank_is_refused_clearly():
    with pytest.raises(ValueError, match=r"spatial_dropout2d.*rank 4.*\(batch, dim, dim, channels\).*\(2, 3, 4\)"):
        SpatialDropout2D(0.2)(torch.ones(2, 3, 4), training=True)
    with pytest.raises(ValueError, match=r"spatial_dropout1d.*rank 3"):
        SpatialDropout1D(0.2)(nerve.Input((3, 4, 5)))
