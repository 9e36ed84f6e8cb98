"""Defaults, get_config/from_config, and get/serialize/deserialize by name or config."""

from __future__ import annotations

import pytest

from nerve import optimizers

ALL = ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam"]

# Keras 3's documented defaults.
DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}
SHARED = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


@pytest.mark.parametrize("name", ALL)
def test_defaults_are_keras_defaults(name) -> None:
    config = getattr(optimizers, name)().get_config()
    expected = {**SHARED, **DEFAULTS[name]}
    assert {k: config[k] for k in expected} == pytest.approx(expected)


@pytest.mark.parametrize("name", ALL)
def test_config_round_trip(name) -> None:
    opt = getattr(optimizers, name)(learning_rate=0.02, clipnorm=1.5, name="mine")
    config = opt.get_config()
    again = type(opt).from_config(config)
    assert again.get_config() == config
    assert again.name == "mine"
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert type(restored) is type(opt) and restored.get_config() == config


def test_default_names_are_snake_case_and_unique() -> None:
    a, b = optimizers.RMSprop(), optimizers.RMSprop()
    assert a.name.startswith("rm_sprop") and b.name.startswith("rm_sprop") and a.name != b.name


@pytest.mark.parametrize(
    "identifier, cls",
    [("adam", "Adam"), ("ADAM", "Adam"), ("RMSprop", "RMSprop"), ("rmsprop", "RMSprop"), ("adamw", "AdamW"),
     ("sgd", "SGD"), ("Adagrad", "Adagrad"), ("adadelta", "Adadelta"), ("adamax", "Adamax"), ("nadam", "Nadam")],
)  # fmt: skip
def test_get_by_name_is_case_insensitive(identifier, cls) -> None:
    assert type(optimizers.get(identifier)) is getattr(optimizers, cls)


def test_get_passes_instances_and_reads_configs() -> None:
    opt = optimizers.SGD(momentum=0.5)
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None
    made = optimizers.get({"class_name": "adam", "config": {"learning_rate": 0.5, "beta_1": 0.8}})
    assert type(made) is optimizers.Adam and made.beta_1 == 0.8 and float(made.learning_rate) == 0.5


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="Received: optimizer='adamm'") as info:
        optimizers.get("adamm")
    message = str(info.value)
    assert all(repr(n) in message for n in ["adam", "sgd", "rmsprop", "nadam"])
    assert "did you mean 'adam'" in message


@pytest.mark.parametrize("bad", [42, optimizers.Adam])
def test_get_rejects_other_objects(bad) -> None:
    with pytest.raises(ValueError, match="Received: optimizer="):
        optimizers.get(bad)


class Warmup:
    """A schedule object with a config, like Keras's LearningRateSchedule."""

    def __init__(self, peak: float) -> None:
        self.peak = peak

    def __call__(self, step):
        return self.peak

    def get_config(self) -> dict:
        return {"peak": self.peak}

    @classmethod
    def from_config(cls, config: dict) -> Warmup:
        return cls(**config)


def test_schedule_config_round_trip_with_custom_objects() -> None:
    opt = optimizers.Adam(learning_rate=Warmup(0.3))
    config = optimizers.serialize(opt)
    assert config["config"]["learning_rate"]["class_name"] == "Warmup"
    again = optimizers.deserialize(config, custom_objects={"Warmup": Warmup})
    assert isinstance(again._lr_schedule, Warmup) and again._lr_schedule.peak == 0.3
    assert float(again.learning_rate) == pytest.approx(0.3)


def test_legacy_decay_argument_warns_and_is_ignored() -> None:
    with pytest.warns(UserWarning, match="decay"):
        optimizers.SGD(decay=0.1)
