"""Config dicts for layers and models, in Keras 3's layout, resolved only through the registry.

`serialize_object(layer)` gives `{"module", "class_name", "config",
"registered_name", "build_config"}` as Keras 3 writes it. `deserialize_object`
turns such a dict back into an object by looking the class up among nerve's
built-in layers and models or the registered custom objects; it never
imports a module or runs code named by the file.
"""

from __future__ import annotations

from typing import Any

from nerve.saving.object_registration import _GLOBAL_CUSTOM_NAMES, CustomObjectScope, get_registered_object

__all__ = ["deserialize_object", "serialize_object"]

# Modules that may name a built-in class in a config (nerve's own and Keras's public ones).
_BUILTIN_MODULES = {
    None, "", "nerve.layers", "nerve.models", "keras.layers", "keras.models", "keras", "nerve",
    "keras.src.models.functional", "keras.src.models.sequential", "keras.src.models.model",
}


def _builtin_classes() -> dict[str, type]:
    from nerve import layers
    from nerve.models import Model, Sequential

    table: dict[str, type] = {name: getattr(layers, name) for name in layers.__all__
                              if isinstance(getattr(layers, name), type)}
    table.update({"Sequential": Sequential, "Model": Model, "Functional": Model})
    return table


def serialize_object(obj: Any) -> dict[str, Any]:
    """Return the Keras-3-style config dict of a layer or model."""
    cls = type(obj)
    registered = _GLOBAL_CUSTOM_NAMES.get(cls)
    builtin = _builtin_classes().get(cls.__name__) is cls
    if not builtin and registered is None:
        registered = cls.__name__
    if cls.__name__ == "Model" and getattr(obj, "_graph", None) is not None:
        class_name, module = "Functional", "nerve.models"
    else:
        class_name = cls.__name__
        module = ("nerve.models" if class_name in ("Sequential", "Model") else "nerve.layers") if builtin \
            else cls.__module__
    config: dict[str, Any] = {
        "module": module,
        "class_name": class_name,
        "config": obj.get_config(),
        "registered_name": registered,
    }
    build_shape = getattr(obj, "_build_shape", None)
    if getattr(obj, "built", False) and build_shape is not None:
        config["build_config"] = {"input_shape": build_shape}
    return config


def _lookup(config: dict[str, Any], custom_objects: dict[str, Any] | None) -> type:
    class_name = config.get("class_name")
    module = config.get("module")
    registered = config.get("registered_name")
    if not isinstance(class_name, str):
        raise ValueError(f"A layer config must name its class with a string 'class_name'. Received: {class_name!r}")
    for name in (registered, class_name):
        if isinstance(name, str):
            found = get_registered_object(name, custom_objects)
            if found is not None:
                return found
    if module in _BUILTIN_MODULES or str(module).startswith(("keras.src.layers", "keras.layers")):
        cls = _builtin_classes().get(class_name)
        if cls is not None:
            return cls
    where = f"{module}.{class_name}" if module else class_name
    raise ValueError(
        f"Unknown class '{where}' in the saved config: it is neither a nerve built-in nor a registered "
        "custom object, and nerve never imports classes named by a file. If it is your own class, pass "
        f"custom_objects={{'{class_name}': {class_name}}} to load_model, or decorate the class with "
        "@nerve.saving.register_nerve_serializable()."
    )


def deserialize_object(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """Create a layer or model from a config dict written by `serialize_object` (or by Keras 3)."""
    if not isinstance(config, dict):
        raise ValueError(f"Expected a config dict with 'class_name' and 'config'. Received: {config!r}")
    cls = _lookup(config, custom_objects)
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of class '{config.get('class_name')}' must be a dict. Received: {inner!r}")
    with CustomObjectScope(custom_objects or {}):
        if hasattr(cls, "from_config"):
            obj = cls.from_config(dict(inner))
        else:
            obj = cls(**inner)
        build = config.get("build_config") or {}
        shape = build.get("input_shape")
        if shape is not None and not getattr(obj, "built", True):
            obj._maybe_build(_as_shape(shape))
    return obj


def _as_shape(shape: Any) -> Any:
    """JSON turns shape tuples into lists; turn them back (nested for several inputs)."""
    if isinstance(shape, dict):
        return {k: _as_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(d is None or isinstance(d, int) for d in shape):
            return tuple(shape)
        return [_as_shape(s) for s in shape]
    return shape
