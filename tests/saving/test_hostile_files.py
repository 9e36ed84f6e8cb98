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


# ---------------------------------------------------------------- one exception type, and what a file cannot make nerve do
def _unsealed(path):
    """Drop nerve's SHA-256 seal, as a hostile file would: the parser, not the checksum, must refuse what follows."""
    data = bytearray(path.read_bytes())
    if data[:2] == b"PK":
        data[-77:] = b"x" * 77
    else:
        data[:512] = bytes(512)
    path.write_bytes(bytes(data))
    return path


def test_model_file_error_is_the_one_public_type():
    assert nerve.saving.ModelFileError.__mro__[1] is ValueError
    assert "ModelFileError" in nerve.saving.__all__


@pytest.mark.parametrize("schedule", [
    {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", "PWNED"]}, "registered_name": None},
    {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"},
    {"module": "nerve.optimizers.schedules", "class_name": "deserialize", "config": {}, "registered_name": None},
], ids=["class", "function", "not-a-schedule"])
def test_learning_rate_schedule_named_by_a_file_is_not_imported(tmp_path, monkeypatch, schedule):
    # CVE-2025-1550-style: the optimizer's own deserializer imported the module a config names.
    monkeypatch.chdir(tmp_path)
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["optimizer"]["config"]["learning_rate"] = schedule
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(nerve.saving.ModelFileError, match=rf"{path.name}.*learning-rate.*never imports"):
        nerve.models.load_model(path)
    assert not (tmp_path / "PWNED").exists()


def test_learning_rate_schedules_of_nerve_and_custom_objects_still_load(tmp_path):
    def warmup(step):
        return 0.01

    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    decay = nerve.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=decay), loss="mse")
    model.save(tmp_path / "s.keras")
    loaded = nerve.models.load_model(tmp_path / "s.keras")
    assert type(loaded.optimizer._lr_schedule).__name__ == "ExponentialDecay"
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=warmup), loss="mse")
    model.save(tmp_path / "f.keras")
    with pytest.raises(nerve.saving.ModelFileError, match="warmup.*custom_objects"):
        nerve.models.load_model(tmp_path / "f.keras")
    assert nerve.models.load_model(tmp_path / "f.keras", custom_objects={"warmup": warmup}).optimizer._lr_schedule \
        is warmup


def _weights_file(tmp_path):
    model = nerve.Sequential([nerve.Input((4,)), Dense(3)])
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    _unsealed(path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(12, dtype="<f4").tobytes())
    return model, path, secret


def test_hdf5_external_storage_is_not_read(tmp_path):
    model, path, secret = _weights_file(tmp_path)
    with h5py.File(path, "a") as handle:
        del handle["layers/dense/vars/0"]
        handle["layers/dense/vars"].create_dataset("0", shape=(4, 3), dtype="<f4", external=[(str(secret), 0, 48)])
    before = model.get_weights()
    with pytest.raises(nerve.saving.ModelFileError, match=r"w\.weights\.h5.*external file"):
        model.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("link", ["external", "soft"])
def test_hdf5_links_out_of_the_file_are_not_followed(tmp_path, link):
    model, path, _ = _weights_file(tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["vars/0"] = np.full((4, 3), 7.0, "f4")
        handle["vars/1"] = np.zeros(3, "f4")
    with h5py.File(path, "a") as handle:
        del handle["layers/dense"]
        handle["layers/dense"] = h5py.ExternalLink(str(other), "/") if link == "external" else h5py.SoftLink("/vars")
    with pytest.raises(nerve.saving.ModelFileError, match=rf"w\.weights\.h5.*{link}.*link"):
        model.load_weights(path)
    assert not np.any(model.get_weights()[0] == 7.0)


def test_hdf5_virtual_dataset_and_plugin_filter_are_refused(tmp_path):
    model, path, _ = _weights_file(tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["x"] = np.full((4, 3), 7.0, "f4")
    with h5py.File(path, "a") as handle:
        del handle["layers/dense/vars/0"]
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(str(other), "x", shape=(4, 3))
        handle["layers/dense/vars"].create_virtual_dataset("0", layout)
    with pytest.raises(nerve.saving.ModelFileError, match="virtual dataset"):
        model.load_weights(path)
    model, path, _ = _weights_file(tmp_path)
    with h5py.File(path, "a") as handle:
        del handle["layers/dense/vars/1"]
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_chunk((3,))
        plist.set_filter(32004, h5py.h5z.FLAG_OPTIONAL, ())  # LZ4: HDF5 would look for a plugin library
        space = h5py.h5s.create_simple((3,))
        h5py.h5d.create(handle["layers/dense/vars"].id, b"1", h5py.h5t.IEEE_F32LE, space, dcpl=plist).close()
    with pytest.raises(nerve.saving.ModelFileError, match="filter 32004"):
        model.load_weights(path)


def test_a_weight_that_fails_to_read_changes_no_weight(tmp_path):
    model = nerve.Sequential([nerve.Input((4,)), Dense(3), Dense(2)])
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as handle:  # the last weight, checksummed; then one byte of it is damaged
        del handle["layers/dense_1/vars/1"]
        handle["layers/dense_1/vars"].create_dataset("1", data=np.ones(2, "f4"), chunks=(2,), fletcher32=True)
    with h5py.File(path, "r") as handle:
        offset = handle["layers/dense_1/vars/1"].id.get_chunk_info(0).byte_offset
    data = bytearray(_unsealed(path).read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    target = nerve.Sequential([nerve.Input((4,)), Dense(3), Dense(2)])
    before = target.get_weights()
    with pytest.raises(nerve.saving.ModelFileError, match=r"w\.weights\.h5"):
        target.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "C:\\evil", "assets/../../evil"])
def test_archive_member_naming_a_path_out_is_refused(tmp_path, name):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:  # a hostile archive carries no seal
        for member, data in {**members, name: b"x"}.items():
            archive.writestr(member, data)
    with pytest.raises(nerve.saving.ModelFileError, match="points out of the archive"):
        nerve.models.load_model(path)
    assert not (tmp_path.parent / "evil").exists()


def test_archive_member_declaring_absurd_size_is_refused_before_reading(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.getinfo("config.json").file_size = 2**62
    with pytest.raises(nerve.saving.ModelFileError, match=r"config\.json.*declares 4611686018427387904 bytes"):
        nerve.models.load_model(path)


@pytest.mark.parametrize("where", ["units", "batch_shape"])
def test_absurd_shapes_are_refused_before_allocating(where):
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    config = json.loads(model.to_json())
    layers = config["config"]["layers"]
    if where == "units":
        layers[1]["config"]["units"] = 2**40
    else:
        layers[0]["config"]["batch_shape"] = [None, 2**62]
        layers[1].pop("build_config", None)
    with pytest.raises(nerve.saving.ModelFileError, match="over nerve's limit.*before allocating"):
        nerve.models.model_from_json(json.dumps(config))


def test_weights_the_file_does_not_hold_are_not_allocated(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["units"] = 2**26  # 768 MiB of float32, in a 20 kB file
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(nerve.saving.ModelFileError, match="more weights than the file holds"):
        nerve.models.load_model(path)


@pytest.mark.parametrize("text", [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/object/new:subprocess.Popen [['echo', 'pwned']]",
    "!!python/name:builtins.eval ''",
    "class_name: !!python/module:os ''",
])
def test_yaml_tags_that_build_python_objects_are_refused(text):
    with pytest.raises(nerve.saving.ModelFileError, match="YAML"):
        nerve.models.model_from_yaml(text)


def test_configs_nested_too_deep_or_too_big_are_refused():
    model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
    deep = '{"class_name": "Sequential", "config": {"layers": [' * 2000 + model.to_json() + "]}}" * 2000
    with pytest.raises(nerve.saving.ModelFileError, match="nested"):
        nerve.models.model_from_json(deep)
    with pytest.raises(nerve.saving.ModelFileError, match="nested"):
        nerve.models.model_from_json('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(nerve.saving.ModelFileError, match="more than 1000000 values"):
        nerve.models.model_from_yaml(laughs)


def test_config_attribute_of_the_wrong_type_is_refused(tmp_path):
    path = _saved(tmp_path, ".h5")
    with h5py.File(path, "a") as handle:
        value = np.empty(1, dtype=object)
        value[0] = np.arange(3, dtype="int32")
        handle.attrs.create("model_config", value, dtype=h5py.vlen_dtype(np.dtype("int32")))
    _unsealed(path)
    with pytest.raises(nerve.saving.ModelFileError, match=r"m\.h5.*model_config.*not text"):
        nerve.models.load_model(path)


_LIBHDF5_TRAPS = r'''
import struct, sys
import nerve
from nerve.layers import Dense

model = nerve.Sequential([nerve.Input((3,)), Dense(2)])
model.compile(optimizer="sgd", loss="mse")
path = sys.argv[1]
model.save(path)
clean = bytearray(open(path, "rb").read())
clean[:512] = bytes(512)  # no seal: the parser must refuse what follows
heap = clean.find(b"GCOL\x01\x00\x00\x00")
records, at = {}, heap + 16
while at + 16 <= heap + struct.unpack_from("<Q", clean, heap + 8)[0]:
    index, size = struct.unpack_from("<H", clean, at)[0], struct.unpack_from("<Q", clean, at + 8)[0]
    records[index] = at
    at += 16 + (size + 7) // 8 * 8 if index else size
config = open(path, "rb").read().find(b'{"module"')  # the model config's heap record, to find its reference
index = [i for i, a in records.items() if a + 16 <= config < a + 32][0]
reference = clean.find(struct.pack("<QI", heap - 512, index)) - 4

def attempt(label, data):
    open(path, "wb").write(bytes(data))
    try:
        nerve.models.load_model(path)
        print(label, "loaded")
    except nerve.saving.ModelFileError as err:
        print(label, "refused:", str(err).replace(chr(10), " "))
    sys.stdout.flush()

hang = bytearray(clean)
struct.pack_into("<Q", hang, records[0] + 8, 0)  # a free-space record of size 0: libhdf5 loops forever
attempt("hang", hang)
huge = bytearray(clean)
struct.pack_into("<I", huge, reference, 0xFFFFFFFF)  # libhdf5 allocates and zeroes 4 GiB before reading
attempt("4GiB", huge)
attempt("clean", clean)
'''


def test_libhdf5_traps_are_refused_before_libhdf5_reads_them(tmp_path):
    # Found by fuzzing: one changed byte made libhdf5 loop forever, one 4-byte length made it allocate 4 GiB.
    # In a subprocess with a timeout, so a regression fails this test instead of hanging the suite.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _LIBHDF5_TRAPS, str(tmp_path / "m.h5")], capture_output=True,
                         text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["hang"].startswith("refused") and "global heap" in lines["hang"] and "size 0" in lines["hang"]
    assert lines["4GiB"].startswith("refused") and "declares 4294967295 bytes" in lines["4GiB"]
    assert lines["clean"] == "loaded"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_weights_member_over_16_mib_is_read_in_place(tmp_path, compression):
    import tracemalloc

    model = nerve.Sequential([nerve.Input((2048,)), Dense(2100)])  # 17.2 MB of weights
    path = tmp_path / "big.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    assert len(members["model.weights.h5"]) > 16 << 20
    with zipfile.ZipFile(path, "w", compression) as archive:  # as a zip tool rewrites it: no seal
        for name, data in members.items():
            archive.writestr(name, data)
    del members
    tracemalloc.start()
    try:
        loaded = nerve.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
    if compression == zipfile.ZIP_STORED:  # read straight from the archive file: the weights once, not the member too
        assert peak < 26 << 20
