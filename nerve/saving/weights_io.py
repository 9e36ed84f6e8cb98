"""Weights in HDF5, laid out as Keras 3 lays out `.weights.h5` files.

A layer's own weights are datasets `vars/0`, `vars/1`, ... in `layer.weights`
order; its sublayers sit under `layers/<key>/`, where the key is the
snake-cased class name made unique in layer order (`dense`, `dense_1`, ...).
The optimizer's variables go to `optimizer/vars/<i>`. Reading checks every
count and shape before assigning anything, so a mismatch changes no weight.
"""

from __future__ import annotations

import warnings
from typing import Any

import h5py
import numpy as np

from nerve import backend
from nerve.saving.file_checks import indexed_datasets

__all__ = ["read_optimizer", "read_weights", "write_optimizer", "write_weights"]


def _own_weights(layer: Any) -> list[Any]:
    return list(layer._trainable_vars) + list(layer._non_trainable_vars)


def _children(layer: Any) -> list[tuple[str, Any]]:
    keys: dict[str, int] = {}
    out = []
    for sub in getattr(layer, "layers", []) or []:
        base = backend.to_snake_case(type(sub).__name__)
        n = keys.get(base, 0)
        keys[base] = n + 1
        out.append((base if n == 0 else f"{base}_{n}", sub))
    return out


def write_weights(group: h5py.Group, layer: Any) -> None:
    """Write `layer`'s weights and its sublayers' under `group`."""
    own = group.require_group("vars")
    own.attrs["name"] = layer.name
    for i, var in enumerate(_own_weights(layer)):
        own.create_dataset(str(i), data=var.numpy())
    children = _children(layer)
    if children:
        layers = group.require_group("layers")
        for key, sub in children:
            write_weights(layers.require_group(key), sub)


def _plan(group: h5py.Group, layer: Any, path: str, skip_mismatch: bool, plan: list,
          unused: list | None = None) -> None:
    """Collect (variable, dataset) pairs, raising on the first layer that does not fit; stored layers with weights
    that no sublayer takes go to `unused`."""
    own = _own_weights(layer)
    stored = group.get("vars")
    if stored is not None and not isinstance(stored, h5py.Group):
        raise ValueError(f"'{stored.name}' should be a group of weights, and is a {type(stored).__name__}.")
    datasets = indexed_datasets(stored, "The weights")
    expected = [v.shape for v in own]
    found = [tuple(d.shape) for d in datasets]
    if expected != found:
        message = (
            f"Layer '{layer.name}' ({type(layer).__name__}, at '{path}') does not match the file: the model "
            f"has weights of shapes {expected}, the file has {found}."
        )
        if skip_mismatch:
            warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=4)
        else:
            raise ValueError(message + " Load into a model with the same architecture, or pass skip_mismatch=True.")
    else:
        plan.extend(zip(own, datasets))
    children = _children(layer)
    stored_layers = group.get("layers")
    if stored_layers is not None and not isinstance(stored_layers, h5py.Group):
        raise ValueError(f"'{stored_layers.name}' should be a group of layers, and is a {type(stored_layers).__name__}.")
    available = sorted(stored_layers.keys()) if stored_layers is not None else []
    if unused is not None:
        taken = {key for key, _ in children}
        unused.extend(f"{path}/layers/{key}" for key in available if key not in taken and _holds_weights(
            stored_layers[key]))
    for key, sub in children:
        if key not in available:
            if not sub.weights:
                continue
            message = (
                f"The file has no weights for layer '{sub.name}' ({type(sub).__name__}, expected at "
                f"'{path}/layers/{key}'); the file holds {available}."
            )
            if skip_mismatch:
                warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=4)
                continue
            raise ValueError(message + " Load into a model with the same architecture.")
        child = stored_layers[key]
        if not isinstance(child, h5py.Group):
            raise ValueError(f"'{child.name}' should be a group of weights, and is a {type(child).__name__}.")
        _plan(child, sub, f"{path}/layers/{key}", skip_mismatch, plan, unused)


def _holds_weights(group: Any) -> bool:
    """Whether a stored layer group holds any weight, itself or in its sublayers."""
    if not isinstance(group, h5py.Group):
        return True
    own = group.get("vars")
    if own is not None and (not isinstance(own, h5py.Group) or len(own)):
        return True
    layers = group.get("layers")
    return layers is not None and (not isinstance(layers, h5py.Group) or any(
        _holds_weights(sub) for sub in layers.values()))


def read_weights(group: h5py.Group, layer: Any, skip_mismatch: bool = False, strict: bool = False) -> None:
    """Load weights written by `write_weights` into `layer` (all checked before any is set).

    `strict`: also refuse a file with weights for layers that `layer` does not have (as `load_model` does: the
    model was built from the same file's config, so they must match).
    """
    plan: list = []
    unused: list | None = [] if strict else None
    _plan(group, layer, group.name.rstrip("/") or "", skip_mismatch, plan, unused)
    if unused:
        raise ValueError(f"The file has weights at {unused[:5]} that no layer of '{layer.name}' takes; the model "
                         "built from its config does not match its weights.")
    values = [np.asarray(data[()]) for _, data in plan]  # all read first: a damaged dataset changes no weight
    for (var, _), value in zip(plan, values):
        var.assign(value)


def write_optimizer(group: h5py.Group, optimizer: Any) -> None:
    """Write the optimizer's variables (iterations, learning rate, slots) in order."""
    opt = group.require_group("optimizer")
    own = opt.require_group("vars")
    own.attrs["name"] = getattr(optimizer, "name", type(optimizer).__name__)
    for i, var in enumerate(optimizer.variables):
        own.create_dataset(str(i), data=np.asarray(var.numpy() if hasattr(var, "numpy") else var))


def read_optimizer(group: h5py.Group, optimizer: Any) -> bool:
    """Load optimizer variables written by `write_optimizer`; warns and returns False on mismatch."""
    stored = group.get("optimizer/vars")
    if stored is None:
        return False
    variables = list(optimizer.variables)
    datasets = indexed_datasets(stored, "The optimizer state")
    shapes = [tuple(v.shape) for v in variables]
    found = [tuple(d.shape) for d in datasets]
    if shapes != found:
        warnings.warn(
            f"The optimizer state in the file does not fit the model's optimizer ({len(found)} saved "
            f"variables vs {len(shapes)}); the optimizer starts fresh.", stacklevel=3,
        )
        return False
    values = [np.asarray(data[()]) for data in datasets]
    for var, value in zip(variables, values):
        var.assign(value)
    return True
