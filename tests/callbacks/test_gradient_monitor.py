"""GradientMonitor: per-layer gradient norms match torch by hand; deep sigmoid nets show vanishing gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve
from nerve.callbacks import Callback, GradientMonitor


def _small_model(optimizer="sgd"):
    model = nerve.Sequential([nerve.Input((4,)), nerve.layers.Dense(3, activation="tanh"), nerve.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _data(n=8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def _deep(activation, depth=10):
    layers = [nerve.layers.Dense(32, activation=activation) for _ in range(depth - 1)]
    model = nerve.Sequential([nerve.Input((64,)), *layers, nerve.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=nerve.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return model


class _SpyNorms(Callback):
    """Reads each layer's gradient norm on the host, batch by batch (slow but obvious)."""

    def __init__(self):
        super().__init__()
        self.per_batch = []

    def on_before_optimizer_step(self, batch, logs=None):
        row = {}
        for layer in self.model.layers:
            grads = [v.value.grad for v in layer.trainable_weights]
            row[layer.name] = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
        self.per_batch.append((batch, row))


def test_one_batch_norms_match_torch_by_hand():
    x, y = _data()
    model = _small_model()
    w1, b1, w2, b2 = (torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in model.get_weights())
    out = torch.tanh(torch.tensor(x, dtype=torch.float64) @ w1 + b1) @ w2 + b2
    torch.mean((out - torch.tensor(y, dtype=torch.float64)) ** 2).backward()
    expected = [math.hypot(w1.grad.norm().item(), b1.grad.norm().item()),
                math.hypot(w2.grad.norm().item(), b2.grad.norm().item())]

    monitor = GradientMonitor()
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    assert list(monitor.norms) == [layer.name for layer in model.layers]
    got = [values[0] for values in monitor.norms.values()]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_epoch_value_is_the_mean_over_measured_batches():
    x, y = _data(40)
    model = _small_model()
    monitor, spy = GradientMonitor(every_n_batches=2), _SpyNorms()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[spy, monitor])
    assert all(len(v) == 2 for v in monitor.norms.values())
    for epoch in range(2):
        rows = [row for b, row in spy.per_batch[5 * epoch:5 * epoch + 5] if b % 2 == 0]  # batches 0, 2, 4
        for name, values in monitor.norms.items():
            assert values[epoch] == pytest.approx(np.mean([r[name] for r in rows]), rel=1e-5)


def test_deep_sigmoid_gradients_vanish_relu_ones_do_not(digits_data):
    x, y = digits_data[0][:256], digits_data[1][:256]
    ratios = {}
    for activation in ("sigmoid", "relu"):
        nerve.utils.set_random_seed(1234)
        monitor = GradientMonitor()
        _deep(activation).fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[monitor])
        norms = list(monitor.norms.values())
        assert len(norms) == 10
        ratios[activation] = norms[0][0] / norms[-1][0]
    assert ratios["sigmoid"] < 1e-3
    assert ratios["relu"] > 1e-2
    assert ratios["sigmoid"] < ratios["relu"] / 1000


def test_logs_only_with_log_true():
    x, y = _data(16)
    history = _small_model().fit(x, y, epochs=2, verbose=0, callbacks=[GradientMonitor()])
    assert not any(k.startswith("grad_norm/") for k in history.history)

    monitor = GradientMonitor(log=True)
    model = _small_model()
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])
    assert {f"grad_norm/{name}" for name in monitor.norms} <= set(history.history)
    for name, values in monitor.norms.items():
        assert history.history[f"grad_norm/{name}"] == values


def test_monitoring_does_not_change_training():
    x, y = _data(32)
    runs = []
    for callbacks in ([GradientMonitor()], []):
        nerve.utils.set_random_seed(7)
        model = _small_model("adam")
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=callbacks)
        runs.append((history.history["loss"], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_nested_model_layers_are_listed_with_its_name_and_norms_reset_per_fit():
    inner = nerve.Sequential([nerve.Input((4,)), nerve.layers.Dense(3), nerve.layers.Dense(3)], name="inner")
    model = nerve.Sequential([nerve.Input((4,)), inner, nerve.layers.Dropout(0.1), nerve.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data(16)
    monitor = GradientMonitor()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])
    names = [f"inner/{layer.name}" for layer in inner.layers] + [model.layers[-1].name]
    assert list(monitor.norms) == names
    assert all(len(v) == 2 and all(n > 0 for n in v) for v in monitor.norms.values())
    model.fit(x, y, epochs=1, verbose=0, callbacks=[monitor])
    assert all(len(v) == 1 for v in monitor.norms.values())


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_every_n_batches_is_validated(value):
    with pytest.raises(ValueError, match="every_n_batches"):
        GradientMonitor(every_n_batches=value)
