"""fit/evaluate/predict: History, validation_split, averaging, inputs, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers import Dense, Flatten, Input


def _mlp(n_in=4, n_out=3, activation="softmax"):
    return nerve.Sequential([Input((n_in,)), Dense(16, activation="relu"), Dense(n_out, activation=activation)])


def _data(n=100, n_in=4, classes=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n_in)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    return x, np.minimum(y, classes - 1)


def test_history_keys_and_lengths():
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()
    h = model.fit(x, y, epochs=4, validation_split=0.2, verbose=0)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 4 for v in h.history.values()) and h.epoch == [0, 1, 2, 3]
    assert h.params == {"epochs": 4, "steps": 3, "verbose": 0}
    assert model.history is h
    assert all(isinstance(v, float) for v in h.history["loss"])


def test_validation_split_takes_the_last_fraction_before_shuffling():
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data(n=50)
    y_shuffled_guard = y.copy()
    h = model.fit(x, y, epochs=1, batch_size=8, validation_split=0.3, shuffle=True, verbose=0)
    # floor(50 * 0.7) = 35 training samples; the last 15 are the validation set.
    assert h.params["steps"] == 5
    val = model.evaluate(x[35:], y[35:], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == pytest.approx(val["loss"], rel=1e-6)
    assert h.history["val_accuracy"][0] == pytest.approx(val["accuracy"], rel=1e-6)
    np.testing.assert_array_equal(y, y_shuffled_guard)  # the caller's arrays are not shuffled


def test_epoch_loss_is_batch_size_weighted_average():
    model = nerve.Sequential([Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss="mae")
    x = np.zeros((10, 1), "float32")
    y = np.arange(10, dtype="float32").reshape(-1, 1)
    h = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    # Batches [0..3], [4..7], [8, 9]: batch means 1.5, 5.5, 8.5. Weighted: 4.5; unweighted would be 5.17.
    assert h.history["loss"][0] == pytest.approx(4.5)
    assert model.evaluate(x, y, batch_size=3, verbose=0) == pytest.approx(4.5)


def test_evaluate_return_forms_and_metrics_names():
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()
    loss, acc = model.evaluate(x, y, verbose=0)
    assert model.metrics_names == ["loss", "accuracy"]
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert d == {"accuracy": pytest.approx(acc), "loss": pytest.approx(loss)}
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


@pytest.mark.parametrize("metrics", ["accuracy", ["accuracy"], ["acc"], [nerve.metrics.accuracy]])
def test_accuracy_spellings_resolve_from_labels(metrics):
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=metrics)
    x, y = _data()
    h = model.fit(x, y, epochs=2, verbose=0)
    key = "acc" if metrics == ["acc"] else "accuracy"
    assert key in h.history
    probs = model.predict(x, verbose=0)
    expected = float((probs.argmax(1) == y).mean())
    assert model.evaluate(x, y, verbose=0, return_dict=True)[key] == pytest.approx(expected)


def test_accuracy_is_binary_for_sigmoid_and_categorical_for_one_hot():
    x, y = _data()
    binary = _mlp(n_out=1, activation="sigmoid")
    binary.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    yb = (y > 0).astype("float32")
    binary.fit(x, yb, epochs=1, verbose=0)
    p = binary.predict(x, verbose=0)[:, 0]
    assert binary.evaluate(x, yb, verbose=0)[1] == pytest.approx(float(((p > 0.5) == yb).mean()))
    onehot = _mlp()
    onehot.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    y1 = nerve.utils.to_categorical(y, 3)
    onehot.fit(x, y1, epochs=1, verbose=0)
    p = onehot.predict(x, verbose=0)
    assert onehot.evaluate(x, y1, verbose=0)[1] == pytest.approx(float((p.argmax(1) == y).mean()))


def test_same_seed_gives_same_history():
    def run():
        nerve.backend.clear_session()
        nerve.utils.set_random_seed(7)
        model = nerve.Sequential([Input((4,)), Dense(8, activation="relu"), nerve.layers.Dropout(0.3),
                                  Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        x, y = _data()
        return model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0).history

    assert run() == run()


@pytest.mark.parametrize("kind", ["numpy", "torch", "list", "uint8"])
def test_input_kinds(kind):
    x, y = _data(n=40)
    if kind == "torch":
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    elif kind == "list":
        x, y = x.tolist(), y.tolist()
    elif kind == "uint8":
        x = (np.abs(x) * 50).astype("uint8")
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    assert model.predict(x, verbose=0).dtype == np.float32


def test_dataloader_and_generator_inputs():
    x, y = _data(n=64)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True)
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(loader, epochs=2, validation_data=loader, verbose=0)
    assert h.params["steps"] == 4 and len(h.history["val_loss"]) == 2

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    h = model.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0)
    assert h.params["steps"] == 3
    assert model.predict(loader, verbose=0).shape == (64, 3)
    assert len(model.evaluate(loader, verbose=0)) == 2


def test_sample_weight_and_class_weight_scale_the_loss():
    model = nerve.Sequential([Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss="mae")
    x = np.zeros((4, 1), "float32")
    y = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
    sw = np.array([1.0, 0.0, 0.0, 1.0], "float32")
    h = model.fit(x, y, sample_weight=sw, batch_size=4, epochs=1, verbose=0)
    assert h.history["loss"][0] == pytest.approx((1 + 4) / 4)  # Keras: sum(w * loss) / batch size
    clf = _mlp()
    clf.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    xs, ys = _data(n=30)
    base = clf.fit(xs, ys, batch_size=30, epochs=1, verbose=0).history["loss"][0]
    doubled = clf.fit(xs, ys, batch_size=30, epochs=1, verbose=0,
                      class_weight={0: 2.0, 1: 2.0, 2: 2.0}).history["loss"][0]
    assert doubled == pytest.approx(2 * base, rel=1e-5)


def test_initial_epoch_and_max_epochs_env(monkeypatch):
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data()
    h = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
    monkeypatch.setenv("NERVE_MAX_EPOCHS", "2")
    h = model.fit(x, y, epochs=1000, verbose=0)
    assert h.epoch == [0, 1] and h.params["epochs"] == 2


def test_on_batch_methods():
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data(n=16)
    before = model.get_weights()
    loss, acc = model.train_on_batch(x, y)
    assert 0 <= acc <= 1 and loss > 0
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    after = model.get_weights()
    test_loss, _ = model.test_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(after, model.get_weights()))
    assert model.predict_on_batch(x).shape == (16, 3)
    assert test_loss == pytest.approx(model.evaluate(x, y, batch_size=16, verbose=0)[0], rel=1e-6)


def test_uint8_images_and_flatten_train_end_to_end():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 255, size=(64, 8, 8), dtype=np.uint8)
    y = (x.reshape(64, -1).mean(1) > 127).astype("int64")
    model = nerve.Sequential([Flatten(), Dense(8, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x / 255.0, y, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_default_optimizer_is_rmsprop():
    model = _mlp()
    model.compile(loss="sparse_categorical_crossentropy", metrics="accuracy")
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)


def test_learning_rate_can_be_changed_between_fits():
    model = _mlp()
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.0
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_integer_inputs_are_cast_like_keras():
    x, y = _data(n=40)
    xi = (x * 10).astype("int64")
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(xi, y, epochs=1, verbose=0)
    assert model.predict(xi, verbose=0).shape == (40, 3)
    assert model(xi).dtype == torch.float32 and model(xi.astype("uint8")).shape == (40, 3)


def test_steps_limit_array_batches():
    x, y = _data(n=100)
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, batch_size=10, steps_per_epoch=2, epochs=2, verbose=0)
    assert h.params["steps"] == 2 and int(model.optimizer.iterations) == 4
    assert model.predict(x, batch_size=10, steps=2, verbose=0).shape == (20, 3)


def test_generator_first_batch_is_not_lost_by_deferred_build():
    x, y = _data(n=40)

    def gen():
        for i in range(0, 40, 16):
            yield x[i:i + 16], y[i:i + 16]

    model = nerve.Sequential([Dense(3, activation="softmax")])
    assert model.predict(gen(), verbose=0).shape == (40, 3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fresh = nerve.Sequential([Dense(3, activation="softmax")])
    fresh.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fresh.fit(gen(), epochs=1, verbose=0)
    assert int(fresh.optimizer.iterations) == 3


def test_callbacks_get_real_dicts_captured_at_batch_end():
    seen, begins = [], []

    class Keep(nerve.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs)

        def on_epoch_begin(self, epoch, logs=None):
            begins.append(logs)
            logs["note"] = "writable"

        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 42.0

    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data(n=40)
    h = model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0, callbacks=[Keep()])
    assert all(type(logs) is dict for logs in seen) and begins == [{"note": "writable"}]
    assert len({round(logs["loss"], 6) for logs in seen}) == 4  # each batch's own running value
    assert h.history["extra"] == [42.0]  # keys added by a callback reach the History


def test_fully_frozen_model_fits_with_a_warning():
    model = _mlp()
    model.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data(n=20)
    before = model.get_weights()
    with pytest.warns(UserWarning, match="no trainable weights"):
        h = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_per_timestep_sparse_labels():
    model = nerve.Sequential([Input((5, 8)), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(12, 5, 8).astype("float32")
    y = np.random.randint(0, 3, (12, 5))
    h = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])


def test_images_without_channel_axis_fit_an_input_with_one_channel():
    model = nerve.Sequential([Input((8, 8, 1)), nerve.layers.Conv2D(2, 3), nerve.layers.Flatten(), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.zeros((4, 8, 8), "uint8")  # as mnist.load_data() returns them
    model.fit(x, np.zeros((4, 1)), verbose=0)
    assert model.predict(x, verbose=0).shape == (4, 1)
    assert np.isfinite(model.evaluate(x, np.zeros((4, 1)), verbose=0))
