"""diagnose(): synthetic curves give the expected findings; counterfactuals match the real callbacks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import nerve
from nerve.callbacks import EarlyStopping, GradientMonitor, History, ReduceLROnPlateau
from nerve.experiments import Diagnosis, Finding, diagnose

NAN = math.nan


def _overfit():
    """val_loss falls to its minimum at epoch index 6 (Keras's "Epoch 7") then rises; loss keeps falling."""
    loss = [0.85 ** e for e in range(30)]
    val = [1.0, 0.8, 0.65, 0.55, 0.48, 0.44, 0.42] + [0.42 + 0.03 * i for i in range(1, 24)]
    return {"loss": loss, "val_loss": val, "accuracy": [1 - 0.5 * v for v in loss], "val_accuracy": [0.8] * 30}


def _good():
    loss = [0.1 + 0.8 ** e for e in range(30)]
    return {"loss": loss, "val_loss": [v + 0.03 for v in loss],
            "accuracy": [0.95] * 30, "val_accuracy": [0.94] * 30}


# ------------------------------------------------------------------ findings
def test_overfitting_found_from_the_val_loss_minimum():
    d = diagnose(History.from_dict(_overfit()))
    assert isinstance(d, Diagnosis)
    assert "overfitting" in d and "good_fit" not in d and "underfitting" not in d
    finding = d.get("overfitting")
    assert finding.epoch == 6  # 0-based index 6 is Keras's "Epoch 7"
    assert "epoch 7" in finding.message
    assert (d.monitor, d.mode, d.best_epoch, d.best_value) == ("val_loss", "min", 6, pytest.approx(0.42))
    assert finding.data["val_loss_min"] == pytest.approx(0.42)
    assert finding.data["rise"] == pytest.approx(0.69)
    assert finding.data["rise_pct"] == pytest.approx(100 * 0.69 / 0.42)
    assert finding.data["val_rising"] is True
    assert "plateau" not in d  # the overfitting explains why val_loss stopped improving


def test_overfitting_from_a_wide_accuracy_gap_even_if_val_loss_is_flat():
    h = _good()
    h["val_loss"] = h["val_loss"][:10] + [h["val_loss"][9] * (1 + 0.001 * i) for i in range(20)]
    h["accuracy"], h["val_accuracy"] = [1.0] * 30, [0.82] * 30
    finding = diagnose(h).get("overfitting")
    assert finding is not None and finding.epoch == 9
    assert finding.data["gap_end"] == pytest.approx(0.18)


def test_noisy_flat_val_loss_is_not_overfitting():
    rng = np.random.default_rng(0)
    loss = [0.3 + 0.7 * 0.7 ** e for e in range(40)]
    val = [v + 0.05 + 0.01 * rng.standard_normal() for v in loss]
    d = diagnose({"loss": loss, "val_loss": val, "accuracy": [0.9] * 40, "val_accuracy": [0.89] * 40})
    assert "overfitting" not in d
    assert "good_fit" in d


def test_underfitting_from_low_accuracy_without_gap():
    h = {"loss": [2.3, 2.25, 2.2, 2.21, 2.2, 2.19] * 3, "val_loss": [2.3, 2.26, 2.22, 2.21, 2.21, 2.2] * 3,
         "accuracy": [0.30] * 18, "val_accuracy": [0.29] * 18}
    d = diagnose(h)
    assert "underfitting" in d and "overfitting" not in d and "good_fit" not in d
    assert d.get("underfitting").data["accuracy"] == pytest.approx(0.30)


def test_underfitting_from_a_flat_loss_without_accuracy():
    d = diagnose({"loss": [1.0, 0.98, 0.97, 0.96, 0.96, 0.95], "val_loss": [1.0, 0.99, 0.98, 0.97, 0.97, 0.97]})
    assert "underfitting" in d
    assert d.get("underfitting").data["drop"] < 0.1


def test_nan_names_the_key_and_the_epoch():
    h = {"loss": [1.0, 0.8, 0.6, NAN, NAN], "val_loss": [1.0, 0.9, 0.8, 0.85, NAN]}
    finding = diagnose(h).get("nan")
    assert finding.epoch == 3 and finding.data["key"] == "loss"
    assert "loss became NaN at epoch 4" in finding.message
    inf = diagnose({"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [1.0, 0.9, math.inf, 0.8]}).get("nan")
    assert (inf.epoch, inf.data["key"], inf.data["value"]) == (2, "val_loss", "inf")


def test_divergence():
    d = diagnose({"loss": [1.0, 0.6, 0.4, 0.3, 1.2, 5.0, 20.0], "val_loss": [1.0, 0.7, 0.5, 0.4, 1.3, 5.5, 22.0]})
    finding = d.get("divergence")
    assert finding.epoch == 4
    assert finding.data["lowest_epoch"] == 3 and finding.data["factor"] == pytest.approx(4.0)
    assert "good_fit" not in d
    assert "divergence" not in diagnose(_good())


def test_plateau_from_the_last_improvement():
    val = [1.0, 0.7, 0.55, 0.5, 0.45] + [0.46, 0.455, 0.452, 0.47, 0.451, 0.46, 0.458]
    loss = [v - 0.05 for v in val]
    d = diagnose({"loss": loss, "val_loss": val}, patience=5)
    finding = d.get("plateau")
    assert finding.epoch == 4 and finding.data["epochs_without_improvement"] == 7
    assert "overfitting" not in d and "good_fit" in d  # a plateau is a note, not a problem
    assert "plateau" not in diagnose({"loss": loss, "val_loss": val}, patience=8)
    with_delta = diagnose({"loss": loss[:8], "val_loss": [1.0, 0.7, 0.55, 0.5, 0.49, 0.485, 0.483, 0.482]},
                          patience=3, min_delta=0.02)
    assert with_delta.get("plateau").epoch == 3


def test_good_fit_only():
    d = diagnose(_good())
    assert d.kinds == {"good_fit"}
    assert d.best_epoch == 29


def test_still_improving_and_no_validation():
    loss = [1.0 * 0.9 ** e for e in range(10)]
    d = diagnose({"loss": loss})
    assert d.monitor == "loss"
    assert d.kinds == {"no_validation", "still_improving"}
    assert d.get("still_improving").data["rate_per_epoch"] == pytest.approx((1 - 0.9 ** 3) / 3)


def test_monitor_mode_and_errors():
    h = _overfit()
    d = diagnose(h, "val_accuracy")
    assert (d.mode, d.best_epoch) == ("max", 0)
    with pytest.raises(ValueError, match="Available keys: 'loss'"):
        diagnose({"loss": [1.0]}, "val_loss")
    with pytest.raises(TypeError, match="History"):
        diagnose([1.0, 2.0])


def test_epochs_of_a_resumed_history():
    h = History.from_dict(_overfit(), epoch=list(range(10, 40)))
    d = h.diagnose()
    assert d.best_epoch == 16 and d.get("overfitting").epoch == 16


def test_str_and_to_dict():
    d = diagnose(_overfit())
    text = str(d)
    assert text.splitlines()[0].startswith("Diagnosis of 30 epochs, monitor 'val_loss'")
    assert "overfitting (epoch 7)" in text and "EarlyStopping(monitor='val_loss', patience=5)" in text
    out = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert out["best_epoch"] == 6 and out["findings"][0]["kind"] == "overfitting"
    assert {c["kind"] for c in out["counterfactuals"]} == {"early_stopping", "reduce_lr_on_plateau"}
    nan_dict = diagnose({"loss": [1.0, NAN]}).to_dict()
    json.dumps(nan_dict, allow_nan=False)
    assert isinstance(d.findings[0], Finding)


# ------------------------------------------------------------------ counterfactuals
class _Opt:
    def __init__(self, lr):
        self.learning_rate = lr


class _Model:
    def __init__(self, lr=1.0):
        self.stop_training, self.optimizer, self.metrics = False, _Opt(lr), []

    def get_weights(self):
        return []

    def set_weights(self, weights):
        pass


def _drive(callback, values, monitor, lr=1.0):
    """Feed `values` to the callback's hooks as fit would; the stop epoch and the LR after each epoch."""
    model = _Model(lr)
    callback.set_model(model)
    callback.on_train_begin({})
    stopped, lrs = None, []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(epoch, {monitor: value})
        lrs.append(float(np.float32(model.optimizer.learning_rate)))
        if model.stop_training:
            stopped = epoch
            break
    callback.on_train_end({})
    return stopped, lrs


SEQUENCES = [
    pytest.param(_overfit()["val_loss"], "val_loss", {"patience": 5}, id="overfit"),
    pytest.param(_overfit()["val_loss"], "val_loss", {"patience": 30}, id="overfit-never-stops"),
    pytest.param([1.0, 0.9, 0.95, 0.94, 0.93, 0.8, 0.85, 0.86, 0.84], "val_loss", {"patience": 2}, id="noisy"),
    pytest.param([1.0, 0.96, 0.9, 0.86, 0.85, 0.845], "val_loss", {"patience": 1, "min_delta": 0.05}, id="min-delta"),
    pytest.param([0.5, 0.6, 0.6, 0.55, 0.7, 0.69, 0.68], "val_accuracy", {"patience": 2}, id="accuracy-max"),
    pytest.param([1.0, 0.9, NAN, NAN, NAN], "val_loss", {"patience": 2}, id="nan"),
]


@pytest.mark.parametrize("values, monitor, kwargs", SEQUENCES)
def test_early_stopping_counterfactual_matches_the_real_callback(values, monitor, kwargs):
    es = EarlyStopping(monitor=monitor, **kwargs)
    stopped, _ = _drive(es, values, monitor)
    h = {"loss": [1.0] * len(values), monitor: values}
    cf = diagnose(h, monitor, patience=kwargs["patience"], min_delta=kwargs.get("min_delta", 0.0)).get(
        "early_stopping")
    assert cf.data["stop_epoch"] == stopped
    assert cf.data["epochs_saved"] == (0 if stopped is None else len(values) - 1 - stopped)
    assert cf.data["best_epoch"] == es.best_epoch
    assert cf.data["best_value"] == es.best
    if stopped is not None:
        assert f"would have stopped at epoch {stopped + 1} of {len(values)}" in cf.message


def test_overfit_counterfactual_numbers():
    cf = diagnose(_overfit()).get("early_stopping")
    assert (cf.epoch, cf.data["epochs_saved"], cf.data["best_epoch"]) == (11, 18, 6)
    assert cf.data["best_value"] == pytest.approx(0.42)


@pytest.mark.parametrize("values, monitor, kwargs", SEQUENCES)
@pytest.mark.parametrize("lr_kwargs", [{"patience": 2}, {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": 0.1}])
def test_reduce_lr_counterfactual_matches_the_real_callback(values, monitor, kwargs, lr_kwargs):
    rlr = ReduceLROnPlateau(monitor=monitor, **lr_kwargs)
    _, lrs = _drive(rlr, values, monitor, lr=0.5)
    expected = [e for e in range(len(values)) if lrs[e] < (lrs[e - 1] if e else np.float32(0.5))]
    h = {"loss": [1.0] * len(values), monitor: values, "learning_rate": [0.5] * len(values)}
    cf = diagnose(h, monitor, reduce_lr=lr_kwargs).get("reduce_lr_on_plateau")
    assert cf.data["reduce_epochs"] == expected
    assert cf.data["final_lr"] == pytest.approx(lrs[-1])
    assert cf.data["initial_lr"] == 0.5


def test_reduce_lr_default_patience_and_relative_rates():
    cf = diagnose(_overfit(), patience=4).get("reduce_lr_on_plateau")
    assert cf.data["patience"] == 2 and cf.data["relative"] is True
    assert cf.data["reduce_epochs"][:2] == [8, 10]
    assert "at the end of epochs 9, 11" in cf.message


# ------------------------------------------------------------------ gradients
def test_vanishing_gradients_from_a_dict():
    norms = {f"dense_{i}": [10.0 ** (i - 9), 2 * 10.0 ** (i - 9)] for i in range(10)}
    finding = diagnose(_good(), gradient_norms=norms).get("vanishing_gradients")
    assert finding is not None and finding.data["ratio"] == pytest.approx(1e-9)
    assert finding.data["first_layer"] == "dense_0" and finding.data["last_layer"] == "dense_9"
    d = diagnose(_good(), gradient_norms={"a": [0.5, 0.4], "b": [1.0, 1.0]})
    assert d.kinds == {"good_fit"}


def test_gradient_monitor_instance_and_exploding_gradients():
    monitor = GradientMonitor()
    monitor.norms = {"dense": [1e-5, 1e-5], "dense_1": [1.0, 1.0]}
    assert "vanishing_gradients" in diagnose(_good(), gradient_norms=monitor)
    huge = diagnose(_good(), gradient_norms={"a": [1.0, 50.0, 5e3], "b": [1.0, 2.0, 3.0]}).get("exploding_gradients")
    assert (huge.epoch, huge.data["layer"]) == (2, "a")
    growing = diagnose(_good(), gradient_norms={"a": [0.01, 0.1, 5.0], "b": [0.01, 0.2, 2.0]})
    assert growing.get("exploding_gradients").data["growth"] > 100
    assert "good_fit" not in growing


# ------------------------------------------------------------------ a real run
def test_a_real_overfitting_run_is_diagnosed():
    from nerve.datasets import digits

    (x, y), _ = digits.load_data()
    x, y = (x[:150].reshape(150, -1) / 255.0).astype("float32"), y[:150].astype("int64")
    model = nerve.Sequential([nerve.Input((64,)), nerve.layers.Dense(256, activation="relu"),
                              nerve.layers.Dense(256, activation="relu"), nerve.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=nerve.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    d = model.fit(x, y, epochs=60, batch_size=32, validation_split=0.33, verbose=0).diagnose()
    assert "overfitting" in d and "good_fit" not in d
    finding = d.get("overfitting")
    assert finding.epoch == d.best_epoch < 40
    assert finding.data["loss_end"] < 0.01 and finding.data["gap_end"] > 0.1
    assert d.get("early_stopping").data["epochs_saved"] > 20
