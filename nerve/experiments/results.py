"""The results of `compare`: each run (`RunResult`) and the whole study (`Comparison`).

A `Comparison` prints as a table, plots every run on one figure, diagnoses
each run's curves, averages the runs' best checkpoints into an ensemble,
and saves itself as results.json (reloaded with `Comparison.load`).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerve.callbacks.history import History
from nerve.callbacks.monitor import is_improvement, resolve_mode

__all__ = ["Comparison", "RunResult", "best_epoch_of", "format_cell", "format_rows", "run_name"]

RESULTS_FILE = "results.json"


# ---------------------------------------------------------------------------- run labels
def value_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, bool)) or value is None:
        return str(value)
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    return str(name) if name else type(value).__name__


def run_name(params: Mapping[str, Any]) -> str:
    """A short label: names joined by '+', numbers as key=value (e.g. 'relu+adam+dropout=0.2')."""
    def part(key: str, value: Any) -> str:
        if isinstance(value, (bool, int, float)) or value is None:
            return f"{key}={value_label(value)}"
        return value_label(value)  # strings, and objects by their name (an optimizer instance: 'sgd')

    parts = [part(k, v) for k, v in params.items()]
    return "+".join(parts) or "run"


def safe_dirname(name: str) -> str:
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
            "name": self.name, "params": {k: value_label(v) for k, v in self.params.items()},
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
                **({} if self.monitor == f"val_{metric}" else {
                    f"best_{self.monitor}": run.value(self.monitor, best) if best is not None else math.nan}),
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
            member.name = f"member_{safe_dirname(run.name)}"
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

    def evaluate(self, x: Any, y: Any = None, *, ensemble: bool = True, runs: Sequence[str] | None = None,
                 batch_size: int | None = None) -> list[dict[str, Any]]:
        """Evaluate every run's best checkpoint (and their ensemble) on held-out data.

        Args:
            x, y: the held-out data, as for `Model.evaluate`.
            ensemble: add a row for the average of the members (default True).
            runs: names of the ensemble's members (default None: every run).
            batch_size: evaluation batch size (default None: 32).

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
        members = list(runs) if runs is not None else [run.name for run in self.runs]
        if ensemble and len(members) > 1:
            logs = self.ensemble(members).evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
            rows.append({"run": f"ensemble ({len(members)} runs)", **logs})
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
