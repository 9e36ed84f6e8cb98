"""Training plots: one run's curves, several runs on one figure, gradient norms per layer, the LR range test.

Every function returns a matplotlib `Figure`, saves it when given `path=`
(PNG unless the suffix names another format matplotlib writes; `dpi` fixes
the pixel size: figsize × dpi) and never calls `plt.show()`.

Where the figure lives (the choice, and why):

* When figures can be displayed, that is inside IPython/Jupyter, or when
  `matplotlib.pyplot` is already imported with an interactive backend (Qt,
  Tk, macOS, ipympl, inline), the figure is made through pyplot, exactly
  like `plt.subplots()`: a Keras user's `h.plot(); plt.show()` opens it in a
  script, and a notebook shows it when the cell ends, wherever the call sits
  in the cell. In a notebook a figure that is also the cell's result is
  shown once, not twice.
* Everywhere else (scripts without a display, tests, servers, the Agg
  backend) it is a plain `matplotlib.figure.Figure`: no pyplot state, no
  backend chosen, nothing to close, so making many figures leaks nothing.

Needs matplotlib: `pip install "nerve[plot]"`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

try:
    import matplotlib
    from matplotlib import colors as mcolors
    from matplotlib.figure import Figure
except ImportError as err:  # pragma: no cover - exercised only without matplotlib
    raise ImportError('Plotting needs matplotlib: pip install "nerve[plot]" (or pip install matplotlib)') from err

from nerve.callbacks.monitor import resolve_mode

__all__ = ["plot_comparison", "plot_gradient_norms", "plot_history", "plot_lr_finder"]

# Backends that cannot show a window or a notebook image.
_NON_INTERACTIVE = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})
_SKIPPED_KEYS = frozenset({"learning_rate", "lr"})


# ---------------------------------------------------------------------- figures
class _NotebookFigure(Figure):
    """A pyplot figure made inside IPython; its display as a cell result closes it (see `_show_once`)."""


def _ipython_shell() -> Any:
    ipython = sys.modules.get("IPython")
    try:
        return ipython.get_ipython() if ipython is not None else None
    except Exception:
        return None


def _use_pyplot(shell: Any) -> bool:
    """Whether new figures should belong to pyplot, so `plt.show()` and notebooks display them."""
    if shell is None and "matplotlib.pyplot" not in sys.modules:
        return False
    return str(matplotlib.get_backend()).lower() not in _NON_INTERACTIVE


def _format_and_close(base: Any, fig: Figure) -> Any:
    import matplotlib.pyplot as plt

    plt.close(fig)  # shown here as the cell's result, so the end-of-cell flush must not show it again
    return base(fig)


def _show_once(shell: Any) -> None:
    """Display a returned `_NotebookFigure` like any Figure, and drop it from pyplot when it is displayed."""
    try:
        formatters = shell.display_formatter.formatters
    except AttributeError:
        return
    for formatter in formatters.values():
        try:
            base = formatter.lookup_by_type(Figure)
        except (KeyError, AttributeError):
            continue
        try:
            current = formatter.lookup_by_type(_NotebookFigure)
        except (KeyError, AttributeError):
            current = None
        if getattr(current, "func", None) is not _format_and_close or current.args != (base,):
            formatter.for_type(_NotebookFigure, partial(_format_and_close, base))


def _new_figure(figsize: tuple[float, float], dpi: float) -> Figure:
    shell = _ipython_shell()
    if _use_pyplot(shell):
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize, dpi=dpi, layout="constrained",
                         FigureClass=_NotebookFigure if shell is not None else Figure)
        if shell is not None:
            _show_once(shell)
        return fig
    return Figure(figsize=figsize, dpi=dpi, layout="constrained")


def _axes_grid(ax: Any, count: int, figsize: tuple[float, float], dpi: float, what: str) -> tuple[Figure, list]:
    """`count` axes: new ones in a figure of up to 3 columns, or the caller's (one Axes, or one per panel)."""
    if ax is None:
        fig = _new_figure(figsize, dpi)
        ncols = min(count, 3)
        grid = fig.subplots(math.ceil(count / ncols), ncols, squeeze=False).ravel()
        for extra in grid[count:]:
            extra.remove()
        return fig, list(grid[:count])
    axes = list(np.ravel(ax)) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
    if len(axes) < count:
        raise ValueError(
            f"{what} draws {count} panels but {len(axes)} Axes were given. Pass ax=None for a new "
            f"figure, a list of {count} Axes, or choose fewer panels (e.g. metrics=['loss']). Received: ax={ax!r}"
        )
    return axes[0].figure, axes[:count]


def _finish(fig: Figure, title: str | None, path: Any, dpi: float) -> Figure:
    if title:
        fig.suptitle(title)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = path.suffix[1:].lower()
        if fmt not in fig.canvas.get_supported_filetypes():
            fmt = "png"
        with matplotlib.rc_context({"savefig.bbox": "standard"}):  # keep the size figsize × dpi
            fig.savefig(path, dpi=dpi, format=fmt)
    return fig


def _colors(count: int) -> list[str]:
    """One colour per run: the style's cycle, then tab20, then a continuous map."""
    cycle = [mcolors.to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key().get("color", [])]
    if count <= len(cycle):
        return cycle[:count]
    cmap = matplotlib.colormaps["tab20" if count <= 20 else "turbo"]
    return [mcolors.to_hex(cmap(i / max(count - 1, 1) if count > 20 else i)) for i in range(count)]


# ---------------------------------------------------------------------- history data
def _as_history_dict(history: Any) -> tuple[dict[str, np.ndarray], list[int] | None]:
    """`{key: float array}` and the recorded epoch indices (None for a bare dict)."""
    epochs = None
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        epochs = list(getattr(history, "epoch", []) or []) or None
        history = history.history
    if not isinstance(history, Mapping):
        raise TypeError(
            "Expected a History (what fit returns) or a dict of lists such as {'loss': [...], 'val_loss': [...]}. "
            f"Received: an object of type {type(history).__name__}"
        )
    out: dict[str, np.ndarray] = {}
    for key, values in history.items():
        try:
            arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        except (TypeError, ValueError):
            continue  # not a numeric series
        out[str(key)] = arr
    return out, epochs


def _base(key: str) -> str:
    return key[4:] if key.startswith("val_") else key


def _quantities(history: Mapping[str, np.ndarray]) -> list[str]:
    """Panel names: loss first, then each metric (validation-only keys by their base name)."""
    names: list[str] = []
    for key in history:
        base = _base(key)
        if base not in names and base not in _SKIPPED_KEYS:
            names.append(base)
    return sorted(names, key=lambda k: (k != "loss", names.index(k)))


def _x(n: int, total: int, epochs: list[int] | None) -> np.ndarray:
    """1-based epoch numbers for a series of n values in a run of `total` epochs.

    A shorter validation series (validation_freq > 1) is spread evenly over the run.
    """
    if epochs is not None and n == len(epochs):
        return np.asarray(epochs, dtype=float) + 1
    if 0 < n < total and total % n == 0:
        return np.arange(1, n + 1, dtype=float) * (total // n)
    return np.arange(1, n + 1, dtype=float)


def _best_index(values: np.ndarray, monitor: str) -> int | None:
    finite = np.isfinite(values)
    if not finite.any():
        return None
    mode, _ = resolve_mode(monitor)
    masked = np.where(finite, values, np.inf if mode == "min" else -np.inf)
    return int(np.argmin(masked) if mode == "min" else np.argmax(masked))


# ---------------------------------------------------------------------- plots
def plot_history(
    history: Any,
    metrics: str | Sequence[str] | None = None,
    *,
    monitor: str | None = "val_loss",
    ax: Any = None,
    title: str | None = None,
    path: Any = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """Plot one run's curves: a panel per quantity, train solid, validation dashed, best epoch marked.

    Args:
        history: a `History` (what `fit` returns) or a dict `{key: [value per epoch]}`.
        metrics: the quantities to draw, by base name (`"loss"`, `"accuracy"`; a
            `val_` prefix is ignored). Default None: loss first, then every
            other logged quantity except the learning rate.
        monitor: the key whose best epoch is marked on every panel (default
            "val_loss"; lowest for losses, highest for accuracy-like names).
            A `val_` key that was not logged (no validation) falls back to the
            training key, e.g. "loss"; None marks nothing.
        ax: None for a new figure, or the Axes to draw in (one per quantity).
        title: the figure's title (default none).
        path: if given, save the figure there (parent folders are created).
        figsize: inches (default 5 wide per column, up to 3 columns, 4 high per row).
        dpi: dots per inch of the figure and of the saved file (default 100).

    Returns:
        The matplotlib Figure.

    Example:
        >>> h = model.fit(x, y, epochs=20, validation_split=0.2)
        >>> plot_history(h, path="curves.png")      # same as h.plot(path="curves.png")
    """
    data, epochs = _as_history_dict(history)
    available = _quantities(data)
    if metrics is None:
        names = available
    else:
        names = [_base(m) for m in ([metrics] if isinstance(metrics, str) else list(metrics))]
        missing = [m for m in names if m not in available]
        if missing:
            raise ValueError(f"The history has no {missing}. Available: {available}. Received: metrics={metrics!r}")
    if not names:
        raise ValueError(f"Nothing to plot: the history holds no numeric series. Received keys: {sorted(data)}")
    total = max(len(v) for v in data.values())

    best = None
    if monitor is not None:
        if monitor not in data and monitor.startswith("val_") and _base(monitor) in data:
            monitor = _base(monitor)  # a run without validation: its training value
        if monitor not in data:
            raise ValueError(f"monitor={monitor!r} is not in the history. Available keys: {sorted(data)}")
        index = _best_index(data[monitor], monitor)
        if index is not None:
            best = (float(_x(len(data[monitor]), total, epochs)[index]), index)

    ncols = min(len(names), 3)
    size = figsize or (5.0 * ncols, 4.0 * math.ceil(len(names) / ncols))
    fig, axes = _axes_grid(ax, len(names), size, dpi, "plot_history")
    color = _colors(1)[0]
    for name, axis in zip(names, axes):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in data:
                axis.plot(_x(len(data[key]), total, epochs), data[key], linestyle=style, color=color, label=label)
        if best is not None:
            x_best, index = best
            label = f"best epoch {int(x_best)}"
            axis.axvline(x_best, color="0.5", linestyle=":", linewidth=1, gid="best_epoch",
                         label=label if _base(monitor) != name else "_nolegend_")
            if _base(monitor) == name:
                axis.plot([x_best], [data[monitor][index]], marker="o", color="black", linestyle="none",
                          gid="best_epoch_marker", label=label)
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.set_title(name)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.legend()
    return _finish(fig, title, path, dpi)


def plot_comparison(
    histories: Mapping[str, Any],
    metric: str = "accuracy",
    *,
    include_loss: bool = True,
    ax: Any = None,
    title: str | None = None,
    path: Any = None,
    figsize: tuple[float, float] = (15, 5),
    dpi: float = 100,
) -> Figure:
    """Plot several runs on one figure: one colour per run, train solid, validation dashed.

    The course-notes figure (`plt.figure(figsize=(15, 5))` with every run's
    train and validation accuracy) in one call, with the loss beside it.
    Runs may have different lengths (early stopping); a run without the metric
    is left out of that panel.

    Args:
        histories: `{run name: History or dict}`, e.g. `{"relu+Adam": h3}`.
        metric: the quantity to compare (default "accuracy"; a `val_` prefix is ignored).
        include_loss: draw the loss in a second panel beside the metric
            (default True; ignored when the metric is the loss or no run has a loss).
        ax: None for a new figure, one Axes (the metric only), or a list of Axes (metric, loss).
        title: the figure's title (default none).
        path: if given, save the figure there (parent folders are created).
        figsize: inches (default (15, 5), as in the course notes).
        dpi: dots per inch of the figure and of the saved file (default 100).

    Returns:
        The matplotlib Figure. Legend entries read "<run> train" and "<run> validation".

    Raises:
        ValueError: no run logged the metric (the message lists what they logged).

    Example:
        >>> plot_comparison({"sigmoid+SGD": h1, "relu+SGD": h2, "relu+Adam": h3}, "accuracy")
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(
            "plot_comparison needs a non-empty dict {run name: History}. "
            f"Received: {type(histories).__name__} {histories!r:.80}"
        )
    runs = {str(name): _as_history_dict(h)[0] for name, h in histories.items()}
    metric = _base(metric)

    def has(run: Mapping[str, np.ndarray], name: str) -> bool:
        return name in run or f"val_{name}" in run

    if not any(has(run, metric) for run in runs.values()):
        available = sorted({q for run in runs.values() for q in _quantities(run)})
        raise ValueError(f"No run logged {metric!r}. Available: {available}. Received: metric={metric!r}")
    panels = [metric]
    if include_loss and metric != "loss" and any(has(run, "loss") for run in runs.values()):
        if ax is None or (isinstance(ax, (Sequence, np.ndarray)) and len(np.ravel(ax)) >= 2):
            panels.append("loss")
    fig, axes = _axes_grid(ax, len(panels), figsize, dpi, "plot_comparison")
    colors = dict(zip(runs, _colors(len(runs))))
    for name, axis in zip(panels, axes):
        for run_name, run in runs.items():
            for key, style, part in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
                if key in run:
                    values = run[key]
                    axis.plot(np.arange(1, len(values) + 1), values, linestyle=style, color=colors[run_name],
                              label=f"{run_name} {part}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.set_title(name)
        axis.xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend()
    return _finish(fig, title, path, dpi)


def plot_gradient_norms(
    norms: Any,
    *,
    ax: Any = None,
    title: str | None = None,
    path: Any = None,
    figsize: tuple[float, float] = (12, 4.5),
    dpi: float = 100,
) -> Figure:
    """Plot each layer's gradient norm per epoch (log scale), and the last epoch's per layer.

    Left: one line per layer, coloured from the input (dark) to the output
    (yellow). Right: the last epoch's norm of every layer in order, so
    vanishing gradients show as bars that shrink towards the input; the panel
    title gives the ratio first layer / last layer.

    Args:
        norms: `{layer name: [norm per epoch]}` in layer order, e.g.
            `GradientMonitor.norms` (a GradientMonitor itself works too).
        ax: None for a new figure, one Axes (the lines only), or a list of two.
        title: the figure's title (default none).
        path: if given, save the figure there (parent folders are created).
        figsize: inches (default (12, 4.5)).
        dpi: dots per inch of the figure and of the saved file (default 100).

    Returns:
        The matplotlib Figure.

    Example:
        >>> monitor = nerve.callbacks.GradientMonitor()
        >>> model.fit(x, y, epochs=5, callbacks=[monitor])
        >>> plot_gradient_norms(monitor.norms, path="grad_norms.png")
    """
    if hasattr(norms, "norms") and isinstance(norms.norms, Mapping):
        norms = norms.norms
    if not isinstance(norms, Mapping):
        raise TypeError(f"norms must be a dict {{layer name: [norm per epoch]}}. Received: {type(norms).__name__}")
    series = {str(k): np.asarray([np.nan if v is None else float(v) for v in vs], dtype=float)
              for k, vs in norms.items()}
    series = {k: v for k, v in series.items() if v.size}
    if not series:
        raise ValueError(f"No gradient norms to plot: every layer's list is empty. Received: layers {list(norms)}")
    two = ax is None or (isinstance(ax, (Sequence, np.ndarray)) and len(np.ravel(ax)) >= 2)
    fig, axes = _axes_grid(ax, 2 if two else 1, figsize, dpi, "plot_gradient_norms")
    cmap = matplotlib.colormaps["viridis"]
    names = list(series)
    colors = [mcolors.to_hex(cmap(0.9 * i / max(len(names) - 1, 1))) for i in range(len(names))]
    positive = any(bool((v[np.isfinite(v)] > 0).any()) for v in series.values())

    lines = axes[0]
    for name, color in zip(names, colors):
        values = series[name]
        lines.plot(np.arange(1, len(values) + 1), values, color=color, label=name,
                   marker="o" if len(values) == 1 else None)
    lines.set_xlabel("epoch")
    lines.set_ylabel("gradient norm")
    lines.set_title("gradient norm per layer")
    lines.xaxis.get_major_locator().set_params(integer=True)
    if positive:
        lines.set_yscale("log")
    lines.legend(fontsize="small", ncols=1 + len(names) // 12)

    if two:
        bars = axes[1]
        last = np.array([series[n][-1] for n in names])
        bars.bar(range(len(names)), np.where(np.isfinite(last), last, 0.0), color=colors)
        bars.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize="small")
        bars.set_ylabel("gradient norm")
        heading = "last epoch, input → output"
        if last[0] > 0 and last[-1] > 0 and np.isfinite(last[[0, -1]]).all():
            heading += f" (first/last = {last[0] / last[-1]:.2g})"
        bars.set_title(heading)
        if positive and (last > 0).any():
            bars.set_yscale("log")
    return _finish(fig, title, path, dpi)


def plot_lr_finder(
    result: Any,
    *,
    ax: Any = None,
    title: str | None = None,
    path: Any = None,
    figsize: tuple[float, float] = (7, 4.5),
    dpi: float = 100,
) -> Figure:
    """Plot a learning-rate range test: loss against learning rate (log scale), suggestion marked.

    Lines: each step's raw loss (faint), the running average that decides when
    to stop (`losses`, thin dashed grey; it lags to the right), and the
    lag-free `centered_losses` (solid) on which the suggestions are read. The
    suggestion is a red dot with a dotted vertical line, `minimum` and
    `valley` smaller markers. The y axis stops a little above the loss
    before its fall, so a divergence does not flatten the curve.

    Args:
        result: an `LRFinderResult` (what `find_lr` returns).
        ax: None for a new figure, or the Axes to draw in.
        title: the figure's title (default none).
        path: if given, save the figure there (parent folders are created).
        figsize: inches (default (7, 4.5)).
        dpi: dots per inch of the figure and of the saved file (default 100).

    Returns:
        The matplotlib Figure.

    Example:
        >>> find_lr(model, x, y).plot(path="lr_find.png")
    """
    if not all(hasattr(result, a) for a in ("lrs", "losses")):
        raise TypeError(f"Expected an LRFinderResult (from find_lr). Received: {type(result).__name__}")
    lrs = np.asarray(result.lrs, dtype=float)
    if not lrs.size:
        raise ValueError("The LRFinderResult holds no steps; there is nothing to plot.")
    running = np.asarray(result.losses, dtype=float)
    curve = np.asarray(getattr(result, "centered_losses", running), dtype=float)
    fig, (axis,) = _axes_grid(ax, 1, figsize, dpi, "plot_lr_finder")
    raw = getattr(result, "raw_losses", None)
    if raw is not None and len(raw):
        axis.plot(lrs, np.asarray(raw, dtype=float), color="C0", alpha=0.25, linewidth=1, label="loss per step")
    if curve is not running:
        axis.plot(lrs, running, color="0.55", linestyle="--", linewidth=1, label="running average (stop rule)")
    axis.plot(lrs, curve, color="C0", linewidth=2, label="smoothed loss", gid="curve")
    axis.set_xscale("log")
    axis.set_xlabel("learning rate")
    axis.set_ylabel("loss")

    def mark(lr: float | None, style: dict[str, Any], label: str, gid: str) -> None:
        if lr is None:
            return
        i = int(np.argmin(np.abs(np.log(lrs) - math.log(lr))))
        axis.plot([lr], [curve[i]], linestyle="none", label=f"{label} {lr:.2e}", gid=gid, **style)

    suggestion = getattr(result, "suggestion", None)
    mark(getattr(result, "minimum", None), {"marker": "v", "color": "0.3", "markersize": 6}, "minimum/10", "minimum")
    mark(getattr(result, "valley", None), {"marker": "s", "color": "C2", "markersize": 5}, "valley", "valley")
    mark(suggestion, {"marker": "o", "color": "red", "markersize": 8}, "suggestion", "suggestion")
    if suggestion is not None:
        axis.axvline(suggestion, color="red", linestyle=":", linewidth=1, label="_nolegend_")

    finite = np.isfinite(curve)
    if finite.any():
        bottom = int(np.argmin(np.where(finite, curve, np.inf)))
        low, high = float(curve[bottom]), float(np.nanmax(curve[: bottom + 1]))
        span = max(high - low, 1e-12 + 1e-3 * abs(high))
        axis.set_ylim(low - 0.1 * span, high + 0.3 * span)
    axis.legend(fontsize="small")
    return _finish(fig, title, path, dpi)
