"""Initializers: Keras's fan rules, scales and bounds, checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nerve import initializers

SHAPE = (400, 300)
FAN_IN, FAN_OUT = 400, 300


@pytest.mark.parametrize(
    "name, kind, scale",
    [
        ("glorot_uniform", "uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("he_uniform", "uniform", math.sqrt(6 / FAN_IN)),
        ("lecun_uniform", "uniform", math.sqrt(3 / FAN_IN)),
        ("glorot_normal", "truncated", math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_normal", "truncated", math.sqrt(2 / FAN_IN)),
        ("lecun_normal", "truncated", math.sqrt(1 / FAN_IN)),
    ],
)
def test_variance_scaling_family(name, kind, scale):
    w = initializers.get(name)(SHAPE)
    assert tuple(w.shape) == SHAPE and w.dtype == torch.float32
    if kind == "uniform":
        assert w.abs().max() <= scale and w.abs().max() > 0.98 * scale
        assert w.std().item() == pytest.approx(scale / math.sqrt(3), rel=0.03)
    else:
        # Truncated at two (pre-correction) standard deviations; the std after truncation is `scale`.
        assert w.std().item() == pytest.approx(scale, rel=0.03)
        assert w.abs().max() <= 2 * scale / 0.87962566103423978 + 1e-6


def test_conv_kernel_fans_use_receptive_field():
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((5,)) == (5, 5)


def test_seeded_initializers_repeat():
    a = initializers.GlorotUniform(seed=3)((5, 4))
    b = initializers.GlorotUniform(seed=3)((5, 4))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, initializers.GlorotUniform(seed=4)((5, 4)))


def test_constant_family_and_identity_orthogonal():
    assert torch.all(initializers.get("zeros")((3,)) == 0) and torch.all(initializers.get("ones")((3,)) == 1)
    assert torch.all(initializers.Constant(2.5)((2, 2)) == 2.5)
    torch.testing.assert_close(initializers.Identity(gain=2.0)((3, 3)), 2 * torch.eye(3))
    q = initializers.Orthogonal()((6, 4)).double()
    torch.testing.assert_close(q.T @ q, torch.eye(4, dtype=torch.float64), atol=1e-5, rtol=0)


def test_random_normal_and_uniform_defaults_match_keras():
    assert initializers.RandomNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert initializers.RandomUniform().get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    assert initializers.VarianceScaling().get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None}


def test_distributions_agree_with_keras(keras):
    for name in ("glorot_uniform", "he_normal", "lecun_normal", "glorot_normal"):
        ours = initializers.get(name)(SHAPE).numpy()
        theirs = np.asarray(keras.initializers.get(name)(SHAPE))
        assert ours.std() == pytest.approx(theirs.std(), rel=0.05), name
        # Keras's torch backend redraws only 4 times, so a rare value escapes truncation: compare quantiles.
        q = 0.999
        assert np.quantile(np.abs(ours), q) == pytest.approx(np.quantile(np.abs(theirs), q), rel=0.05), name


def test_unknown_initializer_lists_names():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'.*glorot_uniform"):
        initializers.get("glorot")
