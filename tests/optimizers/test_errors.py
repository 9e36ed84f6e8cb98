"""Bad arguments and misuse fail early, saying what is valid and what was received."""

from __future__ import annotations

import pytest
import torch

from nerve import optimizers


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: optimizers.Adam(beta_1=1.0), r"beta_1.*\[0.0, 1.0\).*Received: beta_1=1.0"),
        (lambda: optimizers.Adam(beta_2=-0.1), r"beta_2.*Received: beta_2=-0.1"),
        (lambda: optimizers.Nadam(beta_1=1.5), r"beta_1"),
        (lambda: optimizers.Adamax(beta_2=1.0), r"beta_2"),
        (lambda: optimizers.SGD(momentum=1.5), r"momentum.*\[0.0, 1.0\].*Received: momentum=1.5"),
        (lambda: optimizers.RMSprop(rho=1.0), r"rho"),
        (lambda: optimizers.Adadelta(rho=-0.5), r"rho"),
        (lambda: optimizers.Adam(epsilon=-1e-7), r"epsilon.*>= 0"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=-1), r"initial_accumulator_value"),
        (lambda: optimizers.SGD(learning_rate=-0.01), r"learning_rate.*Received: learning_rate=-0.01"),
        (lambda: optimizers.SGD(weight_decay=-1.0), r"weight_decay"),
        (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), r"Only one of"),
        (lambda: optimizers.AdamW(weight_decay=None), r"weight_decay.*Received: weight_decay=None"),
        (lambda: optimizers.SGD(gradient_accumulation_steps=1), r"gradient_accumulation_steps.*>= 2"),
        (lambda: optimizers.SGD(use_ema=True, ema_momentum=2.0), r"ema_momentum"),
        (lambda: optimizers.SGD(loss_scale_factor=0.0), r"loss_scale_factor"),
    ],
)
def test_bad_hyper_parameters_raise_value_error(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [lambda: optimizers.SGD(nesterov="yes"), lambda: optimizers.Adam(amsgrad=1), lambda: optimizers.Adam(beta_1="0.9")],
)
def test_wrong_types_raise_type_error(make) -> None:
    with pytest.raises(TypeError, match="Received"):
        make()


def test_unknown_keyword_lists_valid_ones_and_suggests() -> None:
    with pytest.raises(ValueError, match="not recognized") as info:
        optimizers.Adam(lr=0.1)
    message = str(info.value)
    assert "Received: lr=0.1" in message
    assert "'learning_rate'" in message and "'clipnorm'" in message and "'beta_1'" in message
    assert "did you mean `lr` -> `learning_rate`" in message


def test_step_before_build_explains_the_fix() -> None:
    with pytest.raises(RuntimeError, match="build"):
        optimizers.Adam().step()


def test_step_with_no_gradient_at_all_raises() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.Adam()
    opt.build([p])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.step()
    assert int(opt.iterations) == 0


def test_missing_gradients_warn_and_the_rest_is_updated() -> None:
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    opt = optimizers.SGD(1.0)
    opt.build([a, b])
    a.grad = torch.ones(2)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.step()
    assert torch.equal(a.detach(), -torch.ones(2)) and torch.equal(b.detach(), torch.zeros(3))
    assert int(opt.iterations) == 1


def test_non_float_weights_are_rejected() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        optimizers.SGD().build([torch.zeros(2, dtype=torch.int64)])
    with pytest.raises(TypeError, match="Received: an object of type str"):
        optimizers.SGD().build(["kernel"])


def test_apply_without_variables_needs_a_built_optimizer() -> None:
    with pytest.raises(ValueError, match="must already be built"):
        optimizers.SGD().apply([torch.ones(2)])


def test_apply_with_mismatched_lengths() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="as many gradients as variables"):
        optimizers.SGD().apply([torch.ones(2), torch.ones(2)], [p])


def test_apply_with_a_gradient_of_the_wrong_shape() -> None:
    p = torch.nn.Parameter(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"shape \(3, 2\) but its variable has shape \(2, 3\)"):
        optimizers.Adam().apply([torch.ones(3, 2)], [p])


def test_apply_accepts_a_transposed_gradient_layout() -> None:
    p = torch.nn.Parameter(torch.zeros(2, 3))
    opt = optimizers.SGD(1.0)
    opt.apply([torch.ones(3, 2).t()], [p])
    assert torch.equal(p.detach(), -torch.ones(2, 3))
