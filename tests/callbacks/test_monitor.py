"""The shared monitor logic: which way is better, what counts as an improvement, what is printed."""

from __future__ import annotations

import math

import pytest
from callbacks_testutil import StubModel, drive

from nerve.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from nerve.callbacks.monitor import is_improvement, resolve_mode


@pytest.mark.parametrize("name, expected", [
    ("val_loss", "min"), ("loss", "min"), ("output_1_loss", "min"), ("val_dense_accuracy_loss", "min"),
    ("accuracy", "max"), ("val_accuracy", "max"), ("acc", "max"), ("val_acc", "max"),
    ("sparse_categorical_accuracy", "max"), ("val_top_k_categorical_accuracy", "max"),
    ("auc", "max"), ("val_auc_1", "max"), ("precision", "max"), ("recall", "max"), ("f1_score", "max"),
    ("r2_score", "max"), ("mean_iou", "max"),
    ("mae", "min"), ("val_mean_squared_error", "min"), ("mape", "min"), ("custom", "min"),
])
def test_auto_mode_from_the_name(name, expected):
    assert resolve_mode(name, "auto")[0] == expected


def test_metric_direction_decides_before_the_name():
    assert resolve_mode("val_custom", "auto", {"custom": "up"}) == ("max", "metric")
    assert resolve_mode("val_loss", "auto", {"loss": "up"}) == ("min", "loss")
    assert resolve_mode("val_accuracy", "min") == ("min", "given")


@pytest.mark.parametrize("current, best, mode, delta, expected", [
    (0.9, 1.0, "min", 0.0, True), (1.0, 1.0, "min", 0.0, False), (0.95, 1.0, "min", 0.05, False),
    (0.94, 1.0, "min", 0.05, True), (0.94, 1.0, "min", -0.05, True),
    (0.6, 0.5, "max", 0.0, True), (0.5, 0.5, "max", 0.0, False), (0.55, 0.5, "max", 0.05, False),
    (0.56, 0.5, "max", 0.05, True), (5.0, None, "max", 0.0, True), (math.nan, 1.0, "min", 0.0, False),
])
def test_is_improvement(current, best, mode, delta, expected):
    assert is_improvement(current, best, mode, delta) is expected


def test_auto_decision_from_the_name_is_printed_at_verbose_1(capsys):
    drive(EarlyStopping(monitor="val_f1", patience=5, verbose=1), [0.1, 0.2], monitor="val_f1")
    out = capsys.readouterr().out
    assert "EarlyStopping watches 'val_f1' in mode 'max' (higher is better)" in out
    drive(EarlyStopping(monitor="val_f1", patience=5, verbose=0), [0.1, 0.2], monitor="val_f1")
    drive(EarlyStopping(monitor="val_loss", patience=5, verbose=1), [0.1, 0.2])
    assert capsys.readouterr().out == ""  # silent, or decided by "loss" as Keras does


def test_model_metric_direction_is_used(capsys):
    class UpMetric:
        name = "score"
        _direction = "up"

    model = StubModel()
    model.metrics = [UpMetric()]
    es = EarlyStopping(monitor="val_score", patience=0, verbose=1)
    out = drive(es, [0.1, 0.2, 0.3], monitor="val_score", model=model)
    assert es.monitor_mode == "max" and out["stopped"] is None
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("make", [
    lambda: EarlyStopping(monitor="val_auc", patience=0),
    lambda: ReduceLROnPlateau(monitor="val_auc", patience=0, factor=0.5),
])
def test_auto_max_for_accuracy_like_names_in_every_monitor(make):
    cb = make()
    out = drive(cb, [0.5, 0.6, 0.7], monitor="val_auc")
    assert cb.monitor_mode == "max"
    assert out["stopped"] is None and out["lrs"] == [1.0, 1.0, 1.0]


def test_checkpoint_auto_mode_uses_the_same_rule(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m_{epoch}.h5"), monitor="val_accuracy", save_best_only=True)
    out = drive(cb, [0.5, 0.6, 0.55, 0.7], monitor="val_accuracy")
    assert [p.split("/")[-1] for _, p in out["model"].saved] == ["m_1.h5", "m_2.h5", "m_4.h5"]
