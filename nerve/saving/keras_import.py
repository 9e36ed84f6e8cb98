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


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def is_legacy_h5(handle: h5py.Group) -> bool:
    """Whether an HDF5 file uses the legacy Keras layout (`model_weights` or `layer_names`)."""
    return "model_weights" in handle or "layer_names" in handle.attrs


def _build(config: dict[str, Any], custom_objects: dict[str, Any] | None) -> Any:
    from nerve.models.model import Model

    model = deserialize_object(translate_config(config, custom_objects), custom_objects)
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
    for var, data in zip(variables, datasets):
        var.assign(np.asarray(data[()]))


# ---------------------------------------------------------------- weights
def _plan_by_name(group: h5py.Group, layer: Any, path: str, plan: list) -> None:
    """Pair a Keras 3 weights group with `layer`, sublayers matched by their saved name."""
    own = _own_weights(layer)
    stored = group.get("vars")
    datasets = [stored[str(i)] for i in range(len(stored))] if stored is not None else []
    _check_shapes(layer, own, datasets, path)
    plan.extend(zip(own, datasets))
    children = _children(layer)
    if not children:
        return
    stored_layers = group.get("layers")
    groups = dict(stored_layers.items()) if stored_layers is not None else {}
    by_name = {_text(g["vars"].attrs.get("name", "")): key for key, g in groups.items() if "vars" in g}
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
    unused = sorted(k for k, g in groups.items() if k not in used and len(g.get("vars", ())))
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
        if data.dtype.kind not in "fiub":
            raise ValueError(f"Weight '{data.name}' is stored with dtype {data.dtype}; only numbers are loaded.")


def _assign(plan: list) -> None:
    for var, data in plan:
        var.assign(np.asarray(data[()]))


def _legacy_layers(group: h5py.Group) -> list[tuple[str, list[Any]]]:
    """(layer name, datasets in saved order) for every layer of a legacy weights group."""
    out = []
    for name in (_text(n) for n in group.attrs["layer_names"]):
        sub = group[name]
        out.append((name, [sub[_text(w)] for w in sub.attrs.get("weight_names", [])]))
    return out


def load_legacy_weights(handle: h5py.Group, model: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load legacy Keras HDF5 weights: by layer order as Keras does, or by layer name."""
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
def load_keras_archive(config: dict[str, Any], weights: bytes | None, custom_objects: dict[str, Any] | None,
                       compile: bool) -> Any:
    """Build a model from a Keras 3 `.keras` archive's config.json and model.weights.h5."""
    model = _build(config, custom_objects)
    compiled = bool(compile and config.get("compile_config")) and _compile(model, config["compile_config"],
                                                                          custom_objects)
    if weights is None:
        return model
    try:
        handle = h5py.File(io.BytesIO(weights), "r")
    except OSError as err:
        raise ValueError(f"its model.weights.h5 cannot be read as HDF5 ({err}); the file may be corrupted.") from None
    with handle:
        plan: list = []
        _plan_by_name(handle, model, "", plan)
        _assign(plan)
        stored = handle.get("optimizer/vars")
        if compiled and stored is not None and len(stored):
            _restore_optimizer(model, config, [stored[str(i)] for i in range(len(stored))])
    return model


def _legacy_config(handle: h5py.File, key: str) -> dict[str, Any] | None:
    raw = handle.attrs.get(key)
    if raw is None:
        return None
    value = json.loads(_text(raw) if not isinstance(raw, str) else raw)
    if not isinstance(value, dict):
        raise ValueError(f"the '{key}' attribute is not a JSON object")
    return value


def load_legacy_h5(handle: h5py.File, custom_objects: dict[str, Any] | None, compile: bool) -> Any:
    """Build a model from a legacy Keras HDF5 file (tf.keras 2.x or Keras 3's legacy writer)."""
    config = _legacy_config(handle, "model_config")
    if config is None:
        raise ValueError(
            "the file holds weights only (no model config). Rebuild the model in code and call "
            "model.load_weights(path)."
        )
    model = _build(config, custom_objects)
    training = _legacy_config(handle, "training_config") if compile else None
    compiled = training is not None and _compile(model, training, custom_objects)
    load_legacy_weights(handle, model, by_name=True)
    stored = handle.get("optimizer_weights")
    if compiled and stored is not None:
        names = [_text(n) for n in stored.attrs.get("weight_names", [])]
        version = _text(handle.attrs.get("keras_version", ""))
        if names and version.startswith("3."):
            _restore_optimizer(model, config, [stored[n] for n in names])
        elif names:
            warnings.warn(
                f"The optimizer state of this Keras {version or '2'} file is not restored (Keras 2 orders it "
                "differently); the optimizer starts fresh.", stacklevel=3,
            )
    return model
