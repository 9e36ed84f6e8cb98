"""Same weights and gradients into nerve and Keras 3 (torch backend): the weights must match."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from nerve import optimizers

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.5, "weight_decay": 0.1}),
    ("SGD", {"clipnorm": 1.0}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "clipvalue": 0.8}),
    ("Adagrad", {}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.05}),
    ("Adam", {"clipvalue": 0.5}),
    ("Adam", {"global_clipnorm": 1.0}),
    ("Adam", {"loss_scale_factor": 4.0}),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True, "weight_decay": 0.1, "clipnorm": 2.0}),
    ("Adamax", {}),
    ("Adamax", {"beta_1": 0.8, "weight_decay": 0.01}),
    ("Nadam", {}),
    ("Nadam", {"clipnorm": 0.5}),
    ("Nadam", {"global_clipnorm": 2.0, "weight_decay": 0.02}),
    ("Adam", {"use_ema": True, "ema_overwrite_frequency": 2}),
    ("SGD", {"momentum": 0.9, "gradient_accumulation_steps": 2}),
    ("Adam", {"gradient_accumulation_steps": 3, "use_ema": True}),
]


def _ids(case: tuple[str, dict[str, Any]]) -> str:
    name, kw = case
    return name + ("-" + "-".join(f"{k}={v}" for k, v in kw.items()) if kw else "")


def assert_weights_match(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def run_keras(keras: Any, name: str, kwargs: dict[str, Any], init, grads, between=None) -> tuple[Any, list[np.ndarray]]:
    opt = getattr(keras.optimizers, name)(**kwargs)
    variables = [keras.Variable(w.copy()) for w in init]
    for k, gs in enumerate(grads):
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in gs], variables))
        if between is not None:
            between(k, opt)
    return opt, [v.numpy() for v in variables]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_step_matches_keras(keras, problem, nerve_runner, case) -> None:
    name, kwargs = case
    kwargs = {"learning_rate": 0.1, **kwargs}
    init, grads = problem
    _, expected = run_keras(keras, name, kwargs, init, grads)
    ours = nerve_runner(getattr(optimizers, name)(**kwargs), init, grads)
    # The test is only meaningful if the weights moved well beyond the tolerance.
    assert max(np.abs(e - w).max() for e, w in zip(expected, init)) > 1e-3
    assert_weights_match(ours, expected)


@pytest.mark.parametrize(
    "case",
    [
        ("Adam", {}),
        ("AdamW", {"amsgrad": True}),
        ("SGD", {"momentum": 0.9, "nesterov": True}),
        ("SGD", {"momentum": 0.9}),
    ],
    ids=_ids,
)
def test_foreach_fallback_matches_keras(keras, problem, nerve_runner, case) -> None:
    name, kwargs = case
    kwargs = {"learning_rate": 0.1, **kwargs}
    init, grads = problem
    _, expected = run_keras(keras, name, kwargs, init, grads)
    opt = getattr(optimizers, name)(**kwargs)
    opt._allow_fused = False
    assert_weights_match(nerve_runner(opt, init, grads), expected)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Nadam"])
def test_apply_gradients_matches_keras(keras, problem, name) -> None:
    init, grads = problem
    kwargs = {"learning_rate": 0.05, "momentum": 0.9} if name == "SGD" else {"learning_rate": 0.05}
    _, expected = run_keras(keras, name, kwargs, init, grads)
    opt = getattr(optimizers, name)(**kwargs)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in init]
    for gs in grads:
        grads_before = [g.copy() for g in gs]
        opt.apply_gradients(zip([torch.tensor(g) for g in gs], params))
        assert all(np.array_equal(a, b) for a, b in zip(gs, grads_before))
    assert_weights_match([p.detach().numpy() for p in params], expected)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_learning_rate_change_mid_training_matches_keras(keras, problem, nerve_runner, name) -> None:
    init, grads = problem
    kwargs = {"learning_rate": 0.1, "momentum": 0.9} if name == "SGD" else {"learning_rate": 0.1}

    def keras_between(k, opt):
        if k == 2:
            opt.learning_rate = 0.02

    _, expected = run_keras(keras, name, kwargs, init, grads, keras_between)
    opt = getattr(optimizers, name)(**kwargs)

    def nerve_between(k):
        if k == 2:
            opt.learning_rate = 0.02

    assert_weights_match(nerve_runner(opt, init, grads, nerve_between), expected)


def test_ema_averages_match_keras(keras, problem, nerve_runner) -> None:
    init, grads = problem
    kwargs = {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9}
    kopt = keras.optimizers.Adam(**kwargs)
    kvars = [keras.Variable(w.copy()) for w in init]
    for gs in grads:
        kopt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in gs], kvars))
    kopt.finalize_variable_values(kvars)
    opt = optimizers.Adam(**kwargs)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in init]
    opt.build(params)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        opt.step()
    before = [p.detach().clone() for p in params]
    opt.finalize_variable_values(params)
    assert any(not torch.equal(a, p) for a, p in zip(before, params))
    assert_weights_match([p.detach().numpy() for p in params], [v.numpy() for v in kvars])


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Nadam", "Adagrad", "Adadelta", "Adamax", "AdamW"])
def test_defaults_and_variable_count_match_keras(keras, name) -> None:
    ours, theirs = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
    expected = {k: v for k, v in theirs.get_config().items() if k != "name"}
    got = {k: v for k, v in ours.get_config().items() if k != "name"}
    assert got == pytest.approx(expected)
    assert set(got) == set(expected)
    init = [np.ones((2, 3), "float32"), np.ones((3,), "float32")]
    theirs.build([keras.Variable(w) for w in init])
    ours.build([torch.nn.Parameter(torch.tensor(w)) for w in init])
    assert len(ours.variables) == len(theirs.variables)


def test_keras_config_deserializes(keras) -> None:
    config = keras.optimizers.serialize(keras.optimizers.RMSprop(learning_rate=0.01, rho=0.8, centered=True))
    opt = optimizers.deserialize(config)
    assert isinstance(opt, optimizers.RMSprop)
    assert (opt.rho, opt.centered) == (0.8, True)
    assert float(opt.learning_rate) == pytest.approx(0.01)
