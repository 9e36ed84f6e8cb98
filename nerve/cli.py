"""The `nerve` command: seed 0's study from the shell, and a look at saved models.

    nerve compare                      # sigmoid/relu x SGD/Adam on the bundled digits, offline
    nerve compare --dataset mnist --epochs 20 --out runs/mnist
    nerve summary runs/digits/04-relu+adam/best.keras
    nerve evaluate runs/digits/04-relu+adam/best.keras --dataset digits

`python -m nerve ...` works the same. Exit status: 0 done, 1 bad input
(message on stderr), 130 stopped by Ctrl-C (finished runs are kept).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_dataset", "main"]

DATASETS = ("digits", "mnist", "fashion_mnist")
MODELS = ("mlp", "cnn")


def load_dataset(name: str, data_dir: str | None = None, limit: int | None = None
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load a dataset as float32 images in [0, 1] and integer labels: `(x, y), (x_test, y_test)`.

    Args:
        name: "digits" (scikit-learn's 8x8, offline), "mnist" or "fashion_mnist".
        data_dir: a folder with the dataset's files (default None: the usual
            lookup of `nerve.datasets`, which may download).
        limit: keep only the first `limit` training samples (default None: all).
    """
    from nerve import datasets

    if name == "digits":
        (x, y), (xt, yt) = datasets.digits.load_data()
    elif name == "mnist":
        (x, y), (xt, yt) = datasets.mnist.load_data(data_dir) if data_dir else datasets.mnist.load_data()
    elif name == "fashion_mnist":
        (x, y), (xt, yt) = datasets.fashion_mnist.load_data(data_dir)
    else:
        raise ValueError(f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASETS)}")
    if limit:
        x, y = x[:limit], y[:limit]
    return (x.astype("float32") / 255.0, y.astype("int64")), (xt.astype("float32") / 255.0, yt.astype("int64"))


def _fit_to_model(model: Any, x: np.ndarray) -> np.ndarray:
    """Reshape images to the model's input shape when only the layout differs (e.g. 28x28 vs 784)."""
    shape = getattr(model.inputs[0], "shape", None) if getattr(model, "inputs", None) else None
    if shape is None or any(d is None for d in shape[1:]):
        return x
    want = tuple(int(d) for d in shape[1:])
    if x.shape[1:] != want and int(np.prod(want)) == int(np.prod(x.shape[1:])):
        return x.reshape((len(x), *want))
    return x


# ---------------------------------------------------------------------------- compare
def _compare(args: argparse.Namespace) -> int:
    from nerve import backend
    from nerve.callbacks import EarlyStopping
    from nerve.experiments import builders
    from nerve.experiments.comparison import compare, format_rows

    (x, y), (x_test, y_test) = load_dataset(args.dataset, args.data_dir, args.limit)
    print(f"{args.dataset}: {len(x)} training images {x.shape[1:]} (validation split {args.validation_split}), "
          f"{len(x_test)} test images; device {backend.get_device()}", flush=True)
    make = builders.mlp if args.model == "mlp" else builders.small_cnn
    build = functools.partial(make, input_shape=x.shape[1:], num_classes=int(max(y.max(), y_test.max())) + 1)
    grid: dict[str, Any] = {"activation": args.activations, "optimizer": args.optimizers}
    if args.learning_rates:
        grid["learning_rate"] = args.learning_rates
    out = Path(args.out)
    callbacks = [EarlyStopping(monitor=args.monitor, patience=args.patience)] if args.patience else None
    start = time.perf_counter()
    result = compare(
        build, grid, x, y, epochs=args.epochs, batch_size=args.batch_size,
        validation_split=args.validation_split, monitor=args.monitor, seed=args.seed,
        compile={"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        callbacks=callbacks, directory=out, record_gradients=True, n_jobs=args.jobs,
        verbose=0 if args.quiet else 1,
    )
    elapsed = time.perf_counter() - start
    if not result.runs:
        print("No run finished; nothing to report.", file=sys.stderr)
        return 130 if result.interrupted else 1
    print(f"\n{result}")
    test_rows = result.evaluate(x_test, y_test, batch_size=args.batch_size)
    print("(gap: final training minus validation accuracy; well above 0 means overfitting)")
    print(f"\nTest set ({len(x_test)} images), best checkpoint of each run and their average:")
    print(format_rows(test_rows))
    if len(result.runs) > 1:
        print("(the ensemble averages the runs' predicted probabilities; weak runs make it less sure, "
              "so its loss can be high while its accuracy is good)")
    print("\nDiagnosis:")
    for run in result.runs:
        print(f"  {run.name}:")
        for finding in run.diagnose().findings:
            print(f"    - {finding.kind}: {finding.message}")
    figure = out / "comparison.png"
    result.plot("accuracy", path=figure)
    report = result.report(out / "report.html", test_results=test_rows,
                           title=f"nerve compare: {args.dataset}, {args.model}")
    print(f"\n{len(result.runs)} run(s) in {elapsed:.1f} s. Figure: {figure}  Report: {report}  "
          f"Best model: {result.best.checkpoint}")
    if result.interrupted:
        print("Stopped by Ctrl-C: the table, figure and report cover the finished runs.", file=sys.stderr)
        return 130
    return 0


# ---------------------------------------------------------------------------- summary / evaluate
def _load(path: str) -> Any:
    from nerve.saving.saving_api import load_model

    if not Path(path).is_file():
        raise ValueError(f"No model file at {path!r}. Give the path of a .keras, .h5 or .hdf5 file.")
    return load_model(path)


def _summary(args: argparse.Namespace) -> int:
    model = _load(args.file)
    model.summary()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    model = _load(args.file)
    _, (x_test, y_test) = load_dataset(args.dataset, args.data_dir)
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = model.evaluate(_fit_to_model(model, x_test), y_test, batch_size=args.batch_size, verbose=0,
                          return_dict=True)
    print(f"{args.file} on the {args.dataset} test set ({len(x_test)} images):")
    for key, value in logs.items():
        print(f"  {key}: {float(value):.4f}")
    return 0


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `nerve` command."""
    parser = argparse.ArgumentParser(prog="nerve", description="nerve: Keras-style deep learning on PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True)

    cmp = sub.add_parser("compare", help="train seed 0's network under several set-ups and compare them",
                         description="Train one network as every combination of activations and optimizers "
                                     "(seed 0: sigmoid/relu x SGD/Adam), on the same data and seed; write the "
                                     "figure, an HTML report with a diagnosis, and each run's best model.")
    cmp.add_argument("--dataset", choices=DATASETS, default="digits",
                     help="digits (bundled, offline; default), mnist or fashion_mnist")
    cmp.add_argument("--data-dir", default=None, help="folder with the dataset's files (default: usual lookup)")
    cmp.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    cmp.add_argument("--model", choices=MODELS, default="mlp", help="mlp (seed 0, default) or cnn")
    cmp.add_argument("--activations", nargs="+", default=["sigmoid", "relu"], metavar="NAME",
                     help="hidden activations to compare (default: sigmoid relu)")
    cmp.add_argument("--optimizers", nargs="+", default=["sgd", "adam"], metavar="NAME",
                     help="optimizers to compare, with Keras's default learning rates (default: sgd adam)")
    cmp.add_argument("--learning-rates", nargs="+", type=float, default=None, metavar="LR",
                     help="also compare these learning rates (default: each optimizer's own)")
    cmp.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20, as seed 0)")
    cmp.add_argument("--batch-size", type=int, default=128, help="batch size (default 128, as seed 0)")
    cmp.add_argument("--validation-split", type=float, default=0.2, help="validation fraction (default 0.2)")
    cmp.add_argument("--monitor", default="val_accuracy",
                     help="quantity for the best checkpoint and early stopping (default val_accuracy, as seed 0)")
    cmp.add_argument("--patience", type=int, default=10,
                     help="EarlyStopping patience in epochs; 0 turns it off (default 10, as seed 0)")
    cmp.add_argument("--seed", type=int, default=0, help="random seed of every run (default 0)")
    cmp.add_argument("--jobs", type=int, default=1, help="runs trained at once in separate processes; -1: all cores")
    cmp.add_argument("--out", default="nerve_runs/compare", help="output folder (default nerve_runs/compare)")
    cmp.add_argument("--quiet", action="store_true", help="no per-run progress lines")
    cmp.set_defaults(func=_compare)

    summ = sub.add_parser("summary", help="print a saved model's summary")
    summ.add_argument("file", help="a .keras, .h5 or .hdf5 model file")
    summ.set_defaults(func=_summary)

    ev = sub.add_parser("evaluate", help="evaluate a saved model on a dataset's test set")
    ev.add_argument("file", help="a .keras, .h5 or .hdf5 model file")
    ev.add_argument("--dataset", choices=DATASETS, default="digits", help="test set to use (default digits)")
    ev.add_argument("--data-dir", default=None, help="folder with the dataset's files")
    ev.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    ev.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `nerve` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\nStopped by Ctrl-C.", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError) as err:
        if os.environ.get("NERVE_DEBUG"):
            raise
        print(f"nerve {args.command}: error: {err}\n(set NERVE_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
