"""Save/load round trips in every format: predictions, compile settings and optimizer state survive."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import nerve
from nerve.layers import Dense, Dropout, Flatten


def _sequential():
    model = nerve.Sequential([nerve.Input((4,)), Dense(8, activation="relu"), Dropout(0.2),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _functional():
    a, b = nerve.Input((4,), name="a"), nerve.Input((3,), name="b")
    shared = Dense(5, activation="tanh", name="shared")
    h = shared(a)
    h2 = shared(nerve.layers.Dense(4, name="proj")(b))
    out1 = Dense(3, activation="softmax", name="cls")(h)
    out2 = Dense(1, name="reg")(h2)
    model = nerve.Model([a, b], [out1, out2])
    model.compile(optimizer=nerve.optimizers.SGD(0.05, momentum=0.9), loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]], loss_weights=[1.0, 0.3])
    return model


X = np.random.default_rng(0).random((32, 4), dtype=np.float32)
Y = np.random.default_rng(1).integers(0, 3, 32)
XB = np.random.default_rng(2).random((32, 3), dtype=np.float32)
YR = np.random.default_rng(3).random((32, 1), dtype=np.float32)


@pytest.mark.parametrize("ext", [".keras", ".h5", ".hdf5"])
def test_sequential_round_trip_and_resume(ext, tmp_path):
    model = _sequential()
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = tmp_path / "deep" / f"model{ext}"
    model.save(path)
    loaded = nerve.models.load_model(path)
    np.testing.assert_array_equal(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.metrics_names[:1] == ["loss"] and type(loaded.optimizer).__name__ == "Adam"
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 8
    # Training resumes exactly: same optimizer moments, same step count (same dropout masks too).
    nerve.utils.set_random_seed(7)
    model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    nerve.utils.set_random_seed(7)
    loaded.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_functional_round_trip_with_shared_layer(ext, tmp_path):
    model = _functional()
    model.fit([X, XB], [Y, YR], epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / f"f{ext}")
    loaded = nerve.models.load_model(tmp_path / f"f{ext}")
    for p, q in zip(model.predict([X, XB], verbose=0), loaded.predict([X, XB], verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert len(loaded.weights) == len(model.weights)
    assert loaded.evaluate([X, XB], [Y, YR], verbose=0, return_dict=True) == pytest.approx(
        model.evaluate([X, XB], [Y, YR], verbose=0, return_dict=True))


def test_load_without_compile(tmp_path):
    model = _sequential()
    model.save(tmp_path / "m.keras")
    loaded = nerve.models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled
    np.testing.assert_array_equal(model.predict(X, verbose=0), loaded.predict(X, verbose=0))


def test_keras_file_layout(tmp_path):
    _sequential().save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Sequential" and config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    assert [entry["class_name"] for entry in config["config"]["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]


@pytest.mark.parametrize("name", ["my_model_weights.h5", "w.weights.h5"])
def test_weights_only_round_trip(name, tmp_path):
    model = _sequential()
    model.save_weights(tmp_path / name)
    other = _sequential()
    other.load_weights(tmp_path / name)
    np.testing.assert_array_equal(model.predict(X, verbose=0), other.predict(X, verbose=0))


def test_load_weights_names_the_first_mismatching_layer(tmp_path):
    _sequential().save_weights(tmp_path / "w.weights.h5")
    other = nerve.Sequential([nerve.Input((4,)), Dense(9, activation="relu", name="wide"), Dropout(0.2),
                              Dense(3, activation="softmax")])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"'wide'.*\(4, 9\).*\(4, 8\)"):
        other.load_weights(tmp_path / "w.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))


def test_load_weights_from_a_full_model_file(tmp_path):
    model = _sequential()
    model.save(tmp_path / "full.h5")
    other = _sequential()
    other.load_weights(tmp_path / "full.h5")
    np.testing.assert_array_equal(model.predict(X, verbose=0), other.predict(X, verbose=0))


def test_deferred_sequential_saves_after_build(tmp_path):
    model = nerve.Sequential([Flatten(), Dense(4, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(4).integers(0, 255, (10, 3, 3)).astype("uint8")
    model.fit(images, np.zeros(10, "int64"), verbose=0)
    model.save(tmp_path / "d.h5")
    loaded = nerve.models.load_model(tmp_path / "d.h5")
    np.testing.assert_array_equal(model.predict(images, verbose=0), loaded.predict(images, verbose=0))


def test_json_and_yaml_architecture(tmp_path):
    model = _functional()
    rebuilt = nerve.models.model_from_json(model.to_json())
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    seq = _sequential()
    again = nerve.models.model_from_yaml(seq.to_yaml())
    assert again.count_params() == seq.count_params()
    assert "!!python" not in seq.to_yaml()


def test_subclassed_model_without_config_saves_weights_only(tmp_path):
    class Net(nerve.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.zeros((1, 3)))
    with pytest.raises(NotImplementedError, match="save_weights"):
        net.save(tmp_path / "n.keras")
    net.save_weights(tmp_path / "n.weights.h5")
    other = Net()
    other(np.zeros((1, 3)))
    other.load_weights(tmp_path / "n.weights.h5")
    np.testing.assert_array_equal(net.get_weights()[0], other.get_weights()[0])


def test_custom_layer_registered_or_passed(tmp_path):
    @nerve.saving.register_nerve_serializable(package="Tests")
    class Scale(nerve.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = nerve.Sequential([nerve.Input((2,)), Scale(3.0), Dense(1)])
    model.save(tmp_path / "c.keras")
    loaded = nerve.models.load_model(tmp_path / "c.keras")
    assert loaded.layers[0].factor == 3.0
    np.testing.assert_array_equal(model.predict(np.ones((1, 2)), verbose=0), loaded.predict(np.ones((1, 2)), verbose=0))


def test_overwrite_false_refuses(tmp_path):
    model = _sequential()
    model.save(tmp_path / "m.h5")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "m.h5", overwrite=False)


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"'\.keras'.*'\.h5'"):
        _sequential().save(tmp_path / "model.pt")


def test_custom_activation_function_via_custom_objects(tmp_path):
    def cube(x):
        return x ** 3

    model = nerve.Sequential([nerve.Input((2,)), Dense(2, activation=cube)])
    model.save(tmp_path / "cube.keras")
    with pytest.raises(ValueError, match="Unknown activation 'cube'"):
        nerve.models.load_model(tmp_path / "cube.keras")
    loaded = nerve.models.load_model(tmp_path / "cube.keras", custom_objects={"cube": cube})
    np.testing.assert_array_equal(model.predict(np.ones((1, 2)), verbose=0), loaded.predict(np.ones((1, 2)), verbose=0))


def test_frozen_layers_stay_frozen_after_reload(tmp_path):
    model = nerve.Sequential([nerve.Input((3,)), Dense(4, trainable=False, name="frozen"), Dense(1)])
    model.save(tmp_path / "f.keras")
    loaded = nerve.models.load_model(tmp_path / "f.keras")
    assert not loaded.get_layer("frozen").trainable and len(loaded.trainable_weights) == 2
