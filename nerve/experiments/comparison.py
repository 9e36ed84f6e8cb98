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
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerve import backend
from nerve.callbacks.callback import Callback
from nerve.callbacks.history import History
from nerve.callbacks.model_checkpoint import ModelCheckpoint
from nerve.experiments.results import (
    Comparison,
    RunResult,
    best_epoch_of,
    format_rows,
    run_name,
    safe_dirname,
    value_label,
)
from nerve.utils.progbar import _stdout_is_dynamic

__all__ = ["Comparison", "RunResult", "compare", "expand_grid", "format_rows"]

COMPILE_PARAMS = frozenset({
    "optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "learning_rate",
})
FIT_PARAMS = frozenset({
    "batch_size", "epochs", "shuffle", "class_weight", "sample_weight", "validation_split",
    "validation_batch_size", "steps_per_epoch", "validation_steps", "validation_freq",
})


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
        folder = Path(spec.directory) if spec.directory is not None else None
        made = given(folder) if _takes_argument(given) else given()
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

    backend.clear_session()  # every run names its layers dense, dense_1, ... in any process
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
        checkpoint = str(Path(spec.directory).resolve() / "best.keras")  # absolute: results.json works anywhere
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
    base = [run_name(p) for p in points]
    names = [f"{name}#{base[:i].count(name) + 1}" if base.count(name) > 1 else name
             for i, name in enumerate(base)]  # identical grid points get #1, #2, ...
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"compare: seed must be a non-negative integer. Received: seed={seed!r}")
    out_dir = None
    if save_best:
        out_dir = (Path(directory) if directory is not None else _default_directory()).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
    specs = []
    for i, (name, params) in enumerate(zip(names, points)):
        build_kw, compile_kw, fit_kw = _route(build, params)
        run_dir = str(out_dir / f"{i + 1:02d}-{safe_dirname(name)}") if out_dir is not None else None
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
                  "grid": [{k: value_label(v) for k, v in p.items()} for p in points]},
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
