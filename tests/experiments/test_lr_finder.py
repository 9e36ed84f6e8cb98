"""find_lr: the learning-rate range test on the trainer's own step, and the exact restore afterwards."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve as keras
from nerve.experiments import LRFinderResult, find_lr
from nerve.experiments.lr_finder import centered_losses, minimum_lr, steepest_lr, useful_range, valley_lr


@pytest.fixture(scope="module")
def digits_data():
    from nerve.datasets import digits

    (x, y), _ = digits.load_data()
    return x / 255.0, y


def seed0_mlp(optimizer="adam", dropout: float = 0.0) -> keras.Model:
    """Seed 0's network, shrunk to the digits' 8×8 images."""
    layers = [keras.layers.Input((8, 8)), keras.layers.Flatten(),
              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(128, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def state_of(model: keras.Model) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    weights = [v.value.detach().clone() for v in model.weights]
    optimizer = [v.value.detach().clone() for v in model.optimizer.variables]
    return weights, optimizer


def assert_same_state(before, after) -> None:
    for kind, xs, ys in (("weight", before[0], after[0]), ("optimizer variable", before[1], after[1])):
        assert len(xs) == len(ys)
        for i, (a, b) in enumerate(zip(xs, ys)):
            assert torch.equal(a, b), f"{kind} {i} changed"


# ---------------------------------------------------------------------- the test on a real model
def test_suggestion_and_curve_on_digits(digits_data):
    x, y = digits_data
    result = find_lr(seed0_mlp(), x, y, num_steps=100)
    assert isinstance(result, LRFinderResult)
    n = len(result)
    assert 2 <= n <= 100
    assert len(result.losses) == len(result.raw_losses) == n
    ratios = result.lrs[1:] / result.lrs[:-1]
    np.testing.assert_allclose(ratios, (10.0 / 1e-7) ** (1 / 99), rtol=1e-9)
    assert result.lrs[0] == pytest.approx(1e-7)
    assert 1e-5 < result.suggestion < 1
    for alternative in (result.steepest, result.minimum, result.valley):
        assert alternative is not None and 1e-6 < alternative < 1
    # The raw loss of the first step is the untrained network's: about ln(10).
    assert result.raw_losses[0] == pytest.approx(math.log(10), abs=0.3)
    assert result.losses[0] == pytest.approx(result.raw_losses[0])
    text = repr(result)
    assert text.startswith("LRFinderResult(steps=") and "suggestion=" in text


def test_smoothing_is_a_bias_corrected_moving_average(digits_data):
    x, y = digits_data
    result = find_lr(seed0_mlp(), x, y, num_steps=20, end_lr=1e-3, smoothing=0.9)
    average, expected = 0.0, []
    for i, loss in enumerate(result.raw_losses):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-12)
    assert not result.diverged and len(result) == 20
    assert result.lrs[-1] == pytest.approx(1e-3)


def test_weights_optimizer_state_and_rng_restored_exactly(digits_data):
    x, y = digits_data
    model = seed0_mlp(dropout=0.2)
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)  # non-zero Adam slots and iterations
    before = state_of(model)
    lr_variable = model.optimizer.learning_rate
    rng = torch.get_rng_state()
    find_lr(model, x, y, num_steps=30)
    assert_same_state(before, state_of(model))
    assert model.optimizer.learning_rate is lr_variable  # the same Variable, its value put back
    assert torch.equal(torch.get_rng_state(), rng)


def test_fit_after_find_lr_is_the_fit_without_it(digits_data):
    x, y = digits_data
    keras.utils.set_random_seed(7)
    plain = seed0_mlp()
    plain_history = plain.fit(x, y, epochs=2, batch_size=64, verbose=0).history
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    tested = seed0_mlp()
    find_lr(tested, x, y, num_steps=40)  # builds the optimizer, trains, then puts everything back
    assert int(tested.optimizer.iterations) == 0
    tested_history = tested.fit(x, y, epochs=2, batch_size=64, verbose=0).history
    assert tested_history == plain_history
    for a, b in zip(plain.weights, tested.weights):
        assert torch.equal(a.value, b.value)


@pytest.mark.parametrize("kind", ["ExponentialDecay", "callable"])
def test_schedule_is_put_back(digits_data, kind):
    x, y = digits_data
    if kind == "callable":
        schedule = lambda step: 1e-3 * 0.5 ** (int(step) // 10)  # noqa: E731
    else:
        schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.5)
    model = seed0_mlp(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9))
    model.fit(x, y, epochs=1, batch_size=256, verbose=0)
    before = state_of(model)
    lr_before = float(model.optimizer.learning_rate)
    find_lr(model, x, y, num_steps=10)
    assert model.optimizer._lr_schedule is schedule
    assert float(model.optimizer.learning_rate) == lr_before
    assert_same_state(before, state_of(model))
    assert lr_before == pytest.approx(1e-3 * 0.5 ** (int(model.optimizer.iterations) / 10 if kind != "callable"
                                                     else int(model.optimizer.iterations) // 10))


def test_stops_early_when_the_loss_diverges(digits_data):
    x, y = digits_data
    result = find_lr(seed0_mlp("sgd"), x, y, start_lr=1e-4, end_lr=1e6, num_steps=100)
    assert result.diverged
    assert len(result) < 100
    last = result.losses[-1]
    assert not math.isfinite(last) or last > 4.0 * np.nanmin(result.losses[:-1])
    assert result.suggestion is not None and result.suggestion < result.lrs[-1]


def test_restore_false_keeps_the_trained_weights_but_not_the_test_learning_rate(digits_data):
    x, y = digits_data
    model = seed0_mlp()
    model.build((None, 8, 8))
    before = state_of(model)
    find_lr(model, x, y, num_steps=10, end_lr=1e-2, restore=False)
    after = state_of(model)
    assert not all(torch.equal(a, b) for a, b in zip(before[0], after[0]))
    assert int(model.optimizer.iterations) == 10
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_batches_from_an_iterable(digits_data):
    x, y = digits_data
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(x[:640], dtype=torch.float32), torch.as_tensor(y[:640]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64)  # 10 batches, cycled
    result = find_lr(seed0_mlp(), loader, num_steps=25, end_lr=1.0)
    assert len(result) == 25
    one_shot = find_lr(seed0_mlp(), iter(loader), num_steps=25, end_lr=1.0)
    assert len(one_shot) == 10  # a generator runs dry after one pass


def test_verbose_prints_a_summary(digits_data, capsys):
    x, y = digits_data
    find_lr(seed0_mlp(), x, y, num_steps=5, verbose=1)
    assert "find_lr: 5 steps" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start_lr": 1.0, "end_lr": 1.0}, "0 < start_lr < end_lr"),
        ({"start_lr": 0.0}, "0 < start_lr < end_lr"),
        ({"start_lr": -1e-3, "end_lr": 1.0}, "start_lr=-0.001"),
        ({"num_steps": 1}, "num_steps must be an integer >= 2"),
        ({"smoothing": 1.0}, "smoothing must be in"),
        ({"diverge_factor": 1.0}, "diverge_factor must be"),
    ],
)
def test_bad_arguments(digits_data, kwargs, match):
    x, y = digits_data
    with pytest.raises(ValueError, match=match):
        find_lr(seed0_mlp(), x, y, **kwargs)


def test_uncompiled_model_and_missing_targets(digits_data):
    x, y = digits_data
    model = keras.Sequential([keras.layers.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(RuntimeError, match=r"call model.compile\(optimizer=..., loss=...\) first"):
        find_lr(model, x, y)
    with pytest.raises(ValueError, match="find_lr needs targets"):
        find_lr(seed0_mlp(), x)


# ---------------------------------------------------------------------- the suggestion rules, on known curves
def s_curve(n: int = 100, blow_up: bool = True, noise: float = 0.0, seed: int = 0):
    """A loss that is flat at 2.3, falls around lr=1e-3 to 0.3, then blows up past lr=1."""
    lrs = np.geomspace(1e-7, 10, n)
    t = np.log10(lrs)
    losses = 0.3 + 2.0 / (1.0 + np.exp(3.0 * (t + 3.0)))
    if blow_up:
        losses = losses + np.where(t > 0, 50.0 * t ** 2, 0.0)
    losses = losses + noise * np.random.default_rng(seed).standard_normal(n)
    return lrs, losses


def test_rules_on_a_known_curve():
    lrs, losses = s_curve()
    assert steepest_lr(lrs, losses) == pytest.approx(1e-3, rel=0.25)  # the inflection point
    assert valley_lr(lrs, losses) == pytest.approx(1e-3, rel=0.25)  # halfway down
    used, curve = useful_range(lrs, losses)
    assert 1.0 < used[-1] < 2.0  # cut where the loss climbs back above its start
    assert minimum_lr(lrs, losses) == pytest.approx(used[np.argmin(curve)] / 10)
    bottom = lrs[np.argmin(losses)]
    assert bottom / 30 < minimum_lr(lrs, losses) <= bottom / 10


def test_rules_ignore_noise_and_what_follows_a_blow_up():
    lrs, losses = s_curve(noise=0.1)
    assert 2e-4 < steepest_lr(lrs, losses) < 5e-3
    # A loss that falls again after blowing up (saturated units) does not move the suggestion.
    late = losses.copy()
    late[lrs > 1] = 0.01
    assert steepest_lr(lrs, late) == steepest_lr(lrs, losses)


def test_rules_without_a_fall():
    lrs = np.geomspace(1e-7, 10, 50)
    rising = np.linspace(2.0, 5.0, 50)
    assert steepest_lr(lrs, rising) is None and valley_lr(lrs, rising) is None
    result = LRFinderResult(lrs, rising, rising)
    assert result.suggestion == pytest.approx(lrs[0] / 10)  # the fallback: minimum
    nan_only = np.full(5, np.nan)
    assert minimum_lr(lrs[:5], nan_only) is None
    assert LRFinderResult(lrs[:5], nan_only, nan_only).suggestion is None


def test_centered_losses_have_no_lag_and_ignore_spikes():
    raw = np.r_[np.full(20, 2.0), np.full(20, 1.0)]
    raw[5] = 50.0
    raw[-1] = np.nan
    curve = centered_losses(raw)
    assert curve[5] == 2.0  # a single spike is the median's outlier
    assert curve[19] == 2.0 and curve[20] == 1.0  # the step stays where it is
    assert np.isnan(curve[-1])
