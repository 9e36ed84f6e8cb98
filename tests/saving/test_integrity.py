"""Every file nerve writes carries a SHA-256 of its bytes, checked before the file is read."""

from __future__ import annotations

import os
import zipfile

import h5py
import numpy as np
import pytest

import nerve
from nerve.callbacks import BackupAndRestore
from nerve.saving import integrity
from nerve.saving import saving_api as api


def _model() -> nerve.Model:
    model = nerve.Sequential([nerve.Input((4,)), nerve.layers.Dense(3, activation="relu"), nerve.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    return model


def _save_keras(model, folder):
    path = folder / "m.keras"
    model.save(path)
    return path


def _save_h5(model, folder):
    path = folder / "m.h5"
    model.save(path)
    return path


def _save_weights(model, folder):
    path = folder / "m.weights.h5"
    model.save_weights(path)
    return path


def _save_backup(model, folder):
    callback = BackupAndRestore(folder / "backup")
    callback.set_model(model)
    callback._backup(0)
    return callback.path


WRITERS = {"keras": _save_keras, "h5": _save_h5, "weights": _save_weights, "backup": _save_backup}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_written_file_is_sealed_and_verifies(tmp_path, kind):
    path = WRITERS[kind](_model(), tmp_path)
    assert integrity.verify(path) is True


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_sealed_files_stay_plain_zip_or_hdf5(tmp_path, kind):
    path = WRITERS[kind](_model(), tmp_path)
    if kind == "keras":
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
            assert archive.comment.startswith(b"nerve-sha256:") and len(archive.comment) == 13 + 64
    else:
        with h5py.File(path, "r") as handle:
            assert handle.userblock_size == integrity.H5_USERBLOCK
            assert len(handle.keys()) > 0


def _flip_byte_in_payload(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2  # inside the hashed bytes for both layouts
    data[middle] ^= 0x01
    path.write_bytes(bytes(data))


def _load(kind, path):
    if kind in ("keras", "h5"):
        return nerve.models.load_model(path)
    model = _model()
    if kind == "weights":
        return model.load_weights(path)
    callback = BackupAndRestore(path.parent)
    callback.set_model(model)
    return callback.on_train_begin()


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_one_flipped_bit_is_refused_before_parsing(tmp_path, kind):
    path = WRITERS[kind](_model(), tmp_path)
    _flip_byte_in_payload(path)
    with pytest.raises(integrity.IntegrityError, match=rf"'{path}' is damaged.*SHA-256"):
        _load(kind, path)


def test_unsealed_files_still_load(tmp_path):
    path = _save_h5(_model(), tmp_path)
    with open(path, "r+b") as handle:  # as a file from Keras or an older nerve: no seal
        handle.write(bytes(integrity.H5_USERBLOCK))
    assert integrity.verify(path) is False
    assert nerve.models.load_model(path).count_params() == 4 * 3 + 3 + 3 * 2 + 2


def test_seal_refuses_a_file_without_room(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="no room for a seal"):
        integrity.seal(path)


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path, monkeypatch, kind):
    model = _model()
    path = WRITERS[kind](model, tmp_path)
    before = path.read_bytes()
    model.layers[0].kernel.assign(np.full((4, 3), 7.0, "float32"))

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    # The failure comes while the file is being written: in the zip's writes, or in HDF5's.
    monkeypatch.setattr(*((zipfile.ZipFile, "writestr", fail) if kind == "keras" else (api, "write_weights", fail)))
    with pytest.raises(OSError, match=rf"Could not save '{path}': No space left on device \(the previous file is "
                                      r"unchanged\)"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [path.name]
    assert not np.allclose(nerve.models.load_model(path).layers[0].kernel.numpy(), 7.0)
