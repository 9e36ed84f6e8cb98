"""EarlyStopping: scripted metric sequences give Keras's stop epochs; best weights come back; state resumes."""

from __future__ import annotations

import numpy as np
import pytest
from callbacks_testutil import NAN, StubModel, drive, mlp

import nerve
from nerve.callbacks import EarlyStopping
from nerve.callbacks.early_stopping import early_stopping_decision

# (values of the monitor per epoch, EarlyStopping kwargs, expected stop epoch, expected best epoch)
CASES = [
    pytest.param([1.0, 0.9, 0.95, 0.94, 0.93, 0.8], {"patience": 2}, 3, 1, id="patience-2"),
    pytest.param([1.0, 0.9, 0.95, 0.94, 0.93, 0.8], {"patience": 3}, 4, 1, id="patience-3"),
    pytest.param([1.0, 2.0], {"patience": 0}, 1, 0, id="patience-0-stops-at-first-worse-epoch"),
    pytest.param([1.0, 1.0, 1.0], {"patience": 1}, 1, 0, id="equal-is-no-improvement"),
    pytest.param([1.0, 0.96, 0.9, 0.86], {"patience": 1, "min_delta": 0.05}, 1, 0, id="min-delta-not-beaten"),
    pytest.param([1.0, 0.94, 0.88, 0.87], {"patience": 1, "min_delta": -0.05}, 3, 2, id="negative-min-delta-is-abs"),
    pytest.param([0.5, 0.6, 0.6, 0.55], {"patience": 1, "mode": "max"}, 2, 1, id="mode-max"),
    pytest.param([0.5, 0.6, 0.65, 0.66], {"patience": 1, "mode": "max", "min_delta": 0.02}, 3, 2,
                 id="mode-max-min-delta"),
    pytest.param([5.0, 4.0, 3.0, 2.0, 1.0], {"patience": 0}, None, 4, id="always-improving-never-stops"),
    pytest.param([1.0, 1.1, 1.2], {"patience": 2}, 2, 0, id="no-baseline"),
    pytest.param([1.0, 1.1, 1.2], {"patience": 2, "baseline": 0.5}, 1, 0, id="baseline-not-beaten-stops-sooner"),
    pytest.param([1.0, 0.9, 0.8, 0.7, 0.75], {"patience": 1, "baseline": 0.5}, 4, 3,
                 id="baseline-improving-epochs-never-stop"),
    pytest.param([1.0, 0.9, 0.4, 0.45, 0.5], {"patience": 2, "baseline": 0.5}, 4, 2, id="baseline-beaten-resets"),
    pytest.param([1.0, 2.0, 3.0, 4.0, 5.0], {"patience": 1, "start_from_epoch": 2}, 3, 2, id="start-from-epoch"),
    pytest.param([1.0, NAN, NAN, NAN], {"patience": 1}, 1, 0, id="nan-never-improves"),
]


def _monitor(kwargs):
    return "val_accuracy" if kwargs.get("mode") == "max" else "val_loss"


def _run(values, kwargs, restore=False):
    es = EarlyStopping(monitor=_monitor(kwargs), restore_best_weights=restore, **kwargs)
    return es, drive(es, values, monitor=_monitor(kwargs))


@pytest.mark.parametrize("values, kwargs, stop, best_epoch", CASES)
def test_stop_epoch_and_best_epoch(values, kwargs, stop, best_epoch):
    es, out = _run(values, kwargs)
    assert out["stopped"] == stop
    assert es.stopped_epoch == (stop or 0)
    assert es.best_epoch == best_epoch


@pytest.mark.parametrize("values, kwargs, stop, best_epoch", CASES)
def test_matches_keras_early_stopping(keras, values, kwargs, stop, best_epoch):
    monitor = _monitor(kwargs)
    ours, out = _run(values, kwargs, restore=True)
    theirs = keras.callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    ref = drive(theirs, values, monitor=monitor)
    assert out["stopped"] == ref["stopped"]
    assert (ours.stopped_epoch, ours.best_epoch, ours.wait) == (theirs.stopped_epoch, theirs.best_epoch, theirs.wait)
    assert out["model"].marker == ref["model"].marker  # the same epoch's weights restored
    assert (ours.best is None) == (theirs.best is None)
    if ours.best is not None and not np.isnan(ours.best):
        assert ours.best == pytest.approx(float(theirs.best))


@pytest.mark.parametrize("values, expected", [
    ([1.0, 0.5, 0.7, 0.8, 0.9], 1),  # stopped early
    ([1.0, 0.5, 0.4, 0.6, 0.7], 2),  # ran to the end: still restored (Keras 3 does the same)
])
def test_restore_best_weights_puts_back_the_best_epoch(values, expected):
    es = EarlyStopping(patience=2, restore_best_weights=True)
    out = drive(es, values)
    assert out["model"].marker == expected


def test_without_restore_best_weights_the_last_weights_stay():
    out = drive(EarlyStopping(patience=1), [1.0, 0.5, 0.7, 0.8])
    assert out["model"].marker == 2


def test_verbose_messages_match_keras(keras, capsys):
    values = [1.0, 0.5, 0.7, 0.8, 0.9]
    drive(keras.callbacks.EarlyStopping(patience=2, verbose=1, restore_best_weights=True), values)
    theirs = capsys.readouterr().out
    drive(EarlyStopping(patience=2, verbose=1, restore_best_weights=True), values)
    ours = capsys.readouterr().out
    assert ours == theirs
    assert "Epoch 4: early stopping" in ours
    assert "Restoring model weights from the end of the best epoch: 2." in ours


def test_one_callback_serves_several_fits():
    es = EarlyStopping(patience=1)
    first = drive(es, [1.0, 2.0, 3.0])
    second = drive(es, [3.0, 2.0, 1.0, 2.0])  # best and wait must start afresh
    assert (first["stopped"], second["stopped"]) == (1, 3)
    assert es.best == 1.0


def test_state_dict_resumes_exactly():
    values = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98]
    whole = EarlyStopping(patience=3, restore_best_weights=True)
    ref = drive(whole, values)
    first = EarlyStopping(patience=3, restore_best_weights=True)
    model = StubModel()
    first.set_model(model)
    first.on_train_begin()
    for epoch in range(3):
        model.marker = epoch
        first.on_epoch_end(epoch, {"val_loss": values[epoch]})
    state = first.state_dict()
    resumed = EarlyStopping(patience=3, restore_best_weights=True)
    resumed.load_state_dict(state)
    resumed.set_model(model)
    resumed.on_train_begin()  # keeps the loaded state
    stopped = None
    for epoch in range(3, len(values)):
        resumed.on_epoch_begin(epoch)
        model.marker = epoch
        resumed.on_epoch_end(epoch, {"val_loss": values[epoch]})
        if model.stop_training:
            stopped = epoch
            break
    resumed.on_train_end()
    assert stopped == ref["stopped"] == 4
    assert (resumed.best, resumed.best_epoch, resumed.wait) == (whole.best, whole.best_epoch, whole.wait)
    assert model.marker == ref["model"].marker == 1


def test_load_state_dict_rejects_unknown_keys():
    with pytest.raises(KeyError, match="unknown keys.*'wiat'"):
        EarlyStopping().load_state_dict({"wiat": 3})


def test_never_logged_monitor_is_refused_at_the_first_epoch_end_naming_logged_keys():
    es = EarlyStopping(monitor="val_acc", patience=0)
    with pytest.raises(ValueError, match=r"monitor='val_acc'.*end of epoch 1.*Logged keys: 'loss', 'val_loss'"):
        drive(es, [1.0, 2.0, 3.0], monitor="val_loss")
    assert es.best is None


def test_missing_val_key_warns_once_per_fit():
    es = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"'val_loss'.*Available keys: 'loss', 'accuracy'") as record:
        out = drive(es, [1.0, 2.0, 3.0], monitor="accuracy")
    assert len([w for w in record if "val_loss" in str(w.message)]) == 1
    assert out["stopped"] is None and es.best is None


def test_missing_val_key_without_validation_hints_at_validation_data():
    es = EarlyStopping()
    es.set_model(StubModel())
    es.on_train_begin()
    with pytest.warns(UserWarning, match="validation_data or validation_split"):
        es.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize("kwargs, match", [
    ({"patience": -1}, "patience must be an integer >= 0"),
    ({"patience": 1.5}, "patience must be an integer >= 0"),
    ({"start_from_epoch": -2}, "start_from_epoch"),
    ({"monitor": None}, "monitor must be the name"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        EarlyStopping(**kwargs)


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'smallest' is unknown"):
        es = EarlyStopping(mode="smallest")
    assert es.mode == "auto"


def test_decision_function_is_pure():
    d = early_stopping_decision(0.5, 0.4, 1, 3, mode="min", min_delta=0.0, patience=2, baseline=None)
    assert (d.improved, d.wait, d.stop) == (False, 2, True)
    d = early_stopping_decision(0.3, 0.4, 1, 3, mode="min", min_delta=0.0, patience=2, baseline=0.2)
    assert (d.improved, d.wait, d.stop) == (True, 2, False)


def test_real_fit_on_digits_stops_early_and_history_matches(digits_data):
    x, y = digits_data
    model = mlp(optimizer=nerve.optimizers.Adam(learning_rate=0.05), hidden=64)
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=100, batch_size=64, validation_split=0.25, callbacks=[es], verbose=0)
    assert 0 < es.stopped_epoch < 99
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == es.stopped_epoch + 1
    assert history.epoch[-1] == es.stopped_epoch
    assert es.stopped_epoch - es.best_epoch == 2
    best = min(history.history["val_loss"])
    assert history.history["val_loss"][es.best_epoch] == best
    x_val, y_val = x[-len(x) // 4:], y[-len(y) // 4:]
    restored = model.evaluate(x_val, y_val, batch_size=64, verbose=0, return_dict=True)["loss"]
    assert restored == pytest.approx(best, rel=1e-4)


def test_never_stops_at_epoch_zero_even_with_a_resumed_best():
    es = EarlyStopping(patience=0)
    es.load_state_dict({"best": 0.5, "wait": 0})
    out = drive(es, [1.0, 1.0])  # epoch 0 is worse than the resumed best, as Keras: no stop before epoch 1
    assert out["stopped"] == 1
