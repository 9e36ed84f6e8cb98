"""`losses.get`, `serialize` and `deserialize`: Keras's names, aliases, errors and round trips."""

from __future__ import annotations

import json

import pytest
import torch

from nerve import losses

KERAS_FUNCTION_NAMES = [
    "binary_crossentropy", "bce", "BCE", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "sparse_categorical_crossentropy", "mean_squared_error", "mse", "MSE",
    "mean_absolute_error", "mae", "MAE", "mean_absolute_percentage_error", "mape", "MAPE",
    "mean_squared_logarithmic_error", "msle", "MSLE", "huber", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "kld", "KLD", "poisson", "cosine_similarity", "log_cosh",
]  # fmt: skip
CLASS_NAMES = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
    "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
    "CosineSimilarity", "LogCosh",
]  # fmt: skip


@pytest.mark.parametrize("name", KERAS_FUNCTION_NAMES)
def test_get_function_names_match_keras(name, keras):
    ours, theirs = losses.get(name), keras.losses.get(name)
    assert callable(ours) and not isinstance(ours, losses.Loss)
    assert ours.__name__ == theirs.__name__


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_get_class_name_gives_a_fresh_instance_like_keras(name, keras):
    ours = losses.get(name)
    assert type(ours) is getattr(losses, name)
    assert ours.name == keras.losses.get(name).name
    assert losses.get(name) is not ours


@pytest.mark.parametrize("legacy", ["kullback_leibler_divergence", "logcosh", "huber_loss"])
def test_keras_2_aliases_are_accepted(legacy):
    assert callable(losses.get(legacy))


def test_get_passes_instances_and_callables_through_and_instantiates_classes():
    loss = losses.Huber(delta=2.0)
    assert losses.get(loss) is loss

    def custom(y_true, y_pred):
        return (y_true - y_pred).abs().mean(-1)

    assert losses.get(custom) is custom
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)
    assert losses.get(None) is None


@pytest.mark.parametrize("bad", ["mean_sqared_error", "Mse", 3, ["mse"]])
def test_get_unknown_identifier_lists_valid_names(bad):
    with pytest.raises(ValueError) as info:
        losses.get(bad)
    message = str(info.value)
    assert f"Received: loss={bad!r}" in message
    assert "mean_squared_error" in message and "sparse_categorical_crossentropy" in message


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_serialize_round_trip_keeps_the_config(name):
    loss = getattr(losses, name)(reduction="sum", name="custom_name")
    config = losses.serialize(loss)
    json.dumps(config)
    rebuilt = losses.deserialize(config)
    assert type(rebuilt) is type(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert rebuilt.name == "custom_name" and rebuilt.reduction == "sum"


def test_constructor_arguments_survive_the_round_trip():
    loss = losses.deserialize(losses.serialize(losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)))
    assert loss.from_logits is True and loss.ignore_class == 3
    huber = losses.get({"class_name": "Huber", "config": {"delta": 0.25, "name": "h", "reduction": "sum"}})
    assert huber.get_config() == {"name": "h", "reduction": "sum", "delta": 0.25}


def test_functions_and_wrappers_serialize_by_name():
    assert losses.deserialize(losses.serialize(losses.mean_squared_error)) is losses.mean_squared_error
    wrapper = losses.LossFunctionWrapper(losses.huber, reduction="sum", delta=0.5)
    rebuilt = losses.deserialize(losses.serialize(wrapper))
    assert rebuilt.fn is losses.huber and rebuilt.get_config()["delta"] == 0.5
    y = torch.randn(4, 2)
    torch.testing.assert_close(rebuilt(y, y * 2), wrapper(y, y * 2))


def test_keras_saved_configs_deserialize(keras):
    for loss in (keras.losses.BinaryCrossentropy(label_smoothing=0.1), keras.losses.MeanAbsoluteError(reduction="sum")):
        config = keras.losses.serialize(loss)
        ours = losses.deserialize(config)
        assert type(ours).__name__ == type(loss).__name__
        assert ours.get_config() == loss.get_config()
    assert losses.deserialize(keras.losses.serialize(keras.losses.poisson)) is losses.poisson


def test_deserialize_uses_custom_objects():
    class Mine(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_true - y_pred).abs()

    config = losses.serialize(Mine(name="mine"))
    assert isinstance(losses.deserialize(config, custom_objects={"Mine": Mine}), Mine)
    with pytest.raises(ValueError, match="Mine"):
        losses.deserialize(config)
