"""TerminateOnNaN: training stops at the first batch whose loss is NaN or infinite."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nerve
from nerve.callbacks import LambdaCallback, TerminateOnNaN


def _diverging_fit(callbacks, epochs=3):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 4)) * 100).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = nerve.Sequential([nerve.Input((4,)), nerve.layers.Dense(1)])
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=1e6), loss="mse")
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=callbacks)
    return model, history


def test_fit_stops_at_the_first_non_finite_batch(capsys):
    losses = []
    recorder = LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    model, history = _diverging_fit([recorder, TerminateOnNaN()])
    assert not math.isfinite(losses[-1])
    assert all(math.isfinite(v) for v in losses[:-1])
    assert len(losses) < 16  # within the first epoch
    assert len(history.history["loss"]) == 1 and model.stop_training
    assert f"Batch {len(losses) - 1}: Invalid loss, terminating training" in capsys.readouterr().out


def test_without_it_the_fit_runs_on():
    losses = []
    _, history = _diverging_fit([LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(logs["loss"]))])
    assert len(history.history["loss"]) == 3 and len(losses) == 48


def test_raise_error_raises():
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch"):
        _diverging_fit([TerminateOnNaN(raise_error=True)])


@pytest.mark.parametrize("loss", [float("nan"), float("inf"), -float("inf")])
def test_message_matches_keras(keras, capsys, loss):
    from callbacks_testutil import StubModel

    for cb in (keras.callbacks.TerminateOnNaN(), TerminateOnNaN()):
        model = StubModel()
        cb.set_model(model)
        cb.on_train_batch_end(0, {"loss": 0.5})
        assert not model.stop_training
        cb.on_train_batch_end(1, {"loss": loss})
        assert model.stop_training
    theirs, ours = capsys.readouterr().out.split("\n")[:2]
    assert ours == theirs == "Batch 1: Invalid loss, terminating training"
