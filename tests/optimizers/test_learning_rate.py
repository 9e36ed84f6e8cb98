"""The learning rate: readable as a Variable, settable mid-training, or a schedule of the step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nerve import backend, optimizers
from nerve.backend import Variable


def sgd_run(opt, lrs_seen=None, steps=3, between=None):
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt.build([p])
    for k in range(steps):
        p.grad = torch.ones(2, dtype=torch.float64)
        opt.step()
        if between is not None:
            between(k)
    return p.detach().numpy()


def test_learning_rate_is_a_float32_variable() -> None:
    opt = optimizers.Adam(learning_rate=0.01)
    lr = opt.learning_rate
    assert isinstance(lr, Variable)
    assert lr.value.dim() == 0 and lr.dtype == "float32"
    assert float(lr) == pytest.approx(0.01)
    assert lr.numpy() == np.float32(0.01)
    assert lr in opt.variables


@pytest.mark.parametrize("how", ["attribute", "assign", "set_value"])
def test_setting_learning_rate_mid_training_takes_effect_next_step(how) -> None:
    opt = optimizers.SGD(learning_rate=0.5)
    lr_before = opt.learning_rate

    def between(k):
        if k == 0:
            if how == "attribute":
                opt.learning_rate = 0.25
            elif how == "assign":
                opt.learning_rate.assign(0.25)
            else:
                backend.set_value(opt.learning_rate, 0.25)

    got = sgd_run(opt, between=between)
    np.testing.assert_allclose(got, -(0.5 + 0.25 + 0.25))
    assert opt.learning_rate is lr_before  # updated in place, nothing rebuilt


def test_schedule_of_the_step_is_used_each_step() -> None:
    seen = []

    class Halving:
        def __call__(self, step):
            seen.append(int(step))
            return 0.5 ** (int(step) + 1)

    opt = optimizers.SGD(learning_rate=Halving())
    got = sgd_run(opt)
    np.testing.assert_allclose(got, -(0.5 + 0.25 + 0.125))
    assert seen == [0, 1, 2]
    assert float(opt.learning_rate) == pytest.approx(0.0625)  # schedule at iterations == 3
    assert all(v.name != "learning_rate" for v in opt.variables)


def test_callable_without_argument_is_called_without_step() -> None:
    opt = optimizers.SGD(learning_rate=lambda: 0.5)
    np.testing.assert_allclose(sgd_run(opt, steps=2), -1.0)


def test_schedule_drives_adam_weight_decay_too() -> None:
    opt = optimizers.AdamW(learning_rate=lambda step: 0.5, weight_decay=0.2)
    p = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt.build([p])
    p.grad = torch.zeros(2, dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), 1 - 0.2 * 0.5)


def test_assigning_a_number_replaces_a_schedule_and_vice_versa() -> None:
    opt = optimizers.SGD(learning_rate=lambda step: 0.5)

    def between(k):
        if k == 0:
            opt.learning_rate = 0.25
        if k == 1:
            opt.learning_rate = lambda step: 1.0

    got = sgd_run(opt, between=between, steps=4)
    np.testing.assert_allclose(got, -(0.5 + 0.25 + 1.0 + 1.0))


def test_integer_and_numpy_learning_rates_are_accepted() -> None:
    assert float(optimizers.SGD(learning_rate=1).learning_rate) == 1.0
    assert float(optimizers.SGD(learning_rate=np.float64(0.5)).learning_rate) == 0.5
    assert float(optimizers.SGD(learning_rate=torch.tensor(0.5)).learning_rate) == 0.5


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.1", True, [0.1]])
def test_bad_learning_rates_are_rejected(bad) -> None:
    with pytest.raises((ValueError, TypeError), match="learning_rate"):
        optimizers.Adam(learning_rate=bad)
    opt = optimizers.Adam()
    with pytest.raises((ValueError, TypeError), match="Received"):
        opt.learning_rate = bad


def test_iterations_is_an_int64_counter_of_applied_steps() -> None:
    opt = optimizers.Adam()
    assert opt.iterations.dtype == "int64" and int(opt.iterations) == 0
    sgd_run(opt, steps=3)
    assert int(opt.iterations) == 3


def test_iterations_assigned_from_outside_drives_bias_correction() -> None:
    # Setting iterations (as a resumed run does) changes Adam's step t.
    def adam_after(start):
        opt = optimizers.Adam(learning_rate=0.1)
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt.build([p])
        opt.iterations.assign(start)
        p.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
        assert int(opt.iterations) == start + 1
        return float(p.detach())

    # m = 0.1, v = 0.001 on the first applied step, whatever t is.
    for t in (1, 100):
        alpha = 0.1 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        assert adam_after(t - 1) == pytest.approx(-alpha * 0.1 / (np.sqrt(0.001) + 1e-7), rel=1e-6)
