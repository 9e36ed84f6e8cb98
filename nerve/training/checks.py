"""Checks of what users pass to compile/fit/evaluate/predict, run once per call before any step.

Each refuses a mistake with what is wrong, where (argument, output, layer), what was
received and how to fix it; the catalogue of cases is tests/robustness/test_bad_input.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nerve.training import data_adapter

def check_names(loss: Any, metrics: Any, weighted_metrics: Any) -> None:
    """Resolve every loss and metric spec once at compile time, so typos fail before fit.

    Names are looked up (the error lists the valid ones and the closest); other specs must be
    a Loss/Metric, a function, a class or a config dict. "accuracy" and "crossentropy" are
    resolved later from the shapes, as in Keras.
    """
    from nerve import losses as losses_module
    from nerve import metrics as metrics_module
    from nerve.training.compile_utils import _is_accuracy, _is_crossentropy

    for spec in _spec_leaves(loss):
        losses_module.get(spec)
    for spec in _spec_leaves([metrics, weighted_metrics]):
        if isinstance(spec, str):
            if not (_is_accuracy(spec) or _is_crossentropy(spec)):
                metrics_module.get(spec)
        elif not (callable(spec) or isinstance(spec, (dict, metrics_module.Metric))):
            metrics_module.get(spec)  # raises, naming the spec and the valid names


def _spec_leaves(specs: Any) -> list[Any]:
    """The single specs in compile's nested lists and per-output dicts; a config dict is one spec."""
    if specs is None:
        return []
    if isinstance(specs, dict) and "class_name" not in specs:
        return [leaf for v in specs.values() for leaf in _spec_leaves(v)]
    if isinstance(specs, (list, tuple)):
        return [leaf for v in specs for leaf in _spec_leaves(v)]
    return [specs]


def check_has_layers(model: Any, method: str) -> None:
    """An empty Sequential would otherwise "build" into the identity and predict its input."""
    from nerve.models.sequential import Sequential

    if isinstance(model, Sequential) and not model._layers:
        raise ValueError(
            f"Sequential model '{model.name}' has no layers, so there is nothing to {method}. "
            "Add layers first, e.g. model.add(nerve.layers.Dense(10)), or pass them to Sequential([...])."
        )


def check_fit_arguments(epochs: Any, initial_epoch: Any, validation_split: Any, validation_freq: Any,
                         steps_per_epoch: Any, validation_steps: Any, validation_batch_size: Any) -> None:
    """fit's counts and fractions, refused before any data is moved or any step is taken."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer. Received: epochs={epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(
            "initial_epoch must be a non-negative integer (the epoch to resume from; 0 to start afresh). "
            f"Received: initial_epoch={initial_epoch!r}"
        )
    if validation_split is not None and validation_split != 0 and (
            isinstance(validation_split, bool) or not isinstance(validation_split, (int, float))
            or not 0 < validation_split < 1):
        raise ValueError(
            "validation_split must be a number strictly between 0 and 1 (the fraction of the samples, "
            f"taken from the end, kept for validation), or 0 for none. Received: validation_split={validation_split!r}"
        )
    data_adapter.check_positive_int("validation_freq", validation_freq, allow_none=False)
    data_adapter.check_positive_int("steps_per_epoch", steps_per_epoch)
    data_adapter.check_positive_int("validation_steps", validation_steps)
    if validation_batch_size is not None:
        data_adapter.check_positive_int("validation_batch_size", validation_batch_size)


def adapt_validation(x: Any, y: Any, sample_weight: Any, **kwargs: Any) -> Any:
    """`data_adapter.adapt` for validation_data, whose errors say that they are about it."""
    try:
        return data_adapter.adapt(x, y, sample_weight, **kwargs)
    except (ValueError, TypeError) as err:
        raise type(err)(f"In validation_data: {err}") from None


def target_name(y: Any, index: int, output_name: str) -> str:
    """How messages name output `index`'s targets: y, y[1] or y['head']."""
    if isinstance(y, dict):
        return f"y[{output_name!r}]"
    if isinstance(y, (list, tuple)):
        return f"y[{index}]"
    return "y"


def builtin_loss_fn(loss: Any) -> Any:
    """The nerve.losses function behind a built-in loss (name, function or class), else None.

    Only these are checked against the targets: a custom loss may read y as it likes.
    """
    from nerve import losses as losses_module

    fn = getattr(loss, "fn", None)
    if not isinstance(loss, losses_module.LossFunctionWrapper) or type(loss).call is not \
            losses_module.LossFunctionWrapper.call:
        return None
    if getattr(fn, "__module__", None) != losses_module.__name__:
        return None
    return fn


_ELEMENTWISE_LOSSES = frozenset({
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "poisson", "cosine_similarity", "binary_crossentropy", "binary_focal_crossentropy",
})
_ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy"})


def _fits(shape: tuple, pattern: tuple) -> bool:
    """`shape` equals `pattern`, where a None in `pattern` (an unknown size) matches any size."""
    return len(shape) == len(pattern) and all(p is None or p == s for s, p in zip(shape, pattern))


def check_targets(loss: Any, y: torch.Tensor, out_shape: tuple, output_name: str, sw: Any = None) -> None:
    """Refuse targets (and sample weights) that do not fit a built-in loss and the output, before any step.

    Sparse categorical cross-entropy: integer labels, one per prediction, in [0, units - 1]
    (`ignore_class` aside), and no one-hot labels. Categorical: one-hot labels of the output's
    shape, and no class indices. Element-wise losses: y of the output's shape, up to Keras's
    trailing axis of 1 and broadcast axes of 1. Binary cross-entropy: labels in [0, 1].
    Each message names the output, the loss, what was received and the fix (often the right loss).
    """
    fn = builtin_loss_fn(loss)
    if fn is None or not out_shape:
        return
    name = fn.__name__
    options = getattr(loss, "_fn_kwargs", {}) or {}
    axis = options.get("axis", -1)
    axis = axis % len(out_shape) if isinstance(axis, int) and -len(out_shape) <= axis < len(out_shape) else None
    if axis is None or axis == 0:
        return
    units = out_shape[axis]
    per_sample = tuple(out_shape[1:axis]) + tuple(out_shape[axis + 1:])  # the shape of one sample's losses
    labels = tuple(y.shape[1:])
    where = f"Output '{output_name}'"
    if name == "sparse_categorical_crossentropy":
        _check_sparse_labels(y, labels, per_sample, units, axis == len(out_shape) - 1, options, where)
    elif name in _ONE_HOT_LOSSES:
        if not _fits(labels, tuple(out_shape[1:])):
            indices = _fits(labels, per_sample) or _fits(labels, per_sample + (1,))
            hint = (
                f" The labels look like class indices: use loss='sparse_categorical_crossentropy', or "
                f"convert them with nerve.utils.to_categorical(y, num_classes={units})."
                if indices and units is not None else
                f" Make the last layer have {labels[-1]} units (one per class), or fix y."
                if labels and len(labels) == len(out_shape) - 1 else ""
            )
            raise ValueError(
                f"{where}: {name} expects one-hot labels of the output's shape {_batch_shape(out_shape)}, "
                f"received labels of shape {tuple(y.shape)}.{hint}"
            )
    elif name in _ELEMENTWISE_LOSSES:
        _check_elementwise(name, y, labels, tuple(out_shape), where)
        if name in ("binary_crossentropy", "binary_focal_crossentropy") and y.numel():
            low, high = float(y.min().item()), float(y.max().item())
            if low < 0 or high > 1:
                raise ValueError(
                    f"{where}: {name} expects labels in [0, 1], received values from {low} to {high}. "
                    "For several classes use sparse_categorical_crossentropy with a softmax output with one "
                    "unit per class; for -1/1 labels, map them with (y + 1) / 2."
                )
    else:
        return
    if isinstance(sw, torch.Tensor):
        _check_sample_weight(sw, per_sample, name, where)


def _batch_shape(shape: tuple) -> tuple:
    return (None,) + tuple(shape[1:])


def _check_sparse_labels(y: torch.Tensor, labels: tuple, per_sample: tuple, units: Any, last_axis: bool,
                         options: dict, where: str) -> None:
    name = "sparse_categorical_crossentropy"
    if last_axis and units is not None and units > 1 and _fits(labels, per_sample + (units,)):
        raise ValueError(
            f"{where}: the labels look one-hot encoded (shape {tuple(y.shape)}, one column per class), "
            f"but the loss is {name}, which expects integer class indices of shape (n,"
            f"{''.join(f' {d},' for d in per_sample)}). Use loss='categorical_crossentropy' for one-hot labels, "
            "or pass y.argmax(axis=-1)."
        )
    if not (_fits(labels, per_sample) or _fits(labels, per_sample + (1,))):
        raise ValueError(
            f"{where}: {name} expects one integer label per prediction (labels of shape (n,"
            f"{''.join(f' {d},' for d in per_sample)}) or with a trailing 1), received labels of shape "
            f"{tuple(y.shape)}. For one-hot labels use loss='categorical_crossentropy'."
        )
    if y.is_floating_point() and bool((y != y.round()).any()):
        raise ValueError(
            f"{where}: {name} expects integer class labels, but y holds non-integer values such as "
            f"{y[y != y.round()][0].item()!r}. For continuous targets use a regression loss such as 'mse'; "
            "for class labels stored as floats, round them (np.rint(y).astype('int64'))."
        )
    ignore = options.get("ignore_class")
    values = y if ignore is None else y[y != ignore]
    if units is None or not values.numel():
        return
    low, high = int(values.min().item()), int(values.max().item())
    if low < 0:
        raise ValueError(
            f"{where}: label {low} is outside the valid range [0, {units - 1}] of {name} for an output with "
            f"{units} units: class indices start at 0. Map the labels to 0..{units - 1} (e.g. y - 1 for labels "
            f"counted from 1, (y + 1) // 2 for -1/1 labels), or leave a padding label out of the loss with "
            f"SparseCategoricalCrossentropy(ignore_class={low})."
        )
    if high >= units:
        raise ValueError(
            f"{where}: label {high} is outside the valid range [0, {units - 1}] of {name} for an output with "
            f"{units} units. Make the last layer have as many units as there are classes (here at least "
            f"{high + 1}), or fix the labels."
        )


def _check_elementwise(name: str, y: torch.Tensor, labels: tuple, out_shape: tuple, where: str) -> None:
    """y against the output as the loss will see them: Keras's rank rule, then broadcasting of 1s."""
    ys, ps = labels, tuple(out_shape[1:])
    if len(ys) == len(ps) + 1 and ys and ys[-1] == 1:
        ys = ys[:-1]
    elif len(ps) == len(ys) + 1 and ps and ps[-1] == 1:
        ps = ps[:-1]
    if len(ys) == len(ps) and all(a == b or a == 1 or b in (1, None) for a, b in zip(ys, ps)):
        return
    if len(ps) > len(ys):
        hint = (" The output keeps axes the targets do not have: add a Flatten() or a global pooling layer "
                "before the last Dense layer, or give y the output's shape.")
    elif len(ys) == len(ps) and ys[-1:] != ps[-1:] and len(ys) >= 1:
        hint = f" Make the last layer have {ys[-1]} units, one per target value, or fix y."
    else:
        hint = " Give y the output's shape (reshape it), or change the model's last layer."
    raise ValueError(
        f"{where}: the loss {name} compares y with the output element by element, but y has shape "
        f"{tuple(y.shape)} and the output has shape {_batch_shape(out_shape)}.{hint}"
    )


def _check_sample_weight(sw: torch.Tensor, per_sample: tuple, name: str, where: str) -> None:
    """Weights multiply the loss of each sample (or of each timestep): their shape must broadcast to it."""
    ws = tuple(sw.shape[1:])
    if len(ws) == len(per_sample) + 1 and ws[-1] == 1:
        ws = ws[:-1]
    if len(ws) <= len(per_sample) and all(w == v or w == 1 or v in (1, None) for w, v in zip(ws, per_sample)):
        return
    shape = "(n,)" if not per_sample else f"(n,) or (n,{''.join(f' {d},' for d in per_sample)})"
    raise ValueError(
        f"{where}: sample_weight has shape {tuple(sw.shape)}, but {name} gives one loss per sample"
        + (f" and timestep, of shape (n,{''.join(f' {d},' for d in per_sample)})" if per_sample else "")
        + f", so the weights must have shape {shape}. To weigh classes, use class_weight={{class: weight}}; "
        "for per-sample weights pass a 1-D array with one weight per sample."
    )
