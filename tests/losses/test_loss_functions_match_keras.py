"""Each per-sample loss function gives Keras 3's values (torch backend) on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from losses_testutil import make_data

from nerve import losses

# (function name, keyword arguments, kind of data)
CASES = [
    ("mean_squared_error", {}, "regression"),
    ("mean_squared_error", {}, "regression3d"),
    ("mean_absolute_error", {}, "regression"),
    ("mean_absolute_percentage_error", {}, "regression"),
    ("mean_squared_logarithmic_error", {}, "positive"),
    ("mean_squared_logarithmic_error", {}, "regression"),
    ("huber", {}, "regression"),
    ("huber", {"delta": 0.3}, "regression"),
    ("log_cosh", {}, "regression"),
    ("hinge", {}, "binary"),
    ("hinge", {}, "pm1"),
    ("squared_hinge", {}, "binary"),
    ("squared_hinge", {}, "pm1"),
    ("categorical_hinge", {}, "categorical"),
    ("kl_divergence", {}, "categorical"),
    ("poisson", {}, "positive"),
    ("cosine_similarity", {}, "regression"),
    ("cosine_similarity", {"axis": 1}, "regression3d"),
    ("binary_crossentropy", {}, "binary"),
    ("binary_crossentropy", {"label_smoothing": 0.2}, "binary"),
    ("binary_crossentropy", {"from_logits": True}, "binary_logits"),
    ("binary_crossentropy", {"axis": 0}, "binary"),
    ("binary_focal_crossentropy", {}, "binary"),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, "binary"),
    ("binary_focal_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("categorical_crossentropy", {}, "categorical"),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, "categorical"),
    ("categorical_crossentropy", {"from_logits": True}, "categorical_logits"),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.3}, "categorical_logits"),
    ("categorical_crossentropy", {"axis": 1}, "categorical_axis1"),
    ("categorical_focal_crossentropy", {}, "categorical"),
    ("categorical_focal_crossentropy", {"from_logits": True, "alpha": 0.5, "gamma": 1.0}, "categorical_logits"),
    ("sparse_categorical_crossentropy", {}, "sparse"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sparse_logits"),
    ("sparse_categorical_crossentropy", {}, "sparse_seq"),
    ("sparse_categorical_crossentropy", {"ignore_class": 2}, "sparse"),
    ("sparse_categorical_crossentropy", {"ignore_class": 1, "from_logits": True}, "sparse_logits"),
]


def _ids(case):
    name, kwargs, kind = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}[{kind}{',' if extra else ''}{extra}]"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_loss_function_matches_keras(case, keras, rng):
    name, kwargs, kind = case
    y_true, y_pred = make_data(kind, rng)
    ours = getattr(losses, name)(torch.from_numpy(y_true), torch.from_numpy(y_pred), **kwargs)
    theirs = keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
    assert tuple(ours.shape) == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name", ["mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "binary_crossentropy"]
)
def test_loss_function_accepts_numpy_and_lists_like_keras(name, keras, rng):
    y_true, y_pred = make_data("binary", rng, n=4, d=3)
    ours = getattr(losses, name)(y_true.tolist(), y_pred)
    theirs = keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8", "float32", "float64"])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_crossentropy_accepts_label_dtypes_and_shapes(label_dtype, label_shape, keras, rng):
    y_true, y_pred = make_data("sparse", rng)
    expected = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
    labels = y_true.astype(label_dtype)
    if label_shape == "column":
        labels = labels[:, None]
    ours = losses.sparse_categorical_crossentropy(torch.from_numpy(labels), torch.from_numpy(y_pred))
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_sparse_crossentropy_rejects_one_hot_labels_with_a_hint(rng):
    y_true, y_pred = make_data("categorical", rng)
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(torch.from_numpy(y_true), torch.from_numpy(y_pred))


def test_categorical_crossentropy_rejects_integer_labels_with_a_hint(rng):
    y_true, y_pred = make_data("sparse", rng)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(torch.from_numpy(y_true), torch.from_numpy(y_pred))
