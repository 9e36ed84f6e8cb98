"""compare(): train one model-building function under a grid of set-ups, side by side.

Every run gets the same data, validation split, seed, epochs and callbacks;
only the grid's parameters change. Each run keeps its best checkpoint (by
`monitor`), its History and its timing; the result prints as a table, plots
as one figure, and averages its runs into an ensemble.

Grid parameters go where they belong, decided by name: a parameter of
`build` goes to `build`; `optimizer`, `loss`, `metrics`, `learning_rate`
(and the other compile arguments) to `compile`; `batch_size`, `epochs`,
`shuffle`, `class_weight`, ... to `fit`.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import math
import multiprocessing
import os
import pickle
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerve import backend
from nerve.callbacks.callback import Callback
from nerve.callbacks.history import History
from nerve.callbacks.model_checkpoint import ModelCheckpoint
from nerve.callbacks.monitor import is_improvement, resolve_mode
from nerve.utils.progbar import _stdout_is_dynamic

__all__ = ["Comparison", "RunResult", "compare", "expand_grid"]

COMPILE_PARAMS = frozenset({
    "optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "learning_rate",
})
FIT_PARAMS = frozenset({
    "batch_size", "epochs", "shuffle", "class_weight", "sample_weight", "validation_split",
    "validation_batch_size", "steps_per_epoch", "validation_steps", "validation_freq",
})
RESULTS_FILE = "results.json"


# ---------------------------------------------------------------------------- the grid
def expand_grid(grid: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Turn a grid into the list of runs' parameter dicts.

    Args:
        grid: a dict of lists (every combination, in key order, the last key
            varying fastest), or a list of dicts (exactly these runs). A dict
            value that is not a list or tuple is a single choice.

    Returns:
        One dict of parameters per run.

    Example:
        >>> expand_grid({"activation": ["sigmoid", "relu"], "optimizer": ["sgd", "adam"]})[1]
        {'activation': 'sigmoid', 'optimizer': 'adam'}
    """
    if isinstance(grid, Mapping):
        keys = [str(k) for k in grid]
        choices = [list(v) if isinstance(v, (list, tuple)) else [v] for v in grid.values()]
        for key, options in zip(keys, choices):
            if not options:
                raise ValueError(f"compare: grid[{key!r}] is an empty list; give at least one value.")
        return [dict(zip(keys, combo)) for combo in itertools.product(*choices)]
    if isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        runs = list(grid)
        if not runs:
            raise ValueError("compare: the grid is an empty list; give at least one dict of parameters.")
        for i, run in enumerate(runs):
            if not isinstance(run, Mapping):
                raise TypeError(
                    f"compare: a grid given as a list must hold dicts of parameters; item {i} is "
                    f"{type(run).__name__} ({run!r}). Example: [{{'activation': 'relu', 'optimizer': 'adam'}}]"
                )
        return [dict(run) for run in runs]
    raise TypeError(
        "compare: grid must be a dict of lists, e.g. {'activation': ['sigmoid', 'relu']}, or a list of "
        f"dicts. Received: {type(grid).__name__}"
    )


def _value_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, bool)) or value is None:
        return str(value)
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    return str(name) if name else type(value).__name__


def run_name(params: Mapping[str, Any]) -> str:
    """A short label: string choices joined by '+', others as key=value (e.g. 'relu+adam+dropout=0.2')."""
    parts = [_value_label(v) if isinstance(v, str) else f"{k}={_value_label(v)}" for k, v in params.items()]
    return "+".join(parts) or "run"


def _safe_dirname(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", name).strip("._") or "run"


# ---------------------------------------------------------------------------- results
@dataclass
class RunResult:
    """One run of a comparison: its parameters, curves, best epoch and checkpoint.

    Attributes:
        name: the run's label, e.g. "relu+adam".
        params: the grid parameters of this run.
        history: the run's `History` (`.history` dict, `.plot()`, `.diagnose()`).
        monitor: the quantity that chose the best epoch, e.g. "val_loss".
        best_epoch: 0-based epoch of the best `monitor` value (None if never finite).
        time_s: training wall time in seconds.
        n_params: number of weights of the model.
        checkpoint: path of the best model's file (None when checkpoints are off).
        gradient_norms: `{layer: [per-epoch mean gradient norm]}` when recorded.
    """

    name: str
    params: dict[str, Any]
    history: History
    monitor: str
    best_epoch: int | None
    time_s: float
    n_params: int
    checkpoint: str | None = None
    gradient_norms: dict[str, list[float]] | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs the run trained (fewer than asked if it stopped early)."""
        return len(self.history.epoch)

    def value(self, key: str, epoch: int | None = None) -> float:
        """The logged `key` at `epoch` (0-based; default the last epoch), NaN if absent."""
        values = self.history.history.get(key) or []
        if not values:
            return math.nan
        index = len(values) - 1 if epoch is None else epoch
        return float(values[index]) if 0 <= index < len(values) else math.nan

    def diagnose(self, **kwargs: Any) -> Any:
        """`History.diagnose` of this run, with its gradient norms when recorded."""
        if self.monitor in self.history.history:  # else diagnose picks val_loss or loss
            kwargs.setdefault("monitor", self.monitor)
        if self.gradient_norms:
            kwargs.setdefault("gradient_norms", self.gradient_norms)
        return self.history.diagnose(**kwargs)

    def load_model(self) -> Any:
        """Load the run's best checkpoint as a compiled model."""
        if not self.checkpoint:
            raise ValueError(f"Run {self.name!r} has no checkpoint (compare(..., save_best=False)).")
        from nerve.saving.saving_api import load_model

        return load_model(self.checkpoint)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (parameters as labels)."""
        return {
            "name": self.name, "params": {k: _value_label(v) for k, v in self.params.items()},
            "history": self.history.history, "epoch": self.history.epoch, "monitor": self.monitor,
            "best_epoch": self.best_epoch, "time_s": self.time_s, "n_params": self.n_params,
            "checkpoint": self.checkpoint, "gradient_norms": self.gradient_norms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunResult":
        """Rebuild a run from `to_dict()` output (e.g. a results.json file)."""
        return cls(
            name=str(data["name"]), params=dict(data.get("params") or {}),
            history=History.from_dict(data.get("history") or {}, data.get("epoch")),
            monitor=str(data.get("monitor", "val_loss")), best_epoch=data.get("best_epoch"),
            time_s=float(data.get("time_s", math.nan)), n_params=int(data.get("n_params", 0)),
            checkpoint=data.get("checkpoint"), gradient_norms=data.get("gradient_norms"),
        )


def best_epoch_of(history: Mapping[str, Sequence[float]], monitor: str, mode: str = "auto") -> int | None:
    """The first epoch with the best finite `monitor` value (ModelCheckpoint's save_best_only rule)."""
    mode, _ = resolve_mode(monitor, mode)
    best: float | None = None
    best_epoch = None
    for epoch, value in enumerate(history.get(monitor) or ()):
        value = float(value)
        if math.isfinite(value) and is_improvement(value, best, mode):
            best, best_epoch = value, epoch
    return best_epoch


@dataclass
class Comparison:
    """The result of `compare`: every run, with a table, plots and an ensemble.

    Attributes:
        runs: the finished runs, in grid order.
        monitor: the quantity that chose each run's best epoch.
        metric: the main metric of the table (e.g. "accuracy").
        directory: the folder holding checkpoints and results.json (or None).
        interrupted: True when Ctrl-C stopped the study early (finished runs are kept).
        settings: epochs, batch size, seed, ... shared by the runs.

    Example:
        >>> result = compare(build, {"activation": ["sigmoid", "relu"]}, x, y, epochs=10)
        >>> print(result)
        >>> result.best.name
        'relu'
    """

    runs: list[RunResult]
    monitor: str = "val_loss"
    metric: str = "loss"
    directory: str | None = None
    interrupted: bool = False
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str | int) -> RunResult:
        if isinstance(name, int):
            return self.runs[name]
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(f"No run named {name!r}. Runs: {[r.name for r in self.runs]}")

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def histories(self) -> dict[str, History]:
        """`{run name: History}`, ready for `plot_comparison`."""
        return {run.name: run.history for run in self.runs}

    @property
    def best(self) -> RunResult:
        """The run whose best `monitor` value is the best of all."""
        mode, _ = resolve_mode(self.monitor)
        scored = [(r.value(self.monitor, r.best_epoch), r) for r in self.runs if r.best_epoch is not None]
        if not scored:
            raise ValueError(f"No run logged a finite {self.monitor!r}; there is no best run.")
        best_value, best_run = scored[0]
        for value, run in scored[1:]:
            if is_improvement(value, best_value, mode):
                best_value, best_run = value, run
        return best_run

    # ------------------------------------------------------------------ the table
    def table(self) -> list[dict[str, Any]]:
        """One row per run: best epoch (1-based), best and final metric, train-val gap, time, params."""
        metric = self.metric
        mode, _ = resolve_mode(metric)
        rows = []
        for run in self.runs:
            best = run.best_epoch
            train_final, val_final = run.value(metric), run.value(f"val_{metric}")
            gap = (train_final - val_final) if mode == "max" else (val_final - train_final)
            rows.append({
                "run": run.name,
                "epochs": run.epochs,
                "best_epoch": None if best is None else best + 1,
                f"best_{self.monitor}": run.value(self.monitor, best) if best is not None else math.nan,
                f"best_val_{metric}": run.value(f"val_{metric}", best) if best is not None else math.nan,
                f"final_val_{metric}": val_final,
                "gap": gap,
                "time_s": run.time_s,
                "params": run.n_params,
            })
        return rows

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame indexed by run (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError("Comparison.to_dataframe() needs pandas: pip install pandas") from err
        return pd.DataFrame(self.table()).set_index("run")

    def format_table(self) -> str:
        """The table as aligned text (what `print(result)` shows)."""
        return format_rows(self.table())

    def __str__(self) -> str:
        head = f"{len(self.runs)} run(s), best by {self.monitor}"
        if self.interrupted:
            head += " (interrupted: only finished runs are shown)"
        return f"{head}\n{self.format_table()}"

    # ------------------------------------------------------------------ plots, diagnosis
    def plot(self, metric: str | None = None, **kwargs: Any) -> Any:
        """Every run on one figure: one colour per run, train solid, validation dashed."""
        from nerve.experiments.plots import plot_comparison

        return plot_comparison(self.histories, metric=metric or self.metric, **kwargs)

    def diagnoses(self) -> dict[str, Any]:
        """`{run name: Diagnosis}` for every run."""
        return {run.name: run.diagnose() for run in self.runs}

    # ------------------------------------------------------------------ ensemble
    def ensemble(self, runs: Sequence[str] | None = None) -> Any:
        """A model that averages the predictions of the runs' best checkpoints.

        Args:
            runs: names of the runs to average (default: all).

        Returns:
            A compiled functional `Model` (same loss and metrics as the first
            member) whose output is the mean of the members' outputs; use its
            `evaluate`, `predict` and `save` like any model.

        Example:
            >>> ens = result.ensemble()
            >>> ens.evaluate(x_test, y_test, return_dict=True)
        """
        from nerve.layers import Average, Input
        from nerve.models.model import Model

        chosen = [self[name] for name in runs] if runs is not None else list(self.runs)
        if not chosen:
            raise ValueError("ensemble: no runs to average.")
        members = [run.load_model() for run in chosen]
        for member, run in zip(members, chosen):
            member.name = f"member_{_safe_dirname(run.name)}"
        first = members[0]
        inputs = [Input(shape=tuple(t.shape[1:]), dtype=getattr(t, "dtype", None), name=f"ensemble_input_{i}")
                  for i, t in enumerate(first.inputs)]
        feed = inputs[0] if len(inputs) == 1 else inputs
        outs = [member(feed) for member in members]
        if len(members) == 1:
            merged = outs[0]
        elif isinstance(outs[0], (list, tuple)):
            merged = [Average(name=f"average_{i}")([o[i] for o in outs]) for i in range(len(outs[0]))]
        else:
            merged = Average(name="average")(outs)
        model = Model(feed, merged, name="ensemble")
        args = getattr(first, "_compile_args", None) or {}
        model.compile(optimizer=first.optimizer if first.optimizer is not None else "rmsprop",
                      loss=args.get("loss"), loss_weights=args.get("loss_weights"),
                      metrics=args.get("metrics"), weighted_metrics=args.get("weighted_metrics"))
        return model

    def evaluate(self, x: Any, y: Any = None, *, ensemble: bool = True, batch_size: int | None = None
                 ) -> list[dict[str, Any]]:
        """Evaluate every run's best checkpoint (and their ensemble) on held-out data.

        Returns:
            One row per run, plus a final row "ensemble (N runs)": `{"run": name,
            <loss and metrics>}`, as returned by `model.evaluate(return_dict=True)`.

        Example:
            >>> print(format_rows(result.evaluate(x_test, y_test)))
        """
        rows = []
        for run in self.runs:
            logs = run.load_model().evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
            rows.append({"run": run.name, **logs})
        if ensemble and len(self.runs) > 1:
            logs = self.ensemble().evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
            rows.append({"run": f"ensemble ({len(self.runs)} runs)", **logs})
        return rows

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole comparison."""
        return {
            "monitor": self.monitor, "metric": self.metric, "directory": self.directory,
            "interrupted": self.interrupted, "settings": self.settings,
            "runs": [run.to_dict() for run in self.runs],
        }

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write `to_dict()` as JSON (default: `<directory>/results.json`); returns the path."""
        if path is None:
            if self.directory is None:
                raise ValueError("Comparison.save() needs a path when the comparison has no directory.")
            path = Path(self.directory) / RESULTS_FILE
        from nerve.saving.atomic import atomic_path

        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, default=_json_default, allow_nan=True)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Comparison":
        """Read a comparison saved by `save()` (a results.json file or its folder)."""
        path = Path(path)
        if path.is_dir():
            path = path / RESULTS_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            runs=[RunResult.from_dict(r) for r in data.get("runs", [])],
            monitor=data.get("monitor", "val_loss"), metric=data.get("metric", "loss"),
            directory=data.get("directory"), interrupted=bool(data.get("interrupted")),
            settings=dict(data.get("settings") or {}),
        )

    def report(self, path: str | os.PathLike | None = None, **kwargs: Any) -> Path:
        """Write a self-contained HTML report (table, figures, diagnosis); see `write_report`."""
        from nerve.experiments.report import write_report

        if path is None:
            if self.directory is None:
                raise ValueError("Comparison.report() needs a path when the comparison has no directory.")
            path = Path(self.directory) / "report.html"
        return write_report(self, path, **kwargs)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def format_cell(value: Any) -> str:
    """A table value as text: floats to 4 significant digits (1 decimal from 100 up), None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def format_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of dicts as an aligned text table (floats to 4 significant digits)."""
    if not rows:
        return "(no runs)"
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[format_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- one run
@dataclass
class _RunSpec:
    index: int
    name: str
    params: dict[str, Any]
    build_params: dict[str, Any]
    compile_params: dict[str, Any]
    fit_params: dict[str, Any]
    directory: str | None


@dataclass
class _Settings:
    build: Callable[..., Any]
    x: Any
    y: Any
    fit: dict[str, Any]
    compile: dict[str, Any]
    callbacks: Any
    monitor: str
    mode: str
    seed: int
    record_gradients: bool
    verbose: int
    total: int


def _route(build: Callable[..., Any], params: Mapping[str, Any]) -> tuple[dict, dict, dict]:
    """Split one run's parameters into (build, compile, fit) arguments by name."""
    try:
        signature = inspect.signature(build)
    except (TypeError, ValueError):
        signature = None
    names: set[str] = set()
    var_kw = False
    if signature is not None:
        for p in signature.parameters.values():
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                var_kw = True
            elif p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
                names.add(p.name)
    build_kw, compile_kw, fit_kw = {}, {}, {}
    for key, value in params.items():
        if key in names:
            build_kw[key] = value
        elif key in COMPILE_PARAMS:
            compile_kw[key] = value
        elif key in FIT_PARAMS:
            fit_kw[key] = value
        elif var_kw:
            build_kw[key] = value
        else:
            raise ValueError(
                f"compare: grid parameter {key!r} is neither an argument of "
                f"{getattr(build, '__name__', 'build')}{signature or '(...)'} nor a compile argument "
                f"({', '.join(sorted(COMPILE_PARAMS))}) nor a fit argument ({', '.join(sorted(FIT_PARAMS))}). "
                f"Add `{key}` to build's parameters, or fix its spelling."
            )
    return build_kw, compile_kw, fit_kw


def _fresh_optimizer(optimizer: Any, learning_rate: Any) -> Any:
    from nerve import optimizers

    if not isinstance(optimizer, str) and hasattr(optimizer, "get_config"):
        optimizer = type(optimizer).from_config(optimizer.get_config())  # never share slots between runs
    else:
        optimizer = optimizers.get(optimizer)
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    return optimizer


def _compile(model: Any, shared: Mapping[str, Any], own: Mapping[str, Any], name: str) -> None:
    wanted = {**shared, **own}
    if not wanted and getattr(model, "compiled", False):
        return
    if getattr(model, "compiled", False):
        base = dict(model._compile_args)
        base["optimizer"] = model.optimizer
    else:
        base = {}
    merged = {**base, **wanted}
    learning_rate = merged.pop("learning_rate", None)
    if merged.get("loss") is None:
        raise ValueError(
            f"compare: run {name!r}: build returned an uncompiled model and no loss was given. Either "
            "compile the model inside build, or pass compile={'optimizer': 'adam', 'loss': "
            "'sparse_categorical_crossentropy', 'metrics': ['accuracy']} to compare."
        )
    merged["optimizer"] = _fresh_optimizer(merged.get("optimizer", "rmsprop"), learning_rate)
    model.compile(**merged)


def _run_callbacks(settings: _Settings, spec: _RunSpec) -> list[Callback]:
    given = settings.callbacks
    if given is None:
        return []
    if callable(given) and not isinstance(given, (list, tuple, Callback)):
        made = given(Path(spec.directory)) if _takes_argument(given) else given()
        return list(made or [])
    items = [given] if isinstance(given, Callback) else list(given)
    return [copy.deepcopy(cb) for cb in items]  # each run starts from the callbacks' pristine state


def _takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        return len(inspect.signature(fn).parameters) > 0
    except (TypeError, ValueError):
        return False


class _RunProgress(Callback):
    """One status line per run: '[2/4] relu+adam  epoch 7/20  loss 0.31  val_loss 0.35'."""

    def __init__(self, index: int, total: int, name: str, verbose: int) -> None:
        super().__init__()
        self.prefix = f"[{index + 1}/{total}] {name}"
        self.verbose = verbose
        self.dynamic = verbose == 1 and _stdout_is_dynamic()
        self.last = ""

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        shown = "  ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items()
                          if k != "learning_rate" and isinstance(v, (int, float)))
        self.last = f"{self.prefix}  epoch {epoch + 1}/{self.params.get('epochs', '?')}  {shown}"
        if self.dynamic:
            sys.stdout.write("\r" + self.last + "\x1b[K")
            sys.stdout.flush()


def _train_one(settings: _Settings, spec: _RunSpec) -> RunResult:
    from nerve.models.model import Model

    backend.set_random_seed(settings.seed)
    model = settings.build(**spec.build_params)
    if not isinstance(model, Model):
        raise TypeError(
            f"compare: build({', '.join(f'{k}={v!r}' for k, v in spec.build_params.items())}) must return a "
            f"nerve Model (Sequential or functional). Received: {type(model).__name__}"
        )
    _compile(model, settings.compile, spec.compile_params, spec.name)
    callbacks = _run_callbacks(settings, spec)
    checkpoint = None
    if spec.directory is not None:
        Path(spec.directory).mkdir(parents=True, exist_ok=True)
        checkpoint = str(Path(spec.directory) / "best.keras")
        callbacks.append(ModelCheckpoint(checkpoint, monitor=settings.monitor, mode=settings.mode,
                                         save_best_only=True))
    monitor_grads = None
    if settings.record_gradients:
        from nerve.callbacks.gradient_monitor import GradientMonitor

        monitor_grads = GradientMonitor()
        callbacks.append(monitor_grads)
    progress = _RunProgress(spec.index, settings.total, spec.name, settings.verbose)
    if settings.verbose:
        callbacks.append(progress)
    fit_kwargs = {**settings.fit, **spec.fit_params}
    start = time.perf_counter()
    history = model.fit(settings.x, settings.y, verbose=0, callbacks=callbacks, **fit_kwargs)
    elapsed = time.perf_counter() - start
    result = RunResult(
        name=spec.name, params=spec.params, history=History.from_dict(history.history, history.epoch),
        monitor=settings.monitor, best_epoch=best_epoch_of(history.history, settings.monitor, settings.mode),
        time_s=elapsed, n_params=int(model.count_params()),
        checkpoint=checkpoint if checkpoint and Path(checkpoint).exists() else None,
        gradient_norms={k: list(v) for k, v in monitor_grads.norms.items()} if monitor_grads else None,
    )
    if settings.verbose:
        best = result.best_epoch
        tail = (f"best {settings.monitor} {result.value(settings.monitor, best):.4g} at epoch {best + 1}"
                if best is not None else f"no finite {settings.monitor}")
        line = f"{progress.last or progress.prefix}  ({elapsed:.1f} s; {tail})"
        sys.stdout.write(("\r" + line + "\x1b[K\n") if progress.dynamic else line + "\n")
        sys.stdout.flush()
    return result


# ---------------------------------------------------------------------------- worker processes
_WORKER_SETTINGS: _Settings | None = None


def _init_worker(settings: _Settings, threads: int) -> None:
    global _WORKER_SETTINGS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C does
    import torch

    torch.set_num_threads(threads)
    _WORKER_SETTINGS = settings


def _worker_run(spec: _RunSpec) -> tuple[int, RunResult | None, str | None]:
    assert _WORKER_SETTINGS is not None
    try:
        return spec.index, _train_one(_WORKER_SETTINGS, spec), None
    except Exception:  # noqa: BLE001 - sent back to the parent, which raises it with the run's name
        return spec.index, None, traceback.format_exc()


def _resolve_jobs(n_jobs: int | None, runs: int) -> int:
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 1:
        return 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"compare: n_jobs must be a positive integer or -1 (all cores). Received: n_jobs={n_jobs!r}")
    return max(1, min(runs, cores if n_jobs == -1 else n_jobs))


def _default_directory() -> Path:
    base = Path("nerve_runs") / time.strftime("compare-%Y%m%d-%H%M%S")
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


# ---------------------------------------------------------------------------- compare
def compare(
    build: Callable[..., Any],
    grid: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    x: Any,
    y: Any = None,
    *,
    epochs: int = 10,
    batch_size: int | None = None,
    validation_split: float = 0.2,
    validation_data: Any = None,
    compile: Mapping[str, Any] | None = None,  # noqa: A002 - Keras's word
    callbacks: Any = None,
    monitor: str = "val_loss",
    mode: str = "auto",
    metric: str | None = None,
    seed: int = 0,
    directory: str | os.PathLike | None = None,
    save_best: bool = True,
    record_gradients: bool = False,
    n_jobs: int | None = 1,
    verbose: int = 1,
    **fit_kwargs: Any,
) -> Comparison:
    """Train `build(**params)` once per grid point on the same data, and compare the runs.

    Args:
        build: a function returning a new model (compiled or not) for some
            keyword parameters, e.g. `build(activation="relu")`.
        grid: a dict of lists (every combination) or a list of dicts (these
            runs). Keys are build's parameters, compile arguments (`optimizer`,
            `learning_rate`, `loss`, `metrics`, ...) or fit arguments
            (`batch_size`, `epochs`, `class_weight`, ...).
        x, y: training data, as for `fit` (arrays; a validation part is split off).
        epochs: epochs per run (default 10).
        batch_size: batch size (default None: fit's 32).
        validation_split: fraction of the data (from the end) for validation
            (default 0.2; ignored when `validation_data` is given).
        validation_data: `(x_val, y_val)` instead of a split (default None).
        compile: compile arguments for every run (default None: build compiles,
            or the grid supplies `optimizer`/`loss`).
        callbacks: a list of callbacks (deep-copied for each run) or a function
            returning a new list, optionally taking the run's folder (default None).
        monitor: the quantity that picks each run's best epoch and checkpoint
            (default "val_loss").
        mode: "auto", "min" or "max" for `monitor` (default "auto").
        metric: the table's main metric (default: the first logged metric that
            is not a loss, else "loss").
        seed: the seed set before each run, so every run starts from the same
            random state (default 0).
        directory: folder for checkpoints and results.json (default
            `nerve_runs/compare-<date>-<time>`).
        save_best: keep each run's best model as `<directory>/<run>/best.keras`
            (default True).
        record_gradients: add a `GradientMonitor` to each run (default False).
        n_jobs: runs trained at once in separate processes; -1 uses every core
            (default 1). With n_jobs > 1, `build` must be importable (a module
            level function) and scripts need `if __name__ == "__main__":`.
        verbose: 0 silent, 1 a live status line per run, 2 one line per finished run (default 1).
        **fit_kwargs: other `fit` arguments for every run (e.g. `shuffle=False`).

    Returns:
        A `Comparison`: `print()` it for the table; `.runs`, `.histories`,
        `.plot()`, `.best`, `.ensemble()`, `.evaluate(x_test, y_test)`,
        `.report()`. Ctrl-C stops early and returns the finished runs
        (`interrupted=True`).

    Example:
        >>> def build(activation="relu"):
        ...     return keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation=activation),
        ...                              keras.layers.Dense(10, activation="softmax")])
        >>> result = compare(build, {"activation": ["sigmoid", "relu"], "optimizer": ["sgd", "adam"]},
        ...                  x, y, epochs=20, compile={"loss": "sparse_categorical_crossentropy",
        ...                                            "metrics": ["accuracy"]})
        >>> print(result)
    """
    if not callable(build):
        raise TypeError(f"compare: build must be a function returning a model. Received: {type(build).__name__}")
    points = expand_grid(grid)
    names = [run_name(p) for p in points]
    for i, name in enumerate(names):  # make labels unique
        if names.count(name) > 1:
            names[i] = f"{name}#{names[:i].count(name) + 1}"
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"compare: seed must be a non-negative integer. Received: seed={seed!r}")
    out_dir = None
    if save_best:
        out_dir = Path(directory) if directory is not None else _default_directory()
        out_dir.mkdir(parents=True, exist_ok=True)
    specs = []
    for i, (name, params) in enumerate(zip(names, points)):
        build_kw, compile_kw, fit_kw = _route(build, params)
        run_dir = str(out_dir / f"{i + 1:02d}-{_safe_dirname(name)}") if out_dir is not None else None
        specs.append(_RunSpec(i, name, params, build_kw, compile_kw, fit_kw, run_dir))
    fit_shared = {"epochs": epochs, "batch_size": batch_size, **fit_kwargs}
    if validation_data is not None:
        fit_shared["validation_data"] = validation_data
    elif validation_split:
        fit_shared["validation_split"] = validation_split
    settings = _Settings(build, x, y, fit_shared, dict(compile or {}), callbacks, monitor, mode, seed,
                         record_gradients, int(verbose), len(specs))
    jobs = _resolve_jobs(n_jobs, len(specs))
    result = Comparison(
        runs=[], monitor=monitor, metric=metric or "loss",
        directory=str(out_dir) if out_dir is not None else None,
        settings={"epochs": epochs, "batch_size": batch_size, "validation_split": validation_split
                  if validation_data is None else None, "seed": seed, "n_jobs": jobs,
                  "grid": [{k: _value_label(v) for k, v in p.items()} for p in points]},
    )
    finished: dict[int, RunResult] = {}

    def keep(index: int, run: RunResult) -> None:
        finished[index] = run
        result.runs = [finished[i] for i in sorted(finished)]
        if metric is None:
            result.metric = _main_metric(result.runs)
        if out_dir is not None:
            result.save()

    try:
        if jobs == 1:
            for spec in specs:
                keep(spec.index, _train_one(settings, spec))
        else:
            _run_parallel(settings, specs, jobs, keep)
    except KeyboardInterrupt:
        result.interrupted = True
        if out_dir is not None:
            result.save()
        if verbose:
            print(f"\nInterrupted: kept {len(result.runs)} finished run(s) of {len(specs)}.", flush=True)
    return result


def _run_parallel(settings: _Settings, specs: list[_RunSpec], jobs: int,
                  keep: Callable[[int, RunResult], None]) -> None:
    try:
        pickle.dumps(settings.build)
    except Exception as err:  # noqa: BLE001 - any pickling failure means the same thing
        raise ValueError(
            f"compare(n_jobs={jobs}) sends build to worker processes, but {settings.build!r} cannot be "
            "pickled (a lambda or a function defined inside another function). Define build at the top "
            "level of a module, or use n_jobs=1."
        ) from err
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(jobs, initializer=_init_worker, initargs=(settings, threads))
    try:
        for index, run, error in pool.imap_unordered(_worker_run, specs):
            if error is not None:
                raise RuntimeError(f"compare: run {specs[index].name!r} failed in its worker process:\n{error}")
            assert run is not None
            keep(index, run)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _main_metric(runs: Sequence[RunResult]) -> str:
    for run in runs:
        for key in run.history.history:
            if not key.startswith("val_") and not key.endswith("loss") and key != "learning_rate" \
                    and f"val_{key}" in run.history.history:
                return key
    return "loss"
