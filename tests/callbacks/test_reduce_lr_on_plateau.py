"""ReduceLROnPlateau: scripted sequences give Keras's learning rates; lr lands in the logs; state resumes."""

from __future__ import annotations

import pytest
from callbacks_testutil import NAN, StubModel, drive

from nerve.callbacks import ReduceLROnPlateau
from nerve.callbacks.reduce_lr_on_plateau import plateau_decision

FLAT = [1.0] * 7

# (monitor values, kwargs, learning rate in force during each epoch, starting from 1.0)
CASES = [
    pytest.param(FLAT, {"patience": 2, "factor": 0.5}, [1, 1, 1, 0.5, 0.5, 0.25, 0.25], id="patience-2"),
    pytest.param(FLAT, {"patience": 0, "factor": 0.5}, [1, 1, 0.5, 0.25, 0.125, 0.0625, 0.03125],
                 id="patience-0-reduces-every-epoch"),
    pytest.param(FLAT, {"patience": 2, "factor": 0.5, "cooldown": 2}, [1, 1, 1, 0.5, 0.5, 0.5, 0.25], id="cooldown"),
    pytest.param(FLAT, {"patience": 1, "factor": 0.5, "min_lr": 0.3}, [1, 1, 0.5, 0.3, 0.3, 0.3, 0.3], id="min-lr"),
    pytest.param([1.0, 0.95, 0.85, 0.84, 0.7], {"patience": 1, "factor": 0.1, "min_delta": 0.1},
                 [1, 1, 0.1, 0.1, 0.01], id="min-delta"),
    pytest.param([0.5, 0.6, 0.6, 0.6, 0.7, 0.7], {"patience": 2, "factor": 0.5, "mode": "max"},
                 [1, 1, 1, 1, 0.5, 0.5], id="mode-max"),
    pytest.param([1.0, NAN, NAN, NAN], {"patience": 2, "factor": 0.5}, [1, 1, 1, 0.5], id="nan-never-improves"),
    pytest.param([3.0, 2.0, 1.0, 0.5, 0.25], {"patience": 1, "factor": 0.5}, [1] * 5, id="improving-never-reduces"),
]


def _monitor(kwargs):
    return "val_accuracy" if kwargs.get("mode") == "max" else "val_loss"


@pytest.mark.parametrize("values, kwargs, lrs", CASES)
def test_learning_rate_per_epoch(values, kwargs, lrs):
    out = drive(ReduceLROnPlateau(monitor=_monitor(kwargs), **kwargs), values, monitor=_monitor(kwargs))
    assert out["lrs"] == pytest.approx(lrs, rel=1e-6)


@pytest.mark.parametrize("values, kwargs, lrs", CASES)
def test_matches_keras_reduce_lr_on_plateau(keras, values, kwargs, lrs):
    monitor = _monitor(kwargs)
    ours = ReduceLROnPlateau(monitor=monitor, **kwargs)
    theirs = keras.callbacks.ReduceLROnPlateau(monitor=monitor, **kwargs)
    a, b = drive(ours, values, monitor=monitor), drive(theirs, values, monitor=monitor)
    assert a["lrs"] == b["lrs"]
    assert [lg["learning_rate"] for lg in a["logs"]] == [lg["learning_rate"] for lg in b["logs"]]
    assert (ours.wait, ours.cooldown_counter) == (theirs.wait, theirs.cooldown_counter)


def test_learning_rate_logged_is_the_one_used_during_the_epoch():
    out = drive(ReduceLROnPlateau(patience=0, factor=0.5), [1.0, 1.0, 1.0, 1.0])
    assert [lg["learning_rate"] for lg in out["logs"]] == out["lrs"] == [1.0, 1.0, 0.5, 0.25]


def test_verbose_message_matches_keras(keras, capsys):
    drive(keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.1, verbose=1), [1.0, 1.0, 1.0],
          model=StubModel(learning_rate=0.001))
    theirs = capsys.readouterr().out
    drive(ReduceLROnPlateau(patience=1, factor=0.1, verbose=1), [1.0, 1.0, 1.0], model=StubModel(learning_rate=0.001))
    assert capsys.readouterr().out == theirs
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to" in theirs


def test_one_callback_serves_several_fits():
    cb = ReduceLROnPlateau(patience=1, factor=0.5)
    first = drive(cb, [1.0, 1.0, 1.0])
    second = drive(cb, [1.0, 1.0, 1.0])  # fresh stub model at lr 1.0, fresh best/wait
    assert first["lrs"] == second["lrs"] == [1.0, 1.0, 0.5]


def test_state_dict_resumes_exactly():
    values = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    kwargs = {"patience": 2, "factor": 0.5, "cooldown": 1}
    ref = drive(ReduceLROnPlateau(**kwargs), values)
    first, model = ReduceLROnPlateau(**kwargs), StubModel()
    first.set_model(model)
    first.on_train_begin()
    lrs = []
    for epoch in range(4):
        lrs.append(model.optimizer.learning_rate)
        first.on_epoch_end(epoch, {"val_loss": values[epoch]})
    resumed = ReduceLROnPlateau(**kwargs)
    resumed.load_state_dict(first.state_dict())
    resumed.set_model(model)
    resumed.on_train_begin()
    for epoch in range(4, len(values)):
        resumed.on_epoch_begin(epoch)
        lrs.append(model.optimizer.learning_rate)
        resumed.on_epoch_end(epoch, {"val_loss": values[epoch]})
    assert lrs == ref["lrs"]


def test_never_logged_monitor_is_refused_naming_logged_keys():
    cb = ReduceLROnPlateau(monitor="val_los", patience=0)
    with pytest.raises(ValueError, match=r"'val_los'.*Logged keys: 'loss', 'val_loss', 'learning_rate'.*"
                                         r"did you mean 'val_loss'"):
        drive(cb, [1.0, 1.0, 1.0])


def test_missing_val_key_warns_and_still_logs_learning_rate():
    cb = ReduceLROnPlateau(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"'val_loss'.*Available keys: 'loss', 'accuracy', 'learning_rate'"):
        out = drive(cb, [1.0, 1.0, 1.0], monitor="accuracy")
    assert out["lrs"] == [1.0, 1.0, 1.0]
    assert all(lg["learning_rate"] == 1.0 for lg in out["logs"])


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, "factor >= 1.0"),
    ({"factor": 2}, "factor >= 1.0"),
    ({"patience": -1}, "patience and cooldown must be >= 0"),
    ({"lr_decay": 0.5}, "unexpected arguments.*lr_decay"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ReduceLROnPlateau(**kwargs)


def test_keras2_epsilon_is_taken_as_min_delta():
    with pytest.warns(UserWarning, match="epsilon"):
        cb = ReduceLROnPlateau(epsilon=0.5)
    assert cb.min_delta == 0.5


def test_decision_function_is_pure():
    d = plateau_decision(1.0, 0.9, 1, 0, mode="min", min_delta=1e-4, patience=2)
    assert d == (False, 2, 0, True)
    d = plateau_decision(1.0, 0.9, 3, 2, mode="min", min_delta=1e-4, patience=2)
    assert d == (False, 0, 1, False)


def test_real_optimizer_learning_rate_is_reduced():
    import nerve

    model = StubModel()
    model.optimizer = nerve.optimizers.Adam(learning_rate=0.01)
    out = drive(ReduceLROnPlateau(patience=1, factor=0.5), [1.0, 1.0, 1.0], model=model)
    assert out["lrs"] == pytest.approx([0.01, 0.01, 0.005])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)
