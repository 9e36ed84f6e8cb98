"""Loss classes reduce and weight like Keras 3: every reduction, sample weights, shapes, names, configs."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from losses_testutil import make_data

from nerve import losses

# (class name, constructor keyword arguments, kind of data)
CLASSES = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Huber", {"delta": 0.5}, "regression"),
    ("LogCosh", {}, "regression"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "pm1"),
    ("CategoricalHinge", {}, "categorical"),
    ("KLDivergence", {}, "categorical"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("BinaryFocalCrossentropy", {"gamma": 1.0}, "binary"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "categorical_logits"),
    ("CategoricalFocalCrossentropy", {}, "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse_seq"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, "sparse_seq"),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
WEIGHTS = ["none", "per_sample", "column", "scalar"]


def _ids(case):
    name, kwargs, kind = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}[{kind}{',' if extra else ''}{extra}]"


def _weights(kind: str, rng: np.random.Generator, n: int):
    if kind == "none":
        return None
    if kind == "per_sample":
        return rng.uniform(0.0, 2.0, size=n).astype("float32")
    if kind == "column":
        return rng.uniform(0.0, 2.0, size=(n, 1)).astype("float32")
    return np.float32(0.7)


def _to_torch(x):
    return None if x is None else torch.as_tensor(x)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
@pytest.mark.parametrize("case", CLASSES, ids=[_ids(c) for c in CLASSES])
def test_loss_class_matches_keras(case, reduction, weights, keras, rng):
    name, kwargs, kind = case
    y_true, y_pred = make_data(kind, rng)
    if kind == "sparse_seq" and weights in ("column", "per_sample"):
        pytest.skip("per-sample weights against (batch, steps) losses are a Keras broadcasting error")
    if "ignore_class" in kwargs and weights == "scalar":
        pytest.skip("Keras fails to merge a scalar weight with the ignore_class mask (in-place broadcast)")
    sw = _weights(weights, rng, len(y_true))
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    got = ours(torch.from_numpy(y_true), torch.from_numpy(y_pred), sample_weight=_to_torch(sw))
    want = keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=sw))
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CLASSES, ids=[_ids(c) for c in CLASSES])
def test_loss_class_default_name_and_config_keys_match_keras(case, keras):
    name, kwargs, _ = case
    ours = getattr(losses, name)(**kwargs)
    theirs = getattr(keras.losses, name)(**kwargs)
    assert ours.name == theirs.name
    assert ours.reduction == theirs.reduction == "sum_over_batch_size"
    mine, keras_config = ours.get_config(), theirs.get_config()
    assert set(keras_config) <= set(mine)
    for key, value in keras_config.items():
        assert mine[key] == value, key


@pytest.mark.parametrize(
    "name, kind",
    [("MeanSquaredError", "regression"), ("BinaryCrossentropy", "binary"), ("Hinge", "pm1"), ("Poisson", "positive")],
)
@pytest.mark.parametrize("layout", ["true_flat_pred_column", "true_column_pred_flat"])
def test_rank_mismatch_by_a_trailing_one_is_matched_like_keras(name, kind, layout, keras, rng):
    y_true, y_pred = make_data(kind, rng, n=6, d=1)
    if layout == "true_flat_pred_column":
        y_true = y_true[:, 0]
    else:
        y_pred = y_pred[:, 0]
    sw = rng.uniform(0.0, 1.0, size=6).astype("float32")
    got = getattr(losses, name)()(torch.from_numpy(y_true), torch.from_numpy(y_pred), sample_weight=torch.from_numpy(sw))
    want = keras.ops.convert_to_numpy(getattr(keras.losses, name)()(y_true, y_pred, sample_weight=sw))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("ignore_class", [None, 1])
def test_sample_weight_per_element_matches_keras(ignore_class, reduction, keras, rng):
    y_true, y_pred = make_data("sparse_seq", rng)
    sw = rng.uniform(0.0, 1.0, size=y_true.shape).astype("float32")
    ours = losses.SparseCategoricalCrossentropy(ignore_class=ignore_class, reduction=reduction)
    theirs = keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore_class, reduction=reduction)
    got = ours(torch.from_numpy(y_true), torch.from_numpy(y_pred), torch.from_numpy(sw))
    want = keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=sw))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_per_sample_weights_broadcast_over_time_steps(rng):
    # Keras raises on (batch,) weights against (batch, steps) losses; nerve weights each sample.
    y_true, y_pred = make_data("sparse_seq", rng)
    sw = rng.uniform(0.0, 1.0, size=len(y_true)).astype("float32")
    loss = losses.SparseCategoricalCrossentropy()
    got = loss(torch.from_numpy(y_true), torch.from_numpy(y_pred), torch.from_numpy(sw))
    per_element = losses.sparse_categorical_crossentropy(torch.from_numpy(y_true), torch.from_numpy(y_pred))
    expected = (per_element * torch.from_numpy(sw)[:, None]).sum() / per_element.numel()
    torch.testing.assert_close(got, expected)


def test_custom_loss_subclass_gets_float_labels_and_reduction(keras):
    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            assert y_true.dtype == torch.float32
            return torch.mean(torch.abs(y_true - y_pred), dim=-1)

    loss = MyLoss(reduction="sum")
    assert loss.name.startswith("my_loss")
    got = loss(np.array([[1], [2]], dtype="int64"), torch.tensor([[0.5], [2.5]]))
    torch.testing.assert_close(got, torch.tensor(1.0))


def test_unnamed_losses_get_unique_snake_case_names():
    first, second = losses.Loss(), losses.Loss()
    assert re.fullmatch(r"loss(_\d+)?", first.name)
    assert first.name != second.name
    assert losses.LossFunctionWrapper(losses.mse).name.startswith("loss_function_wrapper")
