"""The Callback base: every hook is called at the right time with the right logs."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve.layers import Dense, Input


class Recorder(nerve.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                logs = args[-1] if args and not isinstance(args[-1], int) else kwargs.get("logs")
                self.calls.append((name, args[0] if args and isinstance(args[0], int) else None,
                                   sorted(logs) if logs else []))
                return attr(*args, **kwargs)
            return record
        return attr


# Make every hook an override so CallbackList dispatches all of them.
for _hook in [h for h in dir(nerve.callbacks.Callback) if h.startswith("on_")]:
    setattr(Recorder, _hook, lambda self, *a, **k: None)


def _model():
    model = nerve.Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_calls_hooks_in_keras_order():
    rec = Recorder()
    x, y = np.random.rand(20, 3), np.random.randint(0, 2, 20)
    _model().fit(x, y, epochs=2, batch_size=8, validation_split=0.2, callbacks=[rec], verbose=0)
    names = [c[0] for c in rec.calls]
    assert names[0] == "on_train_begin" and names[-1] == "on_train_end"
    epoch0 = names[1:names.index("on_epoch_end") + 1]
    # on_before_optimizer_step is nerve's extension (Lightning's name): between backward and step.
    assert epoch0 == ["on_epoch_begin",
                      "on_train_batch_begin", "on_before_optimizer_step", "on_train_batch_end",
                      "on_train_batch_begin", "on_before_optimizer_step", "on_train_batch_end",
                      "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                      "on_epoch_end"]
    batch_end = [c for c in rec.calls if c[0] == "on_train_batch_end"][0]
    assert batch_end[1] == 0 and batch_end[2] == ["accuracy", "loss"]
    epoch_end = [c for c in rec.calls if c[0] == "on_epoch_end"][0]
    assert epoch_end[2] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert rec.params == {"epochs": 2, "steps": 2, "verbose": 0}


def test_evaluate_and_predict_hooks():
    rec = Recorder()
    model = _model()
    x, y = np.random.rand(10, 3), np.random.randint(0, 2, 10)
    model.evaluate(x, y, batch_size=5, callbacks=[rec], verbose=0)
    model.predict(x, batch_size=5, callbacks=[rec], verbose=0)
    names = [c[0] for c in rec.calls]
    assert names == ["on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_batch_begin",
                     "on_test_batch_end", "on_test_end", "on_predict_begin", "on_predict_batch_begin",
                     "on_predict_batch_end", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_stop_training_from_a_callback_stops_after_that_batch():
    class StopAt(nerve.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    seen = []

    class Count(nerve.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    h = _model().fit(np.random.rand(40, 3), np.random.randint(0, 2, 40), epochs=5, batch_size=4,
                     callbacks=[StopAt(), Count()], verbose=0)
    assert seen == [0, 1] and len(h.history["loss"]) == 1


def test_batch_logs_are_running_epoch_averages():
    values = []

    class Grab(nerve.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            values.append(logs["loss"])

    model = nerve.Sequential([Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=nerve.optimizers.SGD(0.0), loss="mae")
    y = np.array([[1.0], [3.0], [5.0]], "float32")
    h = model.fit(np.zeros((3, 1)), y, batch_size=1, shuffle=False, callbacks=[Grab()], verbose=0)
    assert values == pytest.approx([1.0, 2.0, 3.0]) and h.history["loss"] == pytest.approx([3.0])


def test_non_callback_object_is_refused():
    with pytest.raises(TypeError, match="nerve.callbacks.Callback"):
        _model().fit(np.zeros((2, 3)), np.zeros(2), callbacks=[print], verbose=0)
