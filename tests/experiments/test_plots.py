"""The plots: what is drawn (lines, colours, styles, markers), the saved PNG, and where figures live."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nerve.callbacks.history import History  # noqa: E402
from nerve.experiments import LRFinderResult, plots  # noqa: E402
from nerve.experiments.plots import (  # noqa: E402
    plot_comparison, plot_gradient_norms, plot_history, plot_lr_finder,
)

RUN = {
    "loss": [1.0, 0.6, 0.4, 0.3, 0.25],
    "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9],
    "val_loss": [1.1, 0.7, 0.5, 0.55, 0.6],
    "val_accuracy": [0.45, 0.65, 0.75, 0.74, 0.73],
    "learning_rate": [1e-3] * 5,
}


def data_lines(axis) -> list:
    """The curves, without the best-epoch guides."""
    return [ln for ln in axis.get_lines() if ln.get_gid() not in ("best_epoch", "best_epoch_marker")]


def png_shape(path) -> tuple[int, int]:
    image = mpimg.imread(path)
    return image.shape[1], image.shape[0]  # width, height


# ---------------------------------------------------------------------- plot_history
@pytest.mark.parametrize("as_history", [False, True])
def test_history_panels_styles_and_best_epoch(as_history):
    history = History.from_dict(RUN) if as_history else RUN
    fig = plot_history(history)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert [a.get_title() for a in axes] == ["loss", "accuracy"]  # loss first, learning_rate left out
    for axis in axes:
        train, val = data_lines(axis)
        assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
        assert train.get_color() == val.get_color()
        assert list(train.get_xdata()) == [1, 2, 3, 4, 5]  # epochs count from 1
        assert axis.get_xlabel() == "epoch"
        guide = next(ln for ln in axis.get_lines() if ln.get_gid() == "best_epoch")
        assert list(guide.get_xdata()) == [3, 3]  # val_loss is lowest at the 3rd epoch
    marker = next(ln for ln in axes[0].get_lines() if ln.get_gid() == "best_epoch_marker")
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (3, 0.5)
    assert marker.get_label() == "best epoch 3"
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["train", "validation", "best epoch 3"]


def test_history_monitor_direction_and_fallback():
    fig = plot_history(RUN, monitor="val_accuracy")  # highest is best
    marker = next(ln for ln in fig.get_axes()[1].get_lines() if ln.get_gid() == "best_epoch_marker")
    assert marker.get_xdata()[0] == 3 and marker.get_ydata()[0] == 0.75
    no_validation = {"loss": [0.9, 0.5, 0.7], "accuracy": [0.2, 0.6, 0.5]}
    fig = plot_history(no_validation)  # val_loss was not logged: the training loss decides
    marker = next(ln for ln in fig.get_axes()[0].get_lines() if ln.get_gid() == "best_epoch_marker")
    assert marker.get_xdata()[0] == 2
    assert all(len(data_lines(a)) == 1 for a in fig.get_axes())
    fig = plot_history(RUN, monitor=None)
    assert not any(ln.get_gid() for a in fig.get_axes() for ln in a.get_lines())


def test_history_selected_metrics_and_shorter_validation():
    fig = plot_history(RUN, metrics="val_accuracy")
    assert [a.get_title() for a in fig.get_axes()] == ["accuracy"]
    sparse = {"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [0.9, 0.7]}  # validation_freq=2
    val = data_lines(plot_history(sparse).get_axes()[0])[1]
    assert list(val.get_xdata()) == [2, 4]


def test_history_epochs_of_a_resumed_run():
    history = History.from_dict({"loss": [0.5, 0.4]}, epoch=[3, 4])  # fit(initial_epoch=3)
    train = data_lines(plot_history(history).get_axes()[0])[0]
    assert list(train.get_xdata()) == [4, 5]


def test_history_errors():
    with pytest.raises(ValueError, match=r"has no \['auc'\]. Available: \['loss', 'accuracy'\]"):
        plot_history(RUN, metrics=["auc"])
    with pytest.raises(ValueError, match="monitor='val_auc' is not in the history"):
        plot_history(RUN, monitor="val_auc")
    with pytest.raises(TypeError, match="Expected a History"):
        plot_history([1, 2, 3])
    fig = Figure()
    with pytest.raises(ValueError, match="draws 2 panels but 1 Axes"):
        plot_history(RUN, ax=fig.add_subplot())


def test_history_into_given_axes_and_saved_png(tmp_path):
    fig = Figure(figsize=(6, 3))
    axis = fig.add_subplot()
    assert plot_history(RUN, metrics="loss", ax=axis) is fig
    assert len(data_lines(axis)) == 2
    path = tmp_path / "deep" / "folder" / "curves.png"
    plot_history(RUN, path=path, figsize=(8, 3), dpi=50)
    assert path.stat().st_size > 1000
    assert png_shape(path) == (400, 150)


# ---------------------------------------------------------------------- plot_comparison
RUNS = {
    "sigmoid+SGD": {"loss": [2.3, 2.2, 2.1], "accuracy": [0.1, 0.2, 0.3],
                    "val_loss": [2.3, 2.25, 2.2], "val_accuracy": [0.1, 0.15, 0.2]},
    "relu+SGD": History.from_dict({"loss": [1.5, 0.9, 0.6, 0.5, 0.45], "accuracy": [0.5, 0.7, 0.8, 0.85, 0.86],
                                   "val_loss": [1.4, 0.9, 0.7, 0.6, 0.6],
                                   "val_accuracy": [0.5, 0.7, 0.78, 0.8, 0.81]}),
    "relu+Adam": {"loss": [0.6, 0.3], "accuracy": [0.8, 0.9],  # stopped early
                  "val_loss": [0.5, 0.4], "val_accuracy": [0.85, 0.88]},
}


def test_comparison_one_colour_per_run_solid_train_dashed_validation(tmp_path):
    path = tmp_path / "compare.png"
    fig = plot_comparison(RUNS, "accuracy", path=path)
    metric_axis, loss_axis = fig.get_axes()
    assert (metric_axis.get_title(), loss_axis.get_title()) == ("accuracy", "loss")
    for axis in (metric_axis, loss_axis):
        lines = axis.get_lines()
        assert len(lines) == 6
        by_run = {}
        for line in lines:
            run, part = line.get_label().rsplit(" ", 1)
            assert line.get_linestyle() == {"train": "-", "validation": "--"}[part]
            by_run.setdefault(run, set()).add(line.get_color())
        assert list(by_run) == list(RUNS)
        assert all(len(colors) == 1 for colors in by_run.values())
        assert len(set.union(*by_run.values())) == 3
        lengths = {ln.get_label(): len(ln.get_xdata()) for ln in lines}
        assert lengths["relu+Adam train"] == 2 and lengths["relu+SGD validation"] == 5
    legend = [t.get_text() for t in metric_axis.get_legend().get_texts()]
    assert "relu+Adam train" in legend and "relu+Adam validation" in legend
    assert png_shape(path) == (1500, 500)  # the course notes' figsize=(15, 5) at 100 dpi


def test_comparison_options():
    fig = plot_comparison(RUNS, "val_accuracy", include_loss=False, dpi=50)
    assert [a.get_title() for a in fig.get_axes()] == ["accuracy"]
    assert len(plot_comparison(RUNS, "loss").get_axes()) == 1
    axis = Figure().add_subplot()
    plot_comparison(RUNS, ax=axis)  # one Axes: the metric only
    assert len(axis.get_lines()) == 6


def test_comparison_skips_runs_without_the_metric_and_names_what_exists():
    runs = {"a": {"loss": [1.0, 0.5], "auc": [0.6, 0.7]}, "b": {"loss": [0.9, 0.4]}}
    fig = plot_comparison(runs, "auc")
    assert [ln.get_label() for ln in fig.get_axes()[0].get_lines()] == ["a train"]
    assert len(fig.get_axes()[1].get_lines()) == 2
    with pytest.raises(ValueError, match=r"No run logged 'accuracy'. Available: \['auc', 'loss'\]"):
        plot_comparison(runs, "accuracy")
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_comparison({}, "loss")


def test_comparison_with_many_runs_keeps_colours_distinct():
    runs = {f"run {i}": {"loss": [1.0 / (i + 1), 0.5 / (i + 1)]} for i in range(14)}
    lines = plot_comparison(runs, "loss").get_axes()[0].get_lines()
    assert len({ln.get_color() for ln in lines}) == 14


# ---------------------------------------------------------------------- plot_gradient_norms
def test_gradient_norms_log_scale_layer_order_and_last_epoch(tmp_path):
    norms = {f"dense_{i}": [10.0 ** (i - 6), 10.0 ** (i - 5.5), 10.0 ** (i - 5)] for i in range(6)}
    path = tmp_path / "grads.png"
    fig = plot_gradient_norms(norms, path=path, dpi=50)
    lines_axis, bars_axis = fig.get_axes()
    lines = lines_axis.get_lines()
    assert [ln.get_label() for ln in lines] == list(norms)
    assert lines_axis.get_yscale() == "log" and bars_axis.get_yscale() == "log"
    assert len({ln.get_color() for ln in lines}) == 6
    heights = [bar.get_height() for bar in bars_axis.patches]
    np.testing.assert_allclose(heights, [v[-1] for v in norms.values()])
    assert "first/last = 1e-05" in bars_axis.get_title()
    assert png_shape(path) == (600, 225)


def test_gradient_norms_inputs():
    monitor = SimpleNamespace(norms={"dense": [0.0, 0.0], "dense_1": [0.0, 0.0]})
    fig = plot_gradient_norms(monitor)  # all zero: linear scale, no warning
    assert fig.get_axes()[0].get_yscale() == "linear"
    axis = Figure().add_subplot()
    plot_gradient_norms({"dense": [1.0]}, ax=axis)
    assert len(axis.get_lines()) == 1
    with pytest.raises(ValueError, match="No gradient norms"):
        plot_gradient_norms({"dense": []})
    with pytest.raises(TypeError, match="norms must be a dict"):
        plot_gradient_norms([1.0, 2.0])


# ---------------------------------------------------------------------- plot_lr_finder
def synthetic_result() -> LRFinderResult:
    lrs = np.geomspace(1e-6, 1.0, 60)
    t = np.log10(lrs)
    raw = 0.3 + 2.0 / (1.0 + np.exp(3.0 * (t + 3.0))) + np.where(t > -0.5, 20.0 * (t + 0.5) ** 2, 0.0)
    return LRFinderResult(lrs, raw.copy(), raw, diverged=False)


def test_lr_finder_plot(tmp_path):
    result = synthetic_result()
    path = tmp_path / "lr.png"
    fig = result.plot(path=path)
    axis = fig.get_axes()[0]
    assert axis.get_xscale() == "log" and axis.get_xlabel() == "learning rate"
    marker = next(ln for ln in axis.get_lines() if ln.get_gid() == "suggestion")
    assert marker.get_xdata()[0] == pytest.approx(result.suggestion)
    assert {ln.get_gid() for ln in axis.get_lines()} >= {"curve", "minimum", "valley", "suggestion"}
    assert png_shape(path) == (700, 450)
    bottom, top = axis.get_ylim()
    assert top < 3.0  # the blow-up does not flatten the curve
    with pytest.raises(TypeError, match="Expected an LRFinderResult"):
        plot_lr_finder({"lrs": []})


# ---------------------------------------------------------------------- where figures live
def test_headless_figures_are_not_kept_by_pyplot():
    before = plt.get_fignums()
    plot_history(RUN)
    plot_comparison(RUNS)
    assert plt.get_fignums() == before  # Agg: plain Figures, nothing to close


def test_interactive_backends_get_pyplot_figures(monkeypatch):
    monkeypatch.setattr(plots, "_use_pyplot", lambda shell: True)
    fig = plot_history(RUN)
    try:
        assert fig.number in plt.get_fignums()  # plt.show() would display it
    finally:
        plt.close(fig)


class _Formatter:
    def __init__(self, printers):
        self.printers = dict(printers)

    def lookup_by_type(self, typ):
        return self.printers[typ]

    def for_type(self, typ, func):
        self.printers[typ] = func


def test_notebook_figure_shown_once(monkeypatch):
    """In IPython a returned figure displayed as the cell's result is closed, so the end-of-cell flush skips it."""
    png = _Formatter({Figure: lambda fig: b"png"})
    text = _Formatter({})
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"image/png": png, "text/plain": text}))
    monkeypatch.setattr(plots, "_ipython_shell", lambda: shell)
    monkeypatch.setattr(plots, "_use_pyplot", lambda shell: True)
    fig = plot_history(RUN)
    assert fig.number in plt.get_fignums()
    assert Figure not in text.printers and plots._NotebookFigure not in text.printers
    assert png.lookup_by_type(type(fig))(fig) == b"png"  # what the cell's Out shows
    assert fig.number not in plt.get_fignums()
    plot_history(RUN).clf()
    assert len([f for f in png.printers if f is not Figure]) == 1  # registered once
    plt.close("all")


def test_import_nerve_does_not_import_matplotlib():
    code = ("import sys, nerve, nerve.experiments; from nerve.experiments import find_lr; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "nerve.experiments.plots")
    with pytest.raises(ImportError, match=r'pip install "nerve\[plot\]"'):
        History.from_dict(RUN).plot()
    with pytest.raises(ImportError, match=r'pip install "nerve\[plot\]"'):
        importlib.import_module("nerve.experiments.plots")
