"""Broken and hostile files are refused with a clear error, and nothing in them runs."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import nerve
from nerve.layers import Dense


def _saved(tmp_path, ext=".keras"):
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / f"m{ext}"
    model.save(path)
    return path


def test_truncated_keras_file(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"{path.name}.*(zip|truncated|corrupt)"):
        nerve.models.load_model(path)


def test_truncated_h5_file(tmp_path):
    path = _saved(tmp_path, ".h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match=rf"{path.name}.*(HDF5|truncated|corrupt)"):
        nerve.models.load_model(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match=r"neither a '\.keras' zip nor an HDF5 file"):
        nerve.models.load_model(path)


def _with_config(tmp_path, config):
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", "{}")
    return path


def test_config_naming_os_system_is_refused_and_not_run(tmp_path, monkeypatch):
    import os

    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    path = _with_config(tmp_path, {"module": "os", "class_name": "system", "config": {"command": "echo pwned"}})
    with pytest.raises(ValueError, match=r"Unknown class 'os\.system'.*never imports"):
        nerve.models.load_model(path)
    assert calls == []


def test_layer_of_unregistered_class_is_refused(tmp_path):
    config = {"module": "nerve.models", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "my_module", "class_name": "EvilLayer", "config": {}}]}}
    with pytest.raises(ValueError, match=r"my_module\.EvilLayer.*custom_objects"):
        nerve.models.load_model(_with_config(tmp_path, config))


def test_lambda_style_function_names_are_not_imported(tmp_path):
    config = {"module": "nerve.models", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "nerve.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 2]}},
        {"module": "nerve.layers", "class_name": "Dense", "config": {"units": 1, "activation": "os.system"}}]}}
    with pytest.raises(ValueError, match=r"Unknown activation 'os\.system'"):
        nerve.models.load_model(_with_config(tmp_path, config))


def test_config_that_is_not_json(tmp_path):
    path = tmp_path / "bad.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"\x80\x04\x95 pickle bytes")
    with pytest.raises(ValueError, match="not valid JSON"):
        nerve.models.load_model(path)


def test_weights_file_as_model_says_what_to_do(tmp_path):
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="weights only.*load_weights"):
        nerve.models.load_model(tmp_path / "w.weights.h5")


def test_object_dtype_weights_are_refused(tmp_path):
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    path = tmp_path / "w.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as handle:
        del handle["layers/dense/vars/1"]
        handle["layers/dense/vars"].create_dataset("1", data=np.array([b"ab", b"cd"]))
    with open(path, "r+b") as handle:  # drop nerve's seal: the parser, not the checksum, must refuse it
        handle.write(bytes(512))
    with pytest.raises(ValueError, match="only numbers"):
        model.load_weights(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        nerve.models.load_model(tmp_path / "nope.keras")
