"""compare(): a grid of runs on the same data, their table, checkpoints and ensemble."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

import nerve as keras
from nerve.experiments import Comparison, compare, expand_grid
from nerve.experiments.comparison import _route, best_epoch_of, format_rows, run_name

import compare_builders

COMPILE = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
GRID = {"activation": ["sigmoid", "relu"], "optimizer": ["sgd", "adam"]}


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = keras.datasets.digits.load_data()
    return (x[:600] / 255.0).astype("float32"), y[:600], (xt / 255.0).astype("float32"), yt


@pytest.fixture
def study(digits, tmp_path):
    x, y, _, _ = digits
    return compare(compare_builders.seed0_mlp, GRID, x, y, epochs=6, batch_size=64, compile=COMPILE,
                   directory=tmp_path / "study", verbose=0)


# ---------------------------------------------------------------------------- the grid
def test_expand_grid_dict_is_the_product_in_key_order():
    runs = expand_grid(GRID)
    assert runs == [
        {"activation": "sigmoid", "optimizer": "sgd"}, {"activation": "sigmoid", "optimizer": "adam"},
        {"activation": "relu", "optimizer": "sgd"}, {"activation": "relu", "optimizer": "adam"},
    ]


def test_expand_grid_list_of_dicts_is_kept_and_scalars_are_single_choices():
    seed0 = [{"activation": "sigmoid", "optimizer": "sgd"}, {"activation": "relu", "optimizer": "sgd"},
             {"activation": "relu", "optimizer": "adam"}]
    assert expand_grid(seed0) == seed0
    assert expand_grid({"activation": "relu", "learning_rate": [0.1, 0.01]}) == [
        {"activation": "relu", "learning_rate": 0.1}, {"activation": "relu", "learning_rate": 0.01}]


@pytest.mark.parametrize("grid, error", [
    ({"activation": []}, ValueError), ([], ValueError), (["relu"], TypeError), ("relu", TypeError)])
def test_expand_grid_refuses_empty_or_malformed_grids(grid, error):
    with pytest.raises(error):
        expand_grid(grid)


def test_run_names_join_choices_and_label_numbers():
    assert run_name({"activation": "relu", "optimizer": "adam"}) == "relu+adam"
    assert run_name({"learning_rate": 0.001, "batch_size": 64}) == "learning_rate=0.001+batch_size=64"


def test_parameters_are_routed_to_build_compile_and_fit_by_name():
    build_kw, compile_kw, fit_kw = _route(compare_builders.seed0_mlp, {
        "activation": "relu", "units": 8, "optimizer": "adam", "learning_rate": 0.01, "batch_size": 16})
    assert build_kw == {"activation": "relu", "units": 8}
    assert compile_kw == {"optimizer": "adam", "learning_rate": 0.01}
    assert fit_kw == {"batch_size": 16}


def test_unknown_parameter_names_the_build_signature():
    with pytest.raises(ValueError, match=r"'dropuot'.*seed0_mlp\(activation"):
        _route(compare_builders.seed0_mlp, {"dropuot": 0.5})


# ---------------------------------------------------------------------------- runs
def test_a_2x2_grid_gives_four_runs_with_the_table(study):
    assert [r.name for r in study.runs] == ["sigmoid+sgd", "sigmoid+adam", "relu+sgd", "relu+adam"]
    assert study.metric == "accuracy"
    rows = study.table()
    assert [row["run"] for row in rows] == [r.name for r in study.runs]
    for row, run in zip(rows, study.runs):
        val_loss = run.history.history["val_loss"]
        assert row["best_epoch"] == int(np.argmin(val_loss)) + 1
        assert row["best_val_loss"] == pytest.approx(min(val_loss))
        assert row["final_val_accuracy"] == pytest.approx(run.history.history["val_accuracy"][-1])
        assert row["gap"] == pytest.approx(run.history.history["accuracy"][-1] - row["final_val_accuracy"])
        assert row["params"] == 32 * 64 + 32 + 32 * 32 + 32 + 32 * 10 + 10
        assert row["epochs"] == 6 and row["time_s"] > 0
    assert "relu+adam" in str(study) and "best_val_loss" in str(study)


def test_every_run_starts_from_the_same_initial_weights(digits, tmp_path):
    x, y, _, _ = digits
    result = compare(compare_builders.seed0_mlp, {"optimizer": ["sgd", "adam"]}, x, y, epochs=0,
                     compile=COMPILE, directory=tmp_path, save_best=False, verbose=0)
    assert len(result) == 2  # nothing trained, but both runs exist
    keras.utils.set_random_seed(0)
    a = compare_builders.seed0_mlp().get_weights()
    keras.utils.set_random_seed(0)
    b = compare_builders.seed0_mlp().get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_adam_beats_sgd_and_relu_beats_sigmoid_as_in_seed_0(study):
    acc = {r.name: r.value("val_accuracy", r.best_epoch) for r in study.runs}
    assert acc["relu+adam"] > acc["relu+sgd"]
    assert acc["relu+adam"] > acc["sigmoid+sgd"]
    assert study.best.name in ("relu+adam", "sigmoid+adam")


def test_repeated_call_with_the_same_seed_gives_identical_histories(digits, study, tmp_path):
    x, y, _, _ = digits
    again = compare(compare_builders.seed0_mlp, GRID, x, y, epochs=6, batch_size=64, compile=COMPILE,
                    directory=tmp_path / "again", verbose=0)
    for first, second in zip(study.runs, again.runs):
        assert first.history.history == second.history.history


def test_a_different_seed_gives_different_histories(digits, study, tmp_path):
    x, y, _, _ = digits
    other = compare(compare_builders.seed0_mlp, GRID, x, y, epochs=6, batch_size=64, compile=COMPILE,
                    directory=tmp_path / "other", seed=7, verbose=0)
    assert other.runs[3].history.history["loss"] != study.runs[3].history.history["loss"]


def test_checkpoints_reload_to_their_logged_best_values(digits, study):
    x, y, _, _ = digits
    n_val = int(len(x) * 0.2)  # Keras's validation_split takes the tail
    x_val, y_val = x[-n_val:], y[-n_val:]
    for run in study.runs:
        model = run.load_model()
        logs = model.evaluate(x_val, y_val, batch_size=64, verbose=0, return_dict=True)
        assert logs["loss"] == pytest.approx(run.value("val_loss", run.best_epoch), rel=1e-5)
        assert logs["accuracy"] == pytest.approx(run.value("val_accuracy", run.best_epoch), abs=1e-6)


def test_results_json_reloads_to_the_same_table(study):
    saved = json.loads((pathlib.Path(study.directory) / "results.json").read_text())
    assert [r["name"] for r in saved["runs"]] == [r.name for r in study.runs]
    loaded = Comparison.load(study.directory)
    assert loaded.table() == study.table()
    assert loaded.runs[0].history.history == study.runs[0].history.history


def test_ensemble_averages_the_members_predictions(digits, study):
    _, _, xt, yt = digits
    ensemble = study.ensemble(["relu+adam", "sigmoid+adam"])
    members = [study["relu+adam"].load_model(), study["sigmoid+adam"].load_model()]
    expected = np.mean([m.predict(xt, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(xt, verbose=0), expected, rtol=1e-5, atol=1e-6)
    rows = study.evaluate(xt, yt)
    assert [r["run"] for r in rows][-1] == "ensemble (4 runs)"
    assert set(rows[-1]) == {"run", "loss", "accuracy"}
    assert "ensemble (4 runs)" in format_rows(rows)


def test_grid_may_vary_learning_rate_batch_size_and_build_arguments(digits, tmp_path):
    x, y, _, _ = digits
    result = compare(compare_builders.seed0_mlp, [
        {"units": 8, "optimizer": "sgd", "learning_rate": 0.5, "batch_size": 32},
        {"units": 16, "optimizer": "sgd", "learning_rate": 0.001, "batch_size": 128},
    ], x, y, epochs=2, compile=COMPILE, save_best=False, verbose=0)
    small, large = result.runs
    assert small.n_params < large.n_params
    assert small.value("accuracy") > large.value("accuracy")  # lr 0.5 learns, lr 0.001 barely moves


def test_compiled_models_are_recompiled_with_the_grids_optimizer(digits):
    x, y, _, _ = digits
    result = compare(compare_builders.compiled_mlp, {"optimizer": ["sgd", "adam"]}, x, y, epochs=3,
                     save_best=False, verbose=0)
    assert result.runs[1].value("accuracy") > result.runs[0].value("accuracy")


def test_uncompiled_model_without_a_loss_says_how_to_fix_it(digits):
    x, y, _, _ = digits
    with pytest.raises(ValueError, match=r"compile=\{'optimizer'"):
        compare(compare_builders.seed0_mlp, {"activation": ["relu"]}, x, y, epochs=1, save_best=False, verbose=0)


def test_callbacks_are_copied_per_run_and_early_stopping_works(digits):
    x, y, _, _ = digits
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    result = compare(compare_builders.seed0_mlp, {"optimizer": ["sgd", "adam"]}, x, y, epochs=5,
                     compile=COMPILE, callbacks=[stop], save_best=False, verbose=0)
    assert [r.epochs for r in result.runs] == [2, 2]  # each run stops on its own copy
    assert stop.model is None  # the caller's instance was never used


def test_best_epoch_follows_the_monitor_mode_and_skips_nan():
    history = {"val_loss": [0.5, float("nan"), 0.3, 0.3, 0.4], "val_accuracy": [0.1, 0.9, 0.8, 0.95, 0.95]}
    assert best_epoch_of(history, "val_loss") == 2
    assert best_epoch_of(history, "val_accuracy") == 3
    assert best_epoch_of({"val_loss": [math.nan]}, "val_loss") is None


def test_progress_prints_one_line_per_run(digits, capsys):
    x, y, _, _ = digits
    compare(compare_builders.seed0_mlp, {"optimizer": ["sgd", "adam"]}, x, y, epochs=2, compile=COMPILE,
            save_best=False, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[1/2] sgd  epoch 2/2") and "best val_loss" in lines[0]


def test_keyboard_interrupt_keeps_the_finished_runs(digits, tmp_path, capsys):
    x, y, _, _ = digits

    class CtrlC(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if self.model.optimizer.name == "adam":
                raise KeyboardInterrupt

    result = compare(compare_builders.seed0_mlp, {"optimizer": ["sgd", "adam", "rmsprop"]}, x, y, epochs=2,
                     compile=COMPILE, callbacks=[CtrlC()], directory=tmp_path, verbose=1)
    assert result.interrupted and [r.name for r in result.runs] == ["sgd"]
    assert "Interrupted: kept 1 finished run(s) of 3" in capsys.readouterr().out
    assert Comparison.load(tmp_path).interrupted


@pytest.mark.slow
def test_parallel_processes_give_the_same_runs(digits, study, tmp_path):
    x, y, _, _ = digits
    parallel = compare(compare_builders.seed0_mlp, GRID, x, y, epochs=6, batch_size=64, compile=COMPILE,
                       directory=tmp_path / "parallel", n_jobs=2, verbose=0)
    assert [r.name for r in parallel.runs] == [r.name for r in study.runs]
    for first, second in zip(study.runs, parallel.runs):
        np.testing.assert_allclose(first.history.history["loss"], second.history.history["loss"], rtol=1e-4)
        assert second.checkpoint is not None


def test_parallel_refuses_an_unpicklable_build(digits):
    x, y, _, _ = digits
    with pytest.raises(ValueError, match="cannot be pickled"):
        compare(lambda activation: compare_builders.seed0_mlp(activation), {"activation": ["relu", "tanh"]},
                x, y, epochs=1, compile=COMPILE, save_best=False, n_jobs=2, verbose=0)


def test_identical_grid_points_get_numbered_names(digits):
    x, y, _, _ = digits
    result = compare(compare_builders.seed0_mlp, [{"activation": "relu"}, {"activation": "relu"},
                                                  {"activation": "tanh"}], x, y, epochs=1, compile=COMPILE,
                     save_best=False, verbose=0)
    assert [r.name for r in result.runs] == ["relu#1", "relu#2", "tanh"]


def test_callbacks_function_gets_the_run_folder_or_none(digits, tmp_path):
    x, y, _, _ = digits
    seen = []

    def make(folder):
        seen.append(folder)
        return [keras.callbacks.CSVLogger(str(folder / "log.csv"))] if folder else []

    compare(compare_builders.seed0_mlp, {"optimizer": ["sgd", "adam"]}, x, y, epochs=1, compile=COMPILE,
            callbacks=make, directory=tmp_path, verbose=0)
    assert [p.name for p in seen] == ["01-sgd", "02-adam"] and (seen[0] / "log.csv").exists()
    seen.clear()
    compare(compare_builders.seed0_mlp, {"optimizer": ["sgd"]}, x, y, epochs=1, compile=COMPILE,
            callbacks=make, save_best=False, verbose=0)
    assert seen == [None]


def test_checkpoint_paths_are_absolute_so_results_load_from_anywhere(digits, tmp_path, monkeypatch):
    x, y, _, _ = digits
    monkeypatch.chdir(tmp_path)
    compare(compare_builders.seed0_mlp, {"optimizer": ["adam"]}, x, y, epochs=1, compile=COMPILE,
            directory="rel", verbose=0)
    monkeypatch.chdir("/")
    loaded = Comparison.load(tmp_path / "rel")
    assert pathlib.Path(loaded.runs[0].checkpoint).is_absolute()
    assert loaded.runs[0].load_model().count_params() == loaded.runs[0].n_params


def test_every_run_names_its_layers_from_dense_in_one_process(study):
    assert [list(r.gradient_norms or {}) for r in study.runs] == [[]] * 4  # not recorded by default
    names = {r.name: r.load_model().layers[1].name for r in study.runs}
    assert set(names.values()) == {"dense"}


def test_evaluate_ensembles_only_the_chosen_runs(digits, study):
    _, _, xt, yt = digits
    rows = study.evaluate(xt, yt, runs=["relu+adam", "sigmoid+adam"])
    assert rows[-1]["run"] == "ensemble (2 runs)" and len(rows) == 5
