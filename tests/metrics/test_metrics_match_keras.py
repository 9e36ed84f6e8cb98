"""Each metric gives Keras 3's result after several weighted batches, and again after reset_state."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from metrics_testutil import make_batch

from nerve import metrics

# (class name, constructor keyword arguments, kind of data)
CASES = [
    ("Accuracy", {}, "labels"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary_flat"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_column"),
    ("SparseCategoricalAccuracy", {}, "sparse_seq"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse_column"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.5, 0.8]}, "binary_flat"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "binary"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1}, "multilabel"),
    ("Precision", {"top_k": 2, "class_id": 2, "thresholds": 0.1}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": [0.2, 0.6]}, "multilabel"),
    ("Recall", {"top_k": 1}, "multilabel"),
    ("Recall", {"class_id": 0}, "multilabel"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": [0.3, 0.7]}, "binary"),
    ("TrueNegatives", {}, "multilabel"),
    ("FalseNegatives", {}, "binary_flat"),
    ("AUC", {}, "binary"),
    ("AUC", {}, "binary_flat"),
    ("AUC", {}, "binary_edges"),
    ("AUC", {"curve": "PR", "num_thresholds": 3}, "binary_edges"),
    ("AUC", {"thresholds": [0.0, 0.5, 1.0]}, "binary_edges"),
    ("Precision", {}, "binary_edges"),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, "binary_edges"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"num_thresholds": 37, "summation_method": "minoring"}, "binary"),
    ("AUC", {"num_thresholds": 50, "summation_method": "majoring", "curve": "PR"}, "binary"),
    ("AUC", {"curve": "PRGAIN", "num_thresholds": 20}, "binary"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.6, 0.9]}, "binary"),
    ("AUC", {"multi_label": True}, "multilabel"),
    ("AUC", {"multi_label": True, "curve": "PR", "num_labels": 4}, "multilabel"),
    ("AUC", {"multi_label": True, "label_weights": [0.2, 1.0, 0.5, 2.0]}, "multilabel"),
    ("AUC", {"label_weights": [0.2, 1.0, 0.5, 2.0]}, "multilabel"),
    ("AUC", {"multi_label": True, "thresholds": [0.25, 0.5, 0.7]}, "multilabel"),
    ("AUC", {"from_logits": True}, "binary_logits"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("RootMeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression_column"),
    ("CosineSimilarity", {}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("R2Score", {}, "regression_column"),
    ("R2Score", {}, "regression_multi"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression_multi"),
    ("R2Score", {"class_aggregation": None}, "regression_multi"),
    ("R2Score", {"num_regressors": 3}, "regression_column"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {}, "sparse_column"),
    ("KLDivergence", {}, "categorical"),
    ("Poisson", {}, "positive"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "multilabel"),
    ("CategoricalHinge", {}, "categorical"),
]


def _ids(case):
    name, kwargs, kind = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}[{kind}{',' if extra else ''}{extra}]"


def _weights(i: int, n: int, rng: np.random.Generator):
    # Batch 0 unweighted, batch 1 per-sample weights, batch 2 weights shaped (n, 1).
    if i == 0:
        return None
    if i == 1:
        return rng.uniform(0.0, 2.0, size=n).astype("float32")
    return rng.uniform(0.0, 2.0, size=(n, 1)).astype("float32")


def _value(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_metric_matches_keras_over_weighted_batches_and_reset(case, keras, rng):
    name, kwargs, kind = case
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for i in range(3):
        y_true, y_pred = make_batch(kind, rng)
        sw = _weights(i, len(y_true), rng)
        if kind == "sparse_seq" and sw is not None:
            sw = np.broadcast_to(sw.reshape(len(y_true), -1), y_true.shape).copy()
        ours.update_state(torch.from_numpy(y_true), torch.from_numpy(y_pred), sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
    got, want = _value(ours.result()), keras.ops.convert_to_numpy(theirs.result())
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    ours.reset_state()
    theirs.reset_state()
    y_true, y_pred = make_batch(kind, rng, n=7)
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    np.testing.assert_allclose(_value(ours.result()), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_metric_default_name_and_config_match_keras(case, keras):
    name, kwargs, _ = case
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    strip = lambda s: re.sub(r"_\d+$", "", s)  # noqa: E731  (auto names get a counter suffix)
    assert strip(ours.name) == strip(theirs.name)
    mine, keras_config = ours.get_config(), theirs.get_config()
    keras_config.pop("name"), mine.pop("name")
    for key, value in keras_config.items():
        if key == "label_weights" and value is not None:
            np.testing.assert_allclose(mine[key], keras.ops.convert_to_numpy(value))
        else:
            assert mine[key] == value, key


@pytest.mark.parametrize("cls_name", ["Mean", "Sum"])
def test_mean_and_sum_match_keras_with_weights_of_every_rank(cls_name, keras, rng):
    ours, theirs = getattr(metrics, cls_name)(), getattr(keras.metrics, cls_name)()
    batches = [
        (rng.normal(size=6), None),
        (rng.normal(size=6), rng.uniform(size=6)),
        (rng.normal(size=(6, 3)), rng.uniform(size=6)),
        (rng.normal(size=(6, 3)), rng.uniform(size=(6, 3))),
        (rng.normal(size=(6, 3, 2)), rng.uniform(size=(6, 1))),
        (np.float32(2.5), None),
    ]
    for values, sw in batches:
        values = np.asarray(values, dtype="float32")
        sw = None if sw is None else np.asarray(sw, dtype="float32")
        ours.update_state(values, sample_weight=sw)
        theirs.update_state(values, sample_weight=sw)
    np.testing.assert_allclose(_value(ours.result()), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-5)


def test_mean_metric_wrapper_of_a_loss_function_matches_keras(keras, rng):
    ours = metrics.MeanMetricWrapper(metrics.huber, name="h", delta=0.5)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, name="h", delta=0.5)
    for i in range(3):
        y_true, y_pred = make_batch("regression", rng)
        sw = _weights(i, len(y_true), rng)
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
    np.testing.assert_allclose(_value(ours.result()), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-5)


@pytest.mark.parametrize(
    "fn_name, kind, kwargs",
    [
        ("binary_accuracy", "binary", {}),
        ("binary_accuracy", "binary", {"threshold": 0.3}),
        ("categorical_accuracy", "categorical", {}),
        ("sparse_categorical_accuracy", "sparse", {}),
        ("sparse_categorical_accuracy", "sparse_column", {}),
        ("sparse_categorical_accuracy", "sparse_seq", {}),
        ("top_k_categorical_accuracy", "categorical", {"k": 2}),
        ("sparse_top_k_categorical_accuracy", "sparse", {"k": 2}),
        ("sparse_top_k_categorical_accuracy", "sparse_seq", {"k": 2}),
    ],
)
def test_metric_functions_match_keras(fn_name, kind, kwargs, keras, rng):
    y_true, y_pred = make_batch(kind, rng)
    ours = getattr(metrics, fn_name)(torch.from_numpy(y_true), torch.from_numpy(y_pred), **kwargs)
    theirs = keras.ops.convert_to_numpy(getattr(keras.metrics, fn_name)(y_true, y_pred, **kwargs))
    assert tuple(ours.shape) == theirs.shape
    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_accuracy_function_compares_values_exactly_like_keras(keras, rng):
    from keras.src.metrics.accuracy_metrics import accuracy as keras_accuracy

    y_true, y_pred = make_batch("labels", rng)
    np.testing.assert_array_equal(
        metrics.accuracy(y_true, y_pred).numpy(), keras.ops.convert_to_numpy(keras_accuracy(y_true, y_pred))
    )


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "binary_crossentropy", "poisson"])
def test_loss_functions_are_reexported_from_metrics(name):
    from nerve import losses

    assert getattr(metrics, name) is getattr(losses, name)
