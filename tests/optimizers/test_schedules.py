"""Learning-rate schedules: Keras's values step by step, every kind of step, configs, and use in optimizers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.backend import Variable
from nerve.optimizers import schedules

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9, "staircase": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [10, 20], "values": [0.1, 0.01, 0.001]}),
    ("PiecewiseConstantDecay", {"boundaries": [0], "values": [1.0, 0.5]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30, "end_learning_rate": 0.01, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30, "end_learning_rate": 0.01, "power": 0.5,
                         "cycle": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 40}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 40, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 40, "warmup_target": 0.2, "warmup_steps": 10}),
    ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 40, "warmup_target": 0.2, "warmup_steps": 0}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": 1.0, "m_mul": 0.5,
                             "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3, "t_mul": 1.5, "m_mul": 0.8}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
STEPS = list(range(0, 160)) + [1000, 5003]  # Keras computes in float32: huge steps lose its precision


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_values_match_keras(keras, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    got = np.array([float(ours(s)) for s in STEPS])
    want = np.array([float(theirs(s)) for s in STEPS])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # Keras computes in float32: near zero its cosines are off by ~1e-8, ours are exact then rounded.
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=2e-8)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_every_kind_of_step_gives_the_same_value(name, kwargs):
    schedule = getattr(schedules, name)(**kwargs)
    for step in (0, 3, 12, 45):
        want = float(schedule(step))
        for form in (float(step), np.int64(step), np.array(step), torch.tensor(step),
                     torch.tensor(float(step)), Variable(torch.tensor(step, dtype=torch.int64))):
            value = schedule(form)
            assert isinstance(value, torch.Tensor) and value.dim() == 0 and value.dtype == torch.float32
            assert float(value) == want
    steps = np.arange(60)
    many = schedule(steps)
    assert many.shape == (60,)
    np.testing.assert_array_equal(many.numpy(), [float(schedule(int(s))) for s in steps])
    np.testing.assert_array_equal(schedule(torch.arange(60)).numpy(), many.numpy())


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_config_round_trip_and_keras_configs(keras, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    again = type(ours).from_config(ours.get_config())
    assert [float(again(s)) for s in STEPS] == [float(ours(s)) for s in STEPS]
    from_keras = type(ours).from_config(getattr(keras.optimizers.schedules, name)(**kwargs).get_config())
    assert from_keras.get_config() == ours.get_config()
    rebuilt = schedules.deserialize(schedules.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()


def test_optimizer_config_keeps_the_schedule():
    opt = nerve.optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.01, 10, 0.5))
    clone = nerve.optimizers.Adam.from_config(opt.get_config())
    assert isinstance(clone._lr_schedule, schedules.ExponentialDecay)
    assert clone._lr_schedule.get_config() == opt._lr_schedule.get_config()


def test_sgd_uses_the_schedule_at_each_step():
    schedule = schedules.PiecewiseConstantDecay([1, 3], [0.5, 0.25, 0.125])
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = nerve.optimizers.SGD(learning_rate=schedule)
    opt.build([p])
    for _ in range(5):
        p.grad = torch.ones(2, dtype=torch.float64)
        opt.step()
    # steps 0..4 use 0.5, 0.5, 0.25, 0.25, 0.125
    np.testing.assert_allclose(p.detach().numpy(), -(0.5 + 0.5 + 0.25 + 0.25 + 0.125))
    assert float(opt.learning_rate) == pytest.approx(0.125)


def test_learning_rate_changes_every_step_during_fit():
    schedule = schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)
    opt = nerve.optimizers.Adam(learning_rate=schedule)
    model = nerve.Sequential([nerve.Input((3,)), nerve.layers.Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    seen = []
    cb = nerve.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(float(opt.learning_rate)))
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    model.fit(x, x[:, :1], epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    assert seen == pytest.approx([float(schedule(k + 1)) for k in range(10)], rel=1e-6)
    assert len(set(seen)) == 10


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.9), "decay_steps` must be > 0"),
    (lambda: schedules.CosineDecay(0.1, -5), "decay_steps` must be > 0"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps` must be > 0"),
    (lambda: schedules.PolynomialDecay(0.1, 0), "decay_steps` must be > 0"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "1 less than the length of values"),
    (lambda: schedules.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3]), "boundaries must increase"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_step_is_refused():
    with pytest.raises(TypeError, match="step must be a number"):
        schedules.ExponentialDecay(0.1, 10, 0.9)("ten")


def test_base_class_says_what_to_override():
    class Mine(schedules.LearningRateSchedule):
        pass

    with pytest.raises(NotImplementedError, match=r"must override `__call__\(self, step\)`"):
        Mine()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        Mine().get_config()


def test_a_user_subclass_works_in_an_optimizer():
    class Inverse(schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate):
            self.initial_learning_rate = initial_learning_rate

        def __call__(self, step):
            return self.initial_learning_rate / (float(step) + 1)

        def get_config(self):
            return {"initial_learning_rate": self.initial_learning_rate}

    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = nerve.optimizers.SGD(learning_rate=Inverse(1.0))
    opt.build([p])
    for _ in range(3):
        p.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), -(1 + 1 / 2 + 1 / 3))
