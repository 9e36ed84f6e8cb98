"""Models and weights saved by Keras load in nerve: Keras 3 `.keras`, legacy `.h5` (Keras 3 writer and tf.keras 2)."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import nerve
from nerve.layers import Dense

RNG = np.random.default_rng(0)
XA = RNG.random((16, 4), dtype=np.float32)
XB = RNG.random((16, 6), dtype=np.float32)
Y = RNG.integers(0, 3, 16)


# ---------------------------------------------------------------- Keras models (the oracle)
def keras_sequential(keras, compiled=True):
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01)),
        keras.layers.Dropout(0.3),
        keras.layers.Reshape((2, 4)),
        keras.layers.Activation("tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    if compiled:
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(XA, Y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return model


def keras_functional(keras, compiled=True):
    """Two inputs, two outputs, one layer shared by both branches."""
    a, b = keras.Input((4,), name="a"), keras.Input((6,), name="b")
    shared = keras.layers.Dense(5, activation="tanh", name="shared")
    h1 = shared(a)
    h2 = shared(keras.layers.Dense(4, name="proj")(b))
    o1 = keras.layers.Dense(3, activation="softmax", name="o1")(h1)
    h2 = keras.layers.Activation("sigmoid", name="activation")(keras.layers.Reshape((5, 1), name="reshape")(h2))
    o2 = keras.layers.Flatten(name="o2")(h2)
    model = keras.Model([a, b], [o1, o2])
    if compiled:
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                      loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5])
        model.fit([XA, XB], [Y, XB[:, :5]], epochs=2, batch_size=8, verbose=0, shuffle=False)
    return model


def _inputs(kind):
    return XA if kind == "sequential" else [XA, XB]


def _assert_same_predictions(keras_model, nerve_model, x):
    expected = keras_model.predict(x, verbose=0)
    got = nerve_model.predict(x, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-5, atol=1e-5)


def _save(keras, model, path):
    if str(path).endswith(".keras"):
        model.save(path)
    else:  # what model.save('x.h5') runs in Keras 3: the legacy HDF5 writer
        from keras.src.legacy.saving import legacy_h5_format

        legacy_h5_format.save_model_to_hdf5(model, str(path))


# ---------------------------------------------------------------- Keras 3 files
@pytest.mark.parametrize("ext", [".keras", ".h5"])
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_keras3_model_loads_with_same_predictions(keras, tmp_path, kind, ext):
    keras_model = (keras_sequential if kind == "sequential" else keras_functional)(keras)
    path = tmp_path / f"model{ext}"
    _save(keras, keras_model, path)
    model = nerve.models.load_model(path)
    assert [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"] == \
        [layer.name for layer in keras_model.layers if type(layer).__name__ != "InputLayer"]
    _assert_same_predictions(keras_model, model, _inputs(kind))
    # Compile settings came across.
    assert model.compiled
    assert type(model.optimizer).__name__ == type(keras_model.optimizer).__name__
    assert np.isclose(float(model.optimizer.learning_rate), float(keras_model.optimizer.learning_rate))
    assert int(model.optimizer.iterations) == int(keras_model.optimizer.iterations) == 4
    if kind == "sequential":
        assert model._compile_args["loss"] == "sparse_categorical_crossentropy"
        assert model._compile_args["metrics"] == ["accuracy"]
        assert model.losses  # the L2 kernel regularizer came across
    else:
        assert model._compile_args["loss_weights"] == [1.0, 0.5]


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_keras3_optimizer_state_resumes_exactly(keras, tmp_path, ext):
    keras_model = keras_sequential(keras)
    path = tmp_path / f"model{ext}"
    _save(keras, keras_model, path)
    model = nerve.models.load_model(path)
    model.layers[1].rate = 0.0  # no dropout noise: both frameworks take the same step
    keras_model.layers[1].rate = 0.0
    keras_model.train_on_batch(XA, Y)
    model.train_on_batch(XA, Y)
    for k, n in zip(keras_model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(n, k, rtol=1e-5, atol=1e-6)


def test_keras3_model_with_compile_objects(keras, tmp_path):
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9)
    keras_model.compile(optimizer=keras.optimizers.RMSprop(schedule),
                        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                        metrics=[keras.metrics.AUC(), "accuracy", keras.metrics.TopKCategoricalAccuracy(k=2)])
    keras_model.save(tmp_path / "m.keras")
    model = nerve.models.load_model(tmp_path / "m.keras")
    assert type(model.optimizer).__name__ == "RMSprop"
    assert type(model._compile_args["loss"]).__name__ == "CategoricalCrossentropy"
    assert model._compile_args["loss"].label_smoothing == pytest.approx(0.1)
    assert [getattr(m, "name", m) for m in model._compile_args["metrics"]] == \
        ["auc", "accuracy", "top_k_categorical_accuracy"]


def test_keras3_uncompiled_model_and_compile_false(keras, tmp_path):
    keras_model = keras_functional(keras, compiled=False)
    keras_model.save(tmp_path / "m.keras")
    model = nerve.models.load_model(tmp_path / "m.keras")
    assert not model.compiled
    _assert_same_predictions(keras_model, model, [XA, XB])
    keras_functional(keras).save(tmp_path / "c.keras")
    assert not nerve.models.load_model(tmp_path / "c.keras", compile=False).compiled


def test_keras3_nested_sequential_in_functional(keras, tmp_path):
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"), keras.layers.Dense(2)],
                             name="inner")
    x = keras.Input((4,))
    keras_model = keras.Model(x, keras.layers.Activation("softmax")(inner(x)))
    for ext in (".keras", ".h5"):
        _save(keras, keras_model, tmp_path / f"m{ext}")
        _assert_same_predictions(keras_model, nerve.models.load_model(tmp_path / f"m{ext}"), XA)


def nerve_twin(kind):
    """The architecture of keras_sequential/keras_functional, built in nerve code with other layer names."""
    layers = nerve.layers
    if kind == "sequential":
        return nerve.Sequential([nerve.Input((4,)), Dense(8, activation="relu", name="hidden"), layers.Dropout(0.3),
                                 layers.Reshape((2, 4)), layers.Activation("tanh"), layers.Flatten(),
                                 Dense(3, activation="softmax", name="out")])
    a, b = nerve.Input((4,)), nerve.Input((6,))
    shared = Dense(5, activation="tanh", name="common")
    h1 = shared(a)
    h2 = shared(Dense(4, name="projection")(b))
    o1 = Dense(3, activation="softmax", name="first")(h1)
    o2 = layers.Flatten()(layers.Activation("sigmoid")(layers.Reshape((5, 1))(h2)))
    return nerve.Model([a, b], [o1, o2])


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_keras3_weights_file_into_nerve_model(keras, tmp_path, kind):
    keras_model = (keras_sequential if kind == "sequential" else keras_functional)(keras, compiled=False)
    keras_model.save_weights(tmp_path / "w.weights.h5")
    keras_model.save(tmp_path / "m.keras")
    for name in ("w.weights.h5", "m.keras"):
        model = nerve_twin(kind)
        model.load_weights(tmp_path / name)
        _assert_same_predictions(keras_model, model, _inputs(kind))


def test_keras_json_config_builds(keras):
    keras_model = keras_functional(keras, compiled=False)
    model = nerve.models.model_from_json(keras_model.to_json())
    assert [w.shape for w in model.weights] == [tuple(w.shape) for w in keras_model.weights]


def test_legacy_weights_file_loads_by_layer_order(keras, tmp_path):
    from keras.src.legacy.saving import legacy_h5_format

    keras_model = keras_sequential(keras, compiled=False)
    with h5py.File(tmp_path / "w.h5", "w") as handle:  # Keras 2's model.save_weights('w.h5') layout
        legacy_h5_format.save_weights_to_hdf5_group(handle, keras_model)
    model = nerve_twin("sequential")
    model.load_weights(tmp_path / "w.h5")
    _assert_same_predictions(keras_model, model, XA)
    wrong = nerve.Sequential([nerve.Input((4,)), Dense(8), Dense(4)])
    with pytest.raises(ValueError, match=r"does not match the file.*\(8, 4\).*\(8, 3\)"):
        wrong.load_weights(tmp_path / "w.h5")
    assert not np.allclose(wrong.layers[0].get_weights()[0], keras_model.layers[0].get_weights()[0])


# ---------------------------------------------------------------- tf.keras 2 files, written by hand
def _dense_config(name, units, activation, **extra):
    return {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
            "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None, **extra}


def _write_keras2_h5(path, model_config, training_config, weights):
    """A file laid out as tf.keras 2.x's model.save('x.h5') lays it out; weights: [(layer, [(name, array)])]."""
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "2.12.0"
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["model_config"] = json.dumps({**model_config, "keras_version": "2.12.0",
                                                   "backend": "tensorflow"}).encode("utf8")
        if training_config is not None:
            handle.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        group = handle.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode("utf8") for n, _ in weights])
        group.attrs["backend"], group.attrs["keras_version"] = b"tensorflow", b"2.12.0"
        for layer, values in weights:
            sub = group.create_group(layer)
            sub.attrs["weight_names"] = np.array([w.encode("utf8") for w, _ in values])
            for name, value in values:
                sub.create_dataset(name, data=value)
        opt = handle.create_group("optimizer_weights")
        opt.attrs["weight_names"] = np.array([b"Adam/iter:0"])
        opt.create_dataset("Adam/iter:0", data=np.int64(3))


def test_keras2_sequential_h5(keras, tmp_path):
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                    keras.layers.Dropout(0.5), keras.layers.Dense(3, activation="softmax")])
    (k1, b1), (k2, b2) = keras_model.layers[0].get_weights(), keras_model.layers[2].get_weights()
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        # Keras 2.2-style: the first layer carries batch_input_shape (no InputLayer entry).
        {"class_name": "Dense", "config": _dense_config("dense_1", 8, "relu", batch_input_shape=[None, 4])},
        {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True, "rate": 0.5,
                                             "noise_shape": None, "seed": None}},
        {"class_name": "Dense", "config": _dense_config("dense_2", 3, "softmax")},
    ]}}
    training = {"loss": "categorical_crossentropy", "loss_weights": None, "weighted_metrics": None,
                "metrics": [{"class_name": "MeanMetricWrapper",
                             "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}],
                "optimizer_config": {"class_name": "Adam", "config": {"lr": 0.002, "beta_1": 0.9, "beta_2": 0.999,
                                                                      "decay": 0.0, "epsilon": 1e-07,
                                                                      "amsgrad": False}}}
    path = tmp_path / "keras2.h5"
    _write_keras2_h5(path, config, training, [
        ("dense_1", [("dense_1/kernel:0", k1), ("dense_1/bias:0", b1)]), ("dropout_1", []),
        ("dense_2", [("dense_2/kernel:0", k2), ("dense_2/bias:0", b2)])])
    with pytest.warns(UserWarning, match="optimizer state of this Keras 2.12.0 file is not restored"):
        model = nerve.models.load_model(path)
    _assert_same_predictions(keras_model, model, XA)
    assert [layer.name for layer in model.layers] == ["dense_1", "dropout_1", "dense_2"]
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)
    assert model._compile_args["metrics"] == ["accuracy"]
    assert model.fit(XA, np.eye(3)[Y], epochs=1, verbose=0).history["loss"]

    # The same file through load_weights (by layer order, as Keras 2 does).
    plain = nerve.Sequential([nerve.Input((4,)), Dense(8, activation="relu"), nerve.layers.Dropout(0.5),
                              Dense(3, activation="softmax")])
    plain.load_weights(path)
    _assert_same_predictions(keras_model, plain, XA)


def test_keras2_functional_h5_multi_io_shared_layer(keras, tmp_path):
    keras_model = keras_functional(keras, compiled=False)
    w = {layer.name: layer.get_weights() for layer in keras_model.layers}

    def entry(class_name, config, inbound):
        return {"class_name": class_name, "config": config, "name": config["name"], "inbound_nodes": inbound}

    def input_entry(name, dim):
        return entry("InputLayer", {"batch_input_shape": [None, dim], "dtype": "float32", "sparse": False,
                                    "ragged": False, "name": name}, [])

    layers = [
        input_entry("a", 4), input_entry("b", 6),
        entry("Dense", _dense_config("proj", 4, "linear"), [[["b", 0, 0, {}]]]),
        entry("Dense", _dense_config("shared", 5, "tanh"), [[["a", 0, 0, {}]], [["proj", 0, 0, {}]]]),
        entry("Reshape", {"name": "reshape", "trainable": True, "dtype": "float32", "target_shape": [5, 1]},
              [[["shared", 1, 0, {}]]]),
        entry("Activation", {"name": "activation", "trainable": True, "dtype": "float32", "activation": "sigmoid"},
              [[["reshape", 0, 0, {}]]]),
        entry("Dense", _dense_config("o1", 3, "softmax"), [[["shared", 0, 0, {}]]]),
        entry("Flatten", {"name": "o2", "trainable": True, "dtype": "float32", "data_format": "channels_last"},
              [[["activation", 0, 0, {}]]]),
    ]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [["o1", 0, 0], ["o2", 0, 0]]}}
    training = {"loss": ["sparse_categorical_crossentropy", "mse"], "metrics": None, "weighted_metrics": None,
                "loss_weights": [1.0, 0.5],
                "optimizer_config": {"class_name": "SGD", "config": {
                    "name": "SGD", "learning_rate": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": None,
                    "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                    "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
                    "is_legacy_optimizer": False}}}
    weights = [(n, [(f"{n}/{p}:0", v) for p, v in zip(("kernel", "bias"), w[n])])
               for n in ("a", "b", "proj", "shared", "reshape", "activation", "o1", "o2")]
    path = tmp_path / "keras2_functional.h5"
    _write_keras2_h5(path, config, training, weights)
    with pytest.warns(UserWarning, match="optimizer starts fresh"):
        model = nerve.models.load_model(path)
    _assert_same_predictions(keras_model, model, [XA, XB])
    assert model._compile_args["loss_weights"] == [1.0, 0.5] and type(model.optimizer).__name__ == "SGD"
    shared = [layer for layer in model.layers if layer.name == "shared"][0]
    assert len(shared._inbound_nodes) == 2


def test_keras2_file_with_wrong_weight_shapes_names_the_layer(keras, tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": _dense_config("d", 2, "linear", batch_input_shape=[None, 4])}]}}
    path = tmp_path / "bad.h5"
    _write_keras2_h5(path, config, None, [("d", [("d/kernel:0", np.zeros((3, 2), np.float32)),
                                                  ("d/bias:0", np.zeros(2, np.float32))])])
    with pytest.raises(ValueError, match=r"Layer 'd' \(Dense\).*\(4, 2\).*\(3, 2\)"):
        nerve.models.load_model(path)


# ---------------------------------------------------------------- what is refused, and how
def test_unsupported_layer_is_named(keras, tmp_path):
    keras_model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="my_lstm"),
                                    keras.layers.Dense(1)])
    keras_model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"layer 'my_lstm' \(LSTM\).*keras\.layers\.LSTM.*not support"):
        nerve.models.load_model(tmp_path / "m.keras")


def test_lambda_layer_is_refused_without_running_its_code(keras, tmp_path):
    sentinel = tmp_path / "ran.txt"

    def touch(x):
        sentinel.write_text("ran")
        return x * 2.0

    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(touch, name="double")])
    for ext in (".keras", ".h5"):
        _save(keras, keras_model, tmp_path / f"m{ext}")
        sentinel.unlink(missing_ok=True)
        with pytest.raises(ValueError, match=r"layer 'double' \(Lambda\).*not supported.*never runs code"):
            nerve.models.load_model(tmp_path / f"m{ext}")
        assert not sentinel.exists()


@pytest.mark.parametrize("key, value, message", [
    ("quantization_config", {"mode": "int8"}, "quantization_config"),
    ("lora_rank", 4, "lora_rank"),
    ("made_up_option", True, "made_up_option"),
    ("kernel_constraint", {"class_name": "MaxNorm", "config": {"max_value": 2}}, "constraint"),
    ("kernel_initializer", {"class_name": "GlorotUniform", "config": {"seed": None, "input_axes": [0]}},
     "input_axes"),
    ("dtype", {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}, "mixed_float16"),
])
def test_keras_only_settings_that_matter_are_refused(keras, tmp_path, key, value, message):
    keras_model = keras_sequential(keras, compiled=False)
    keras_model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["layers"][1]["config"][key] = value
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=rf"layer 'dense(_\d+)?' \(Dense\).*{message}"):
        nerve.models.load_model(tmp_path / "edited.keras")


def test_nerve_files_are_not_taken_for_keras_files(tmp_path):
    model = nerve.Sequential([nerve.Input((4,)), Dense(2)])
    model.save(tmp_path / "n.keras")
    model.save(tmp_path / "n.h5")
    with zipfile.ZipFile(tmp_path / "n.keras") as archive:
        assert "nerve_version" in json.loads(archive.read("metadata.json"))
    for name in ("n.keras", "n.h5"):
        np.testing.assert_array_equal(nerve.models.load_model(tmp_path / name).predict(XA, verbose=0),
                                      model.predict(XA, verbose=0))


def test_frozen_keras_layer_stays_frozen(keras, tmp_path):
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, trainable=False, name="frozen"),
                                    keras.layers.Dense(2)])
    for ext in (".keras", ".h5"):
        _save(keras, keras_model, tmp_path / f"m{ext}")
        model = nerve.models.load_model(tmp_path / f"m{ext}")
        assert [layer.trainable for layer in model.layers] == [False, True]
        assert len(model.trainable_weights) == 2


def test_corrupted_weights_in_keras_archive(keras, tmp_path):
    keras_sequential(keras, compiled=False).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data[:200] if name == "model.weights.h5" else data)
    with pytest.raises(ValueError, match=r"bad\.keras.*model\.weights\.h5 cannot be read"):
        nerve.models.load_model(tmp_path / "bad.keras")


# ---------------------------------------------------------------- layers beyond Dense, with no per-layer code
def _layer_classes(**where):
    found = {}
    for module, names in where.items():
        mod = pytest.importorskip(f"nerve.layers.{module}", reason=f"nerve.layers.{module} is not written yet")
        for name in names:
            if not hasattr(mod, name):
                pytest.skip(f"nerve.layers.{module}.{name} is not written yet")
            found[name] = getattr(mod, name)
    return found


def test_keras3_cnn_with_batchnorm_merge_and_embedding(keras, tmp_path):
    custom = _layer_classes(conv=["Conv2D"], pooling=["MaxPooling2D", "GlobalAveragePooling2D"],
                            batch_normalization=["BatchNormalization"], merging=["Add", "Concatenate"],
                            embedding=["Embedding"])
    image, tokens = keras.Input((8, 8, 3)), keras.Input((5,), dtype="int32")
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3, padding="same", activation="relu")(image))
    x = keras.layers.MaxPooling2D()(keras.layers.Add()([x, keras.layers.Conv2D(4, 1)(image)]))
    e = keras.layers.Flatten()(keras.layers.Embedding(10, 2)(tokens))
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(x), e]))
    keras_model = keras.Model([image, tokens], out)
    keras_model.compile(optimizer="adam", loss="mse")
    xi = RNG.random((6, 8, 8, 3), dtype=np.float32)
    xt = RNG.integers(0, 10, (6, 5)).astype("int32")
    keras_model.fit([xi, xt], RNG.random((6, 2)), verbose=0)  # moving statistics move away from 0/1
    for ext in (".keras", ".h5"):
        _save(keras, keras_model, tmp_path / f"cnn{ext}")
        model = nerve.models.load_model(tmp_path / f"cnn{ext}", custom_objects=custom)
        _assert_same_predictions(keras_model, model, [xi, xt])


def test_keras2_batchnorm_config_translates():
    from nerve.saving.keras_config import translate_config

    _layer_classes(batch_normalization=["BatchNormalization"])
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "BatchNormalization", "config": {
            "name": "bn", "trainable": True, "dtype": "float32", "batch_input_shape": [None, 3], "axis": [1],
            "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
            "beta_initializer": {"class_name": "Zeros", "config": {}},
            "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
            "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
            "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99, "fused": None,
            "virtual_batch_size": None, "adjustment": None}}]}}
    from nerve.layers.batch_normalization import BatchNormalization

    translated = translate_config(config, {"BatchNormalization": BatchNormalization})
    assert translated["config"]["layers"][0] == {"class_name": "InputLayer",
                                                 "config": {"batch_shape": [None, 3], "name": "bn_input",
                                                            "dtype": "float32"}}
    bn = translated["config"]["layers"][1]["config"]
    assert bn["axis"] == 1 and not {"fused", "virtual_batch_size", "adjustment"} & set(bn)
    config["config"]["layers"][0]["config"]["virtual_batch_size"] = 8
    with pytest.raises(ValueError, match=r"layer 'bn' \(BatchNormalization\).*virtual_batch_size=8"):
        translate_config(config, {"BatchNormalization": BatchNormalization})


def test_keras2_optimizer_spellings():
    from nerve.saving.keras_config import compile_settings

    settings = compile_settings({"optimizer_config": {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "learning_rate": 0.01, "jit_compile": True, "is_legacy_optimizer": False}},
        "loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mean_squared_error"}}})
    assert settings["optimizer"] == {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.01}}
    assert settings["loss"]["config"]["reduction"] == "sum_over_batch_size"
    with pytest.raises(ValueError, match="decay=0.1"):
        compile_settings({"optimizer_config": {"class_name": "SGD", "config": {"lr": 0.1, "decay": 0.1}}})


def test_keras2_file_whose_model_has_no_input_shape_is_refused(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": _dense_config("d", 2, "linear")}]}}
    path = tmp_path / "unbuilt.h5"
    _write_keras2_h5(path, config, None, [("d", [("d/kernel:0", np.zeros((4, 2), np.float32)),
                                                  ("d/bias:0", np.zeros(2, np.float32))])])
    with pytest.raises(ValueError, match=r"weights for layers \['d'\].*has not built"):
        nerve.models.load_model(path)
