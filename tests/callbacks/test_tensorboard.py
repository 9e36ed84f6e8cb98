"""TensorBoard: real event files with Keras's run folders and tags, read back with TensorBoard's reader."""

from __future__ import annotations

import builtins

import pytest
from callbacks_testutil import mlp

pytest.importorskip("tensorboard", reason="the TensorBoard callback needs the tensorboard package")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from nerve.callbacks import TensorBoard  # noqa: E402


def read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


@pytest.fixture(scope="module")
def run(tmp_path_factory, digits_data):
    x, y = digits_data
    log_dir = tmp_path_factory.mktemp("tb") / "logs"
    tb = TensorBoard(log_dir=str(log_dir), histogram_freq=1, write_images=True, update_freq=5)
    history = mlp().fit(x[:400], y[:400], epochs=3, batch_size=32, validation_split=0.2, verbose=0, callbacks=[tb])
    return log_dir, history


def test_epoch_scalars_go_to_train_and_validation_runs(run):
    log_dir, history = run
    train, val = read(log_dir / "train"), read(log_dir / "validation")
    for tag, key in [("epoch_loss", "loss"), ("epoch_accuracy", "accuracy")]:
        assert [s for s, _ in scalars(train, tag)] == [0, 1, 2]
        assert [v for _, v in scalars(train, tag)] == pytest.approx(history.history[key], rel=1e-6)
        assert [v for _, v in scalars(val, tag)] == pytest.approx(history.history["val_" + key], rel=1e-6)
    assert [v for _, v in scalars(train, "epoch_learning_rate")] == pytest.approx([0.001] * 3)


def test_validation_runs_log_evaluation_against_iterations(run):
    log_dir, _ = run
    steps = [s for s, _ in scalars(read(log_dir / "validation"), "evaluation_loss_vs_iterations")]
    assert steps == [10, 20, 30]  # 320 training samples / 32 per batch, per epoch


def test_batch_scalars_every_update_freq_batches(run):
    log_dir, _ = run
    assert [s for s, _ in scalars(read(log_dir / "train"), "batch_loss")] == [5, 10, 15, 20, 25, 30]


def test_weight_histograms_and_images(run):
    log_dir, _ = run
    tags = read(log_dir / "train").Tags()
    assert any(t.endswith("kernel/histogram") for t in tags["histograms"])
    assert any(t.endswith("bias/histogram") for t in tags["histograms"])
    assert any(t.endswith("kernel/image") for t in tags["images"])
    kernel = next(t for t in tags["histograms"] if t.endswith("kernel/histogram"))
    assert [e.step for e in read(log_dir / "train").Histograms(kernel)] == [0, 1, 2]


def test_epoch_only_by_default_and_no_validation_run_without_validation(tmp_path, digits_data):
    x, y = digits_data
    mlp().fit(x[:100], y[:100], epochs=2, verbose=0, callbacks=[TensorBoard(log_dir=tmp_path)])
    train = read(tmp_path / "train")
    assert "batch_loss" not in train.Tags()["scalars"] and len(scalars(train, "epoch_loss")) == 2
    assert not (tmp_path / "validation").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"update_freq": 0}, "update_freq"), ({"update_freq": "step"}, "update_freq"),
    ({"histogram_freq": -1}, "histogram_freq"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TensorBoard(**kwargs)


def test_profile_batch_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="profile_batch is ignored"):
        TensorBoard(profile_batch="500,520")


def test_missing_tensorboard_package_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        TensorBoard()
