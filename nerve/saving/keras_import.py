"""Models and weights written by Keras: Keras 3 `.keras` and legacy HDF5 `.h5` (tf.keras 2.x, Keras 3).

The config is translated by `keras_config` and built by nerve's registry.
Weights: a `.keras` file is read by layer name (its `vars` groups carry it);
a legacy `.h5` by layer name in `load_model` and, as Keras does, by the order
of the layers that have weights in `load_weights`. Every count and shape is
checked before any weight changes. The optimizer state is restored when it
lines up with nerve's (Keras 3 files); otherwise the optimizer starts fresh,
with a warning.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import h5py
import numpy as np

from nerve.saving.file_checks import (
    ModelFileError,
    allocation_budget,
    allocation_guard,
    check_config,
    check_h5,
    indexed_datasets,
    numeric_dataset,
    open_h5,
    read_names_attr,
    read_text_attr,
)
from nerve.saving.keras_config import compile_settings, is_keras_config, translate_config
from nerve.saving.serialization import deserialize_object
from nerve.saving.weights_io import _children, _own_weights

__all__ = [
    "is_keras_config",
    "is_legacy_h5",
    "load_keras_archive",
    "load_legacy_h5",
    "load_legacy_weights",
    "translate_config",
]


def is_legacy_h5(handle: h5py.Group) -> bool:
    """Whether an HDF5 file uses the legacy Keras layout (`model_weights` or `layer_names`)."""
    return "model_weights" in handle or "layer_names" in handle.attrs


def _build(config: dict[str, Any], custom_objects: dict[str, Any] | None, path: str | None = None,
           budget: int | None = None) -> Any:
    from nerve.models.model import Model

    translated = translate_config(config, custom_objects)
    where = f"'{path}'" if path else "The Keras config"
    with allocation_guard(budget if budget is not None else allocation_budget(None), where, path):
        model = deserialize_object(translated, custom_objects)
    if not isinstance(model, Model):
        raise ValueError(f"The file holds a {type(model).__name__}, not a model.")
    return model


def _compile(model: Any, raw: dict[str, Any], custom_objects: dict[str, Any] | None) -> bool:
    from nerve.saving.saving_api import _compile_from_config

    try:
        settings = compile_settings(raw, custom_objects)
        _compile_from_config(model, settings, custom_objects)
        return True
    except (KeyError, TypeError, ValueError) as err:
        warnings.warn(
            f"The model's compile settings could not be restored ({err}); it is returned uncompiled. "
            "Call model.compile(...) before training it.", stacklevel=4,
        )
        return False


def _restore_optimizer(model: Any, config: dict[str, Any], datasets: list[Any]) -> None:
    """Load Keras optimizer variables if they line up with nerve's, else warn and start fresh."""
    keras_order = [e.get("config", {}).get("name") for e in config.get("config", {}).get("layers", [])
                   if isinstance(e, dict) and e.get("class_name") != "InputLayer"]
    nerve_order = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    model._prepare_optimizer()
    variables = list(model.optimizer.variables)
    if keras_order != nerve_order:
        warnings.warn("The layers' order differs from Keras's, so the optimizer state cannot be matched; "
                      "the optimizer starts fresh.", stacklevel=4)
        return
    shapes = [tuple(v.shape) for v in variables]
    found = [tuple(d.shape) for d in datasets]
    if len(found) < len(shapes) and found == shapes[:len(found)] and not np.any(datasets[0][()]):
        # Keras never trained with it (iterations 0), so it saved no slots: they start at zero here too.
        variables = variables[:len(found)]
    elif shapes != found:
        warnings.warn(
            f"The optimizer state in the file does not fit nerve's {type(model.optimizer).__name__} "
            f"({len(found)} saved variables vs {len(shapes)}); the optimizer starts fresh.", stacklevel=4,
        )
        return
    values = [np.asarray(data[()]) for data in datasets]
    for var, value in zip(variables, values):
        var.assign(value)


# ---------------------------------------------------------------- weights
def _plan_by_name(group: h5py.Group, layer: Any, path: str, plan: list) -> None:
    """Pair a Keras 3 weights group with `layer`, sublayers matched by their saved name."""
    own = _own_weights(layer)
    datasets = indexed_datasets(group.get("vars"), "The weights")
    _check_shapes(layer, own, datasets, path)
    plan.extend(zip(own, datasets))
    children = _children(layer)
    stored_layers = group.get("layers")
    groups = dict(stored_layers.items()) if isinstance(stored_layers, h5py.Group) else {}
    by_name = {read_text_attr(g["vars"], "name", "The weights") or "": key for key, g in groups.items()
               if isinstance(g, h5py.Group) and isinstance(g.get("vars"), h5py.Group)}
    used = set()
    for key, sub in children:
        found = by_name.get(sub.name, key if key in groups else None)
        if found is None:
            if sub.weights:
                raise ValueError(f"The file has no weights for layer '{sub.name}' ({type(sub).__name__}); "
                                 f"it holds {sorted(groups)}.")
            continue
        used.add(found)
        _plan_by_name(groups[found], sub, f"{path}/layers/{found}", plan)
    unused = sorted(k for k, g in groups.items() if k not in used and isinstance(g, h5py.Group)
                    and len(g.get("vars", ())))
    if unused:
        raise ValueError(f"The file has weights at {[f'{path}/layers/{k}' for k in unused]} that no layer of "
                         f"'{layer.name}' takes; the model built from its config does not match them.")


def _check_shapes(layer: Any, own: list[Any], datasets: list[Any], where: str) -> None:
    expected = [tuple(v.shape) for v in own]
    found = [tuple(d.shape) for d in datasets]
    if expected != found:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) does not match the file at '{where}': nerve's layer "
            f"has weights of shapes {expected}, the file has {found}."
        )
    for data in datasets:
        numeric_dataset(data, "The weights")


def _assign(plan: list) -> None:
    values = [np.asarray(data[()]) for _, data in plan]  # all read first: a damaged dataset changes no weight
    for (var, _), value in zip(plan, values):
        var.assign(value)


def _legacy_layers(group: h5py.Group) -> list[tuple[str, list[Any]]]:
    """(layer name, datasets in saved order) for every layer of a legacy weights group."""
    out = []
    for name in read_names_attr(group, "layer_names", "The weights"):
        sub = group[name]
        if not isinstance(sub, h5py.Group):
            raise ModelFileError(f"The weights of layer '{name}' should be an HDF5 group, and are a "
                                 f"{type(sub).__name__}.")
        out.append((name, [numeric_dataset(sub[w], "The weights") for w in read_names_attr(sub, "weight_names",
                                                                                         "The weights")]))
    return out


def load_legacy_weights(handle: h5py.Group, model: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load legacy Keras HDF5 weights: by layer order as Keras does, or by layer name."""
    check_h5(handle, "The weights file", None)  # also for files that do not come through load_weights
    group = handle["model_weights"] if "model_weights" in handle else handle
    stored = [(n, d) for n, d in _legacy_layers(group) if d and n != "top_level_model_weights"]
    targets = [layer for layer in model.layers if layer.weights]
    if by_name:
        table = dict(stored)
        pairs = [(layer, table.get(layer.name), layer.name) for layer in targets]
        unused = sorted(set(table) - {layer.name for layer in targets})
        if unused and not skip_mismatch:
            raise ValueError(f"The file has weights for layers {unused} that model '{model.name}' does not have "
                             "(or has not built).")
    else:
        if len(stored) != len(targets) and not skip_mismatch:
            raise ValueError(
                f"The file has weights for {len(stored)} layers {[n for n, _ in stored]}, model '{model.name}' "
                f"has {len(targets)} layers with weights {[t.name for t in targets]}. Load into a model with the "
                "same architecture."
            )
        pairs = [(layer, data, name) for layer, (name, data) in zip(targets, stored)]
    plan: list = []
    for layer, datasets, name in pairs:
        if datasets is None:
            message = f"The file has no weights for layer '{layer.name}' ({type(layer).__name__})."
            if skip_mismatch:
                warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=3)
                continue
            raise ValueError(message + f" It holds weights for {[n for n, _ in stored]}.")
        own = list(layer.trainable_weights) + list(layer.non_trainable_weights)
        try:
            _check_shapes(layer, own, datasets, f"model_weights/{name}")
        except ValueError as err:
            if not skip_mismatch:
                raise
            warnings.warn(f"{err} Skipped (skip_mismatch=True).", stacklevel=3)
            continue
        plan.extend(zip(own, datasets))
    _assign(plan)


# ---------------------------------------------------------------- load_model
def load_keras_archive(config: dict[str, Any], weights: Any, custom_objects: dict[str, Any] | None,
                       compile: bool, path: str | None = None, budget: int | None = None) -> Any:
    """Build a model from a Keras 3 `.keras` archive's config.json and model.weights.h5 (bytes or a file)."""
    if isinstance(weights, (bytes, bytearray)):
        weights = io.BytesIO(weights)
    if budget is None and weights is not None:
        budget = allocation_budget(weights.seek(0, 2))
        weights.seek(0)
    model = _build(config, custom_objects, path, budget)
    compiled = bool(compile and config.get("compile_config")) and _compile(model, config["compile_config"],
                                                                          custom_objects)
    if weights is None:
        return model
    try:
        handle = open_h5(weights)
    except OSError as err:
        raise ValueError(f"its model.weights.h5 cannot be read as HDF5 ({err}); the file may be corrupted.") from None
    with handle:
        check_h5(handle, "its model.weights.h5", path)
        plan: list = []
        _plan_by_name(handle, model, "", plan)
        _assign(plan)
        stored = indexed_datasets(handle.get("optimizer/vars"), "The optimizer state")
        if compiled and stored:
            _restore_optimizer(model, config, stored)
    return model


def _legacy_config(handle: h5py.File, key: str) -> dict[str, Any] | None:
    raw = read_text_attr(handle, key, "The file")
    if raw is None:
        return None
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"the '{key}' attribute is not a JSON object")
    check_config(value, f"The '{key}' attribute")
    return value


def load_legacy_h5(handle: h5py.File, custom_objects: dict[str, Any] | None, compile: bool, path: str | None = None,
                   budget: int | None = None) -> Any:
    """Build a model from a legacy Keras HDF5 file (tf.keras 2.x or Keras 3's legacy writer)."""
    config = _legacy_config(handle, "model_config")
    if config is None:
        raise ValueError(
            "the file holds weights only (no model config). Rebuild the model in code and call "
            "model.load_weights(path)."
        )
    model = _build(config, custom_objects, path, budget)
    training = _legacy_config(handle, "training_config") if compile else None
    compiled = training is not None and _compile(model, training, custom_objects)
    load_legacy_weights(handle, model, by_name=True)
    stored = handle.get("optimizer_weights")
    if compiled and isinstance(stored, h5py.Group):
        names = read_names_attr(stored, "weight_names", "The optimizer state")
        version = read_text_attr(handle, "keras_version", "The file") or ""
        if names and version.startswith("3."):
            _restore_optimizer(model, config, [numeric_dataset(stored[n], "The optimizer state") for n in names])
        elif names:
            warnings.warn(
                f"The optimizer state of this Keras {version or '2'} file is not restored (Keras 2 orders it "
                "differently); the optimizer starts fresh.", stacklevel=3,
            )
    return model
