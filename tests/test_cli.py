"""The `nerve` command: compare (seed 0's study), summary and evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nerve import cli
from nerve.experiments import comparison

pytest.importorskip("matplotlib", reason="nerve compare draws figures; pip install matplotlib")

SMALL = ["--epochs", "3", "--batch-size", "64", "--limit", "500", "--quiet"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = cli.main(["compare", "--out", str(out), *SMALL])
    return status, out, buffer.getvalue()


def test_compare_runs_seed0s_grid_and_writes_figure_report_and_checkpoints(study):
    status, out, text = study
    assert status == 0
    names = ["sigmoid+sgd", "sigmoid+adam", "relu+sgd", "relu+adam"]
    saved = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in saved["runs"]] == names
    assert saved["monitor"] == "val_accuracy" and saved["settings"]["batch_size"] == 64
    for i, name in enumerate(names):
        assert (out / f"{i + 1:02d}-{name}" / "best.keras").stat().st_size > 0
    png = (out / "comparison.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(name in html for name in names) and "data:image/png;base64," in html


def test_compare_prints_the_table_the_test_results_with_the_ensemble_and_a_diagnosis(study):
    _, out, text = study
    assert "best_val_accuracy" in text
    assert "ensemble (4 runs)" in text
    assert "Diagnosis:" in text and "  relu+adam:\n    - " in text
    assert "- vanishing_gradients: " in text  # the sigmoid runs show it with numbers
    assert f"Report: {out / 'report.html'}" in text


def test_summary_prints_the_saved_models_table(study, capsys):
    _, out, _ = study
    assert cli.main(["summary", str(out / "04-relu+adam" / "best.keras")]) == 0
    text = capsys.readouterr().out
    assert 'Model: "mlp_relu"' in text and "Trainable params: 87,306" in text


def test_evaluate_matches_the_reports_test_accuracy(study, capsys):
    _, out, _ = study
    best = out / "04-relu+adam" / "best.keras"
    assert cli.main(["evaluate", str(best), "--dataset", "digits"]) == 0
    text = capsys.readouterr().out
    (_, _), (x_test, y_test) = cli.load_dataset("digits")
    from nerve.models import load_model

    expected = load_model(best).evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert f"accuracy: {expected:.4f}" in text


def test_missing_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert cli.main(["summary", str(tmp_path / "nope.keras")]) == 1
    err = capsys.readouterr().err
    assert "No model file at" in err and "nope.keras" in err and "Traceback" not in err


def test_ctrl_c_keeps_the_finished_runs_and_exits_130(tmp_path, monkeypatch, capsys):
    real = comparison._train_one

    def stop_at_third(settings, spec):
        if spec.index == 2:
            raise KeyboardInterrupt
        return real(settings, spec)

    monkeypatch.setattr(comparison, "_train_one", stop_at_third)
    assert cli.main(["compare", "--out", str(tmp_path), *SMALL]) == 130
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["interrupted"] and [r["name"] for r in saved["runs"]] == ["sigmoid+sgd", "sigmoid+adam"]
    assert (tmp_path / "report.html").exists()
    assert "Stopped by Ctrl-C" in capsys.readouterr().err


def test_python_dash_m_nerve_runs_the_command(study):
    _, out, _ = study
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "nerve", "summary", str(out / "01-sigmoid+sgd" / "best.keras")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "mlp_sigmoid" in done.stdout


def test_unknown_dataset_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--dataset", "imagenet"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err
