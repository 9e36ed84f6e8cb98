"""ModelCheckpoint with a stub model: file names, best-only saving, Keras's messages, errors, batch saving."""

from __future__ import annotations

import os
import pathlib

import pytest
from callbacks_testutil import StubModel, drive

from nerve.callbacks import ModelCheckpoint
from nerve.callbacks.model_checkpoint import template_fields

VAL_ACC = [0.5012, 0.6049, 0.5977, 0.7351]


def names(out):
    return [os.path.basename(p) for _, p in out["model"].saved]


def test_seed0_template_is_filled_with_one_based_epoch_and_formatted_floats(tmp_path):
    path = str(tmp_path / "digit_model" / "dm_{epoch:02d}_{val_accuracy:0.2f}.hdf5")
    out = drive(ModelCheckpoint(filepath=path, verbose=0, save_best_only=True, monitor="val_accuracy"),
                VAL_ACC, monitor="val_accuracy")
    assert names(out) == ["dm_01_0.50.hdf5", "dm_02_0.60.hdf5", "dm_04_0.74.hdf5"]
    assert sorted(os.listdir(tmp_path / "digit_model")) == names(out)  # the missing folder was created


def test_every_epoch_is_saved_without_save_best_only(tmp_path):
    out = drive(ModelCheckpoint(str(tmp_path / "m_{epoch}_{loss:.1f}.h5")), [0.3, 0.2, 0.4])
    assert names(out) == ["m_1_1.0.h5", "m_2_1.0.h5", "m_3_1.0.h5"]
    assert {kind for kind, _ in out["model"].saved} == {"model"}


@pytest.mark.parametrize("values, kwargs, saved_epochs", [
    ([0.5, 0.4, 0.45, 0.3], {}, [1, 2, 4]),
    ([0.5, 0.4, 0.55, 0.3], {"mode": "max"}, [1, 3]),
    ([0.5, 0.4, 0.45, 0.3], {"initial_value_threshold": 0.42}, [2, 4]),
    ([0.5, 0.5, 0.5], {}, [1]),
])
def test_save_best_only_saves_only_improvements(keras, tmp_path, values, kwargs, saved_epochs):
    ours = drive(ModelCheckpoint(str(tmp_path / "ours_{epoch}.h5"), save_best_only=True, **kwargs), values)
    theirs = drive(keras.callbacks.ModelCheckpoint(str(tmp_path / "theirs_{epoch}.h5"), save_best_only=True,
                                                   **kwargs), values)
    assert names(ours) == [f"ours_{e}.h5" for e in saved_epochs]
    assert [n.replace("theirs", "ours") for n in names(theirs)] == names(ours)


@pytest.mark.parametrize("kwargs", [
    {"save_best_only": True}, {"save_best_only": False}, {"save_best_only": True, "save_weights_only": True},
])
def test_verbose_messages_match_keras(keras, capsys, tmp_path, kwargs):
    suffix = ".weights.h5" if kwargs.get("save_weights_only") else ".h5"
    path = str(tmp_path / ("m_{epoch:02d}_{val_loss:.2f}" + suffix))
    values = [0.51234, 0.6, 0.4, 0.4]
    theirs = drive(keras.callbacks.ModelCheckpoint(path, verbose=1, **kwargs), values)
    expected = capsys.readouterr().out
    ours = drive(ModelCheckpoint(path, verbose=1, **kwargs), values)
    assert capsys.readouterr().out == expected
    assert ours["model"].saved == theirs["model"].saved
    if kwargs["save_best_only"]:
        assert "Epoch 1: val_loss improved from None to 0.51234, saving model to" in expected
        assert "Epoch 2: val_loss did not improve from 0.51234" in expected


def test_save_weights_only_calls_save_weights(tmp_path):
    out = drive(ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True), [0.5])
    assert out["model"].saved == [("weights", str(tmp_path / "w.weights.h5"))]


def test_pathlike_filepath_is_accepted(tmp_path):
    out = drive(ModelCheckpoint(pathlib.Path(tmp_path) / "sub" / "best.h5", save_best_only=True), [0.5, 0.4])
    assert names(out) == ["best.h5", "best.h5"]
    assert (tmp_path / "sub" / "best.h5").read_text() == "model"


def test_missing_template_key_names_it_and_the_available_keys(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "dm_{epoch:02d}_{val_acc:0.2f}.h5"))
    with pytest.raises(KeyError) as info:
        drive(cb, [0.5], monitor="val_accuracy")
    message = str(info.value)
    assert "'val_acc' is not among the epoch logs" in message
    assert "Available keys: 'epoch', 'loss', 'val_accuracy'" in message
    assert not list(tmp_path.iterdir())  # raised before anything was written


def test_val_key_in_batch_level_template_explains_why(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m_{val_loss:.2f}.h5"), save_freq=2)
    with pytest.raises(KeyError, match="not in batch logs: use save_freq='epoch'"):
        drive(cb, [0.5, 0.4], batches=3)


@pytest.mark.parametrize("path", ["m_{}.h5", "m_{0}.h5", "m_{epoch.h5"])
def test_malformed_templates_are_refused_at_construction(path):
    with pytest.raises(ValueError, match="filepath"):
        ModelCheckpoint(path)


def test_template_fields():
    assert template_fields("dm_{epoch:02d}_{val_accuracy:0.2f}.hdf5") == ["epoch", "val_accuracy"]
    assert template_fields("plain.h5") == []


@pytest.mark.parametrize("save_freq", [3, 2, 7])
def test_integer_save_freq_counts_batches_like_keras(keras, tmp_path, save_freq):
    path = str(tmp_path / "b_{epoch:02d}_{batch}.weights.h5")
    ours = drive(ModelCheckpoint(path, save_weights_only=True, save_freq=save_freq), [0.5, 0.4, 0.3], batches=5)
    theirs = drive(keras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=save_freq),
                   [0.5, 0.4, 0.3], batches=5)
    assert ours["model"].saved == theirs["model"].saved
    assert len(ours["model"].saved) == 15 // save_freq


@pytest.mark.parametrize("save_freq", [0, -1, "batch", 2.5])
def test_bad_save_freq_is_refused(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.h5", save_freq=save_freq)


def test_existing_directory_as_path_is_refused(tmp_path):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(IsADirectoryError, match="existing directory"):
        drive(ModelCheckpoint(str(tmp_path / "ckpt")), [0.5])


def test_never_logged_monitor_with_save_best_only_is_refused_and_does_not_save(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.h5"), monitor="val_acc", save_best_only=True)
    model = StubModel()
    with pytest.raises(ValueError, match=r"monitor='val_acc'.*did you mean 'val_accuracy'"):
        drive(cb, [0.5, 0.6], monitor="val_accuracy", model=model)
    assert model.saved == []


def test_missing_val_key_with_save_best_only_warns_and_does_not_save(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.h5"), monitor="val_loss", save_best_only=True)
    with pytest.warns(UserWarning, match=r"'val_loss'.*Available keys"):
        out = drive(cb, [0.5, 0.6], monitor="accuracy")
    assert out["model"].saved == []


def test_best_carries_over_to_the_next_fit_and_state_dict(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m_{epoch}.h5"), save_best_only=True)
    drive(cb, [0.5, 0.3])
    second = drive(cb, [0.4, 0.2])  # 0.4 does not beat 0.3 from the first fit
    assert names(second) == ["m_2.h5"]
    restored = ModelCheckpoint(str(tmp_path / "m_{epoch}.h5"), save_best_only=True)
    restored.load_state_dict(cb.state_dict())
    assert restored.best == 0.2
    assert names(drive(restored, [0.25, 0.1])) == ["m_2.h5"]
