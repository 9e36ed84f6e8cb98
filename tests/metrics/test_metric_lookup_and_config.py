"""`metrics.get`, `serialize` and `deserialize`: Keras's names, aliases, errors and round trips."""

from __future__ import annotations

import json

import pytest
import torch

from nerve import metrics

KERAS_METRIC_NAMES = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "precision", "recall", "auc",
    "true_positives", "false_positives", "true_negatives", "false_negatives", "mean", "sum",
    "mse", "MSE", "mean_squared_error", "mae", "MAE", "mean_absolute_error", "mape", "MAPE",
    "mean_absolute_percentage_error", "msle", "MSLE", "mean_squared_logarithmic_error", "root_mean_squared_error",
    "r2_score", "cosine_similarity", "log_cosh_error", "bce", "BCE", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge",
    "squared_hinge", "categorical_hinge", "AUC", "Precision", "BinaryAccuracy", "RootMeanSquaredError",
]  # fmt: skip


@pytest.mark.parametrize("name", KERAS_METRIC_NAMES)
def test_get_names_give_the_same_metric_class_as_keras(name, keras):
    ours, theirs = metrics.get(name), keras.metrics.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name.split("_")[0] == theirs.name.split("_")[0]


@pytest.mark.parametrize("alias, cls", [("acc", "Accuracy"), ("kld", "KLDivergence"), ("log_cosh", "LogCoshError"), ("logcosh", "LogCoshError")])
def test_extra_aliases(alias, cls):
    assert type(metrics.get(alias)).__name__ == cls


def test_loss_function_names_without_a_metric_class_are_wrapped():
    m = metrics.get("huber")
    assert isinstance(m, metrics.MeanMetricWrapper) and m.name == "huber"


def test_callables_are_wrapped_and_named_after_the_function():
    def my_error(y_true, y_pred):
        return torch.abs(torch.as_tensor(y_true) - torch.as_tensor(y_pred)).mean(-1)

    m = metrics.get(my_error)
    assert isinstance(m, metrics.MeanMetricWrapper) and m.name == "my_error"
    m.update_state([[1.0]], [[3.0]])
    assert m.result().item() == 2.0
    assert metrics.get(metrics.mean_absolute_error).name == "mean_absolute_error"


def test_instances_pass_through_and_classes_are_instantiated():
    m = metrics.AUC(curve="PR")
    assert metrics.get(m) is m
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)
    assert metrics.get(None) is None


@pytest.mark.parametrize("bad", ["acuracy", "f2", 7, metrics.Metric, ("accuracy",)])
def test_get_unknown_identifier_lists_valid_names(bad):
    with pytest.raises(ValueError) as info:
        metrics.get(bad)
    message = str(info.value)
    assert f"Received: metric={bad!r}" in message
    assert "sparse_categorical_accuracy" in message and "auc" in message


ROUND_TRIP = [
    metrics.AUC(num_thresholds=30, curve="PR", multi_label=True, label_weights=[1.0, 2.0]),
    metrics.AUC(thresholds=[0.2, 0.4]),
    metrics.Precision(thresholds=[0.3, 0.6], top_k=2, class_id=1),
    metrics.Recall(thresholds=0.4),
    metrics.BinaryAccuracy(threshold=0.3),
    metrics.SparseTopKCategoricalAccuracy(k=3),
    metrics.R2Score(class_aggregation=None, num_regressors=2),
    metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    metrics.CosineSimilarity(axis=1),
    metrics.MeanMetricWrapper(metrics.huber, name="h", delta=0.5),
    metrics.Mean(name="avg", dtype="float64"),
]


@pytest.mark.parametrize("metric", ROUND_TRIP, ids=lambda m: type(m).__name__)
def test_serialize_round_trip_keeps_the_config(metric):
    config = metrics.serialize(metric)
    json.dumps(config)
    rebuilt = metrics.deserialize(config)
    assert type(rebuilt) is type(metric)
    assert rebuilt.get_config() == metric.get_config()


def test_keras_saved_metric_configs_deserialize(keras):
    for metric in (keras.metrics.AUC(num_thresholds=10), keras.metrics.BinaryAccuracy(threshold=0.2)):
        ours = metrics.deserialize(keras.metrics.serialize(metric))
        assert type(ours).__name__ == type(metric).__name__
        mine, theirs = ours.get_config(), metric.get_config()
        assert {k: mine[k] for k in theirs} == theirs
