"""Closed-form checks of each update rule and of the shared options, without Keras."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nerve import optimizers
from nerve.backend import Variable


def one_step(opt, w0, g, steps=1, dtype=torch.float64):
    """Apply the same gradient `steps` times to a fresh weight and return it."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=dtype))
    opt.build([p])
    for _ in range(steps):
        p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
    return p.detach().numpy()


W0 = np.array([0.5, -1.0, 2.0, 0.0])
G = np.array([0.1, -0.2, 3.0, 1e-6])


def test_sgd_step_is_w_minus_lr_g() -> None:
    np.testing.assert_allclose(one_step(optimizers.SGD(0.1), W0, G), W0 - 0.1 * G, rtol=1e-7)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_keeps_lr_inside_velocity(nesterov) -> None:
    lr, mom = 0.1, 0.9
    m1 = -lr * G
    m2 = mom * m1 - lr * G
    if nesterov:
        expected = W0 + (mom * m1 - lr * G) + (mom * m2 - lr * G)
    else:
        expected = W0 + m1 + m2
    got = one_step(optimizers.SGD(lr, momentum=mom, nesterov=nesterov), W0, G, steps=2)
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_adam_first_step_puts_epsilon_before_bias_correction() -> None:
    # Keras: w -= lr * g / (|g| + eps / sqrt(1 - b2)) on the first step; torch's
    # placement would give lr * g / (|g| + eps), very different for |g| ~ eps.
    lr, eps, b2 = 0.01, 1e-7, 0.999
    expected = W0 - lr * G / (np.abs(G) + eps / math.sqrt(1 - b2))
    got = one_step(optimizers.Adam(lr, epsilon=eps), W0, G)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    assert abs((W0 - got)[3] - lr * 0.24) < lr * 0.01  # the tiny gradient moves ~0.24 lr, not ~0.91 lr


@pytest.mark.parametrize("fused", [True, False])
def test_adam_two_steps_closed_form(fused) -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    opt = optimizers.Adam(lr, beta_1=b1, beta_2=b2, epsilon=eps)
    opt._allow_fused = fused
    m = v = np.zeros_like(G)
    w = W0.copy()
    for t in (1, 2):
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G**2
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(one_step(opt, W0, G, steps=2), w, rtol=1e-7)


def test_amsgrad_uses_running_max_of_velocity() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    p = torch.nn.Parameter(torch.tensor(W0))
    opt = optimizers.Adam(lr, amsgrad=True)
    opt.build([p])
    m = v = vmax = np.zeros_like(G)
    w = W0.copy()
    for t, g in enumerate([G, 0.01 * G], start=1):
        p.grad = torch.tensor(g)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(vmax) + eps)
    np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-7)


def test_rmsprop_epsilon_inside_sqrt() -> None:
    lr, rho, eps = 0.01, 0.9, 1e-7
    expected = W0 - lr * G / np.sqrt((1 - rho) * G**2 + eps)
    np.testing.assert_allclose(one_step(optimizers.RMSprop(lr), W0, G), expected, rtol=1e-7)


def test_rmsprop_centered_momentum() -> None:
    lr, rho, eps, mom = 0.01, 0.9, 1e-7, 0.5
    v = (1 - rho) * G**2
    a = (1 - rho) * G
    expected = W0 - lr * G / np.sqrt(v - a**2 + eps)
    opt = optimizers.RMSprop(lr, momentum=mom, centered=True)
    np.testing.assert_allclose(one_step(opt, W0, G), expected, rtol=1e-7)


def test_adagrad_starts_from_initial_accumulator() -> None:
    lr, eps = 0.1, 1e-7
    expected = W0 - lr * G / np.sqrt(0.1 + G**2 + eps)
    np.testing.assert_allclose(one_step(optimizers.Adagrad(lr), W0, G), expected, rtol=1e-7)


def test_adadelta_first_step() -> None:
    lr, rho, eps = 1.0, 0.95, 1e-7
    expected = W0 - lr * math.sqrt(eps) / np.sqrt((1 - rho) * G**2 + eps) * G
    np.testing.assert_allclose(one_step(optimizers.Adadelta(lr), W0, G), expected, rtol=1e-7)


def test_adamax_first_step() -> None:
    lr, eps = 0.01, 1e-7
    expected = W0 - lr * G / (np.abs(G) + eps)
    np.testing.assert_allclose(one_step(optimizers.Adamax(lr), W0, G), expected, rtol=1e-7)


def test_nadam_first_step() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    u1, u2 = b1 * (1 - 0.5 * 0.96), b1 * (1 - 0.5 * 0.96**2)
    m, v = (1 - b1) * G, (1 - b2) * G**2
    m_hat = u2 * m / (1 - u1 * u2) + (1 - u1) * G / (1 - u1)
    expected = W0 - lr * m_hat / (np.sqrt(v / (1 - b2)) + eps)
    np.testing.assert_allclose(one_step(optimizers.Nadam(lr), W0, G), expected, rtol=1e-7)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Nadam"])
def test_weight_decay_is_decoupled_and_uses_plain_lr(name) -> None:
    # With zero gradients only the decay acts: w * (1 - wd * lr) per step.
    lr, wd = 0.1, 0.2
    opt = getattr(optimizers, name)(learning_rate=lr, weight_decay=wd)
    got = one_step(opt, W0, np.zeros_like(G), steps=3)
    np.testing.assert_allclose(got, W0 * (1 - wd * lr) ** 3, rtol=1e-7)


@pytest.mark.parametrize("fused", [True, False])
def test_exclude_from_weight_decay(fused) -> None:
    kernel = Variable(torch.nn.Parameter(torch.ones(3, dtype=torch.float64)), name="kernel")
    bias = Variable(torch.nn.Parameter(torch.ones(3, dtype=torch.float64)), name="bias")
    other = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt._allow_fused = fused
    opt.exclude_from_weight_decay(var_list=[other], var_names=["bias"])
    opt.build([kernel, bias, other])
    for p in (kernel.value, bias.value, other):
        p.grad = torch.zeros_like(p)
    opt.step()
    np.testing.assert_allclose(kernel.numpy(), 0.95)
    np.testing.assert_allclose(bias.numpy(), 1.0)
    np.testing.assert_allclose(other.detach().numpy(), 1.0)


def test_clipnorm_rescales_each_gradient_alone() -> None:
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    opt.build([a, b])
    a.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)  # norm 5 -> scaled to norm 1
    b.grad = torch.tensor([0.3, 0.4], dtype=torch.float64)  # norm 0.5 -> unchanged
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [-0.6, -0.8])
    np.testing.assert_allclose(b.detach().numpy(), [-0.3, -0.4])


def test_global_clipnorm_rescales_all_gradients_together() -> None:
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = optimizers.SGD(1.0, global_clipnorm=1.0)
    opt.build([a, b])
    a.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
    b.grad = torch.tensor([12.0], dtype=torch.float64)  # joint norm 13
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [-3 / 13, -4 / 13])
    np.testing.assert_allclose(b.detach().numpy(), [-12 / 13])


def test_global_clipnorm_turns_infinite_gradients_into_nan() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(1.0, global_clipnorm=1.0)
    opt.build([p])
    p.grad = torch.tensor([math.inf, 1.0])
    opt.step()
    assert torch.isnan(p).all()


def test_clipvalue_clamps_elementwise() -> None:
    got = one_step(optimizers.SGD(1.0, clipvalue=0.15), W0, G)
    np.testing.assert_allclose(got, W0 - np.clip(G, -0.15, 0.15))


def test_loss_scale_factor_divides_gradients() -> None:
    opt = optimizers.SGD(0.1, loss_scale_factor=8.0)
    assert opt.scale_loss(2.0) == 16.0
    np.testing.assert_allclose(one_step(opt, W0, G), W0 - 0.1 * G / 8, rtol=1e-7)


def test_gradient_accumulation_updates_every_n_steps_with_mean_gradient() -> None:
    p = torch.nn.Parameter(torch.tensor(W0))
    opt = optimizers.SGD(0.1, gradient_accumulation_steps=2)
    opt.build([p])
    p.grad = torch.tensor(G)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), W0)
    assert int(opt.iterations) == 0
    p.grad = torch.tensor(3 * G)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), W0 - 0.1 * 2 * G, rtol=1e-7)
    assert int(opt.iterations) == 1
    assert int(opt._iterations) == 2


def test_ema_tracks_weights_and_finalize_copies_it() -> None:
    lr, mom = 0.1, 0.5
    p = torch.nn.Parameter(torch.tensor(W0))
    opt = optimizers.SGD(lr, use_ema=True, ema_momentum=mom)
    opt.build([p])
    average = None
    for _ in range(3):
        p.grad = torch.tensor(G)
        opt.step()
        w = p.detach().numpy().copy()
        average = w if average is None else mom * average + (1 - mom) * w
    opt.finalize_variable_values([p])
    np.testing.assert_allclose(p.detach().numpy(), average, rtol=1e-7)


def test_constraint_of_a_variable_applies_after_the_step() -> None:
    var = Variable(torch.nn.Parameter(torch.tensor([0.05, 1.0])), name="kernel")
    var.constraint = lambda v: torch.clamp(v.value, min=0.0)
    opt = optimizers.SGD(0.1)
    opt.build([var])
    var.value.grad = torch.tensor([1.0, 1.0])
    opt.step()
    np.testing.assert_allclose(var.numpy(), [0.0, 0.9], rtol=1e-6)


def test_fused_and_foreach_adam_agree_in_float32() -> None:
    torch.manual_seed(1)
    shapes = [(50, 20), (20,), (7,)]
    results = []
    for fused in (True, False):
        gen = torch.Generator().manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
        opt = optimizers.AdamW(learning_rate=0.01, weight_decay=0.1, amsgrad=True)
        opt._allow_fused = fused
        opt.build(params)
        for _ in range(5):
            for p in params:
                p.grad = torch.randn(p.shape, generator=gen)
            opt.step()
        results.append([p.detach().clone() for p in params])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
