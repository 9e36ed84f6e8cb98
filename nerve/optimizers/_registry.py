"""Looking optimizers up by name and turning them into configs and back (Keras's get/serialize/deserialize)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from nerve.optimizers.adadelta import Adadelta
from nerve.optimizers.adagrad import Adagrad
from nerve.optimizers.adam import Adam
from nerve.optimizers.adamax import Adamax
from nerve.optimizers.adamw import AdamW
from nerve.optimizers.nadam import Nadam
from nerve.optimizers.optimizer import Optimizer
from nerve.optimizers.rmsprop import RMSprop
from nerve.optimizers.sgd import SGD

BUILTINS: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop, SGD)
}


def _unknown(kind: str, received: Any, valid: list[str]) -> ValueError:
    message = f"Unknown {kind}: {received!r}. Valid names: {', '.join(repr(v) for v in valid)}."
    close = difflib.get_close_matches(str(received).lower(), valid, n=1)
    if close:
        message += f"\nhelp: did you mean {close[0]!r}?"
    return ValueError(f"{message} Received: optimizer={received!r}")


def lookup(class_name: str, custom_objects: dict[str, Any] | None = None) -> type[Optimizer]:
    """The optimizer class for a name: custom objects first, then the built-ins, case-insensitively."""
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    cls = BUILTINS.get(class_name.lower())
    if cls is None:
        raise _unknown("optimizer", class_name, sorted(BUILTINS))
    return cls


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Return `{"module", "class_name", "config", "registered_name"}` for an optimizer (Keras's layout)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize() expects a nerve Optimizer. Received: optimizer={optimizer!r}")
    cls = type(optimizer)
    builtin = BUILTINS.get(cls.__name__.lower()) is cls
    return {
        "module": "nerve.optimizers" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": optimizer.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """Create an optimizer from `serialize()`'s output (Keras's optimizer configs work too)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize() expects a dict like {'class_name': 'Adam', 'config': {...}}. "
            f"Received: config={config!r}"
        )
    cls = lookup(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier: Any) -> Optimizer | None:
    """Return an optimizer from a name ("adam"), a config dict or an optimizer (passed through).

    Example:
        >>> from nerve import optimizers
        >>> optimizers.get("Adam").learning_rate.numpy()
        array(0.001, dtype=float32)
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        raise ValueError(
            f"Could not interpret optimizer identifier: pass an instance such as {identifier.__name__}(). "
            f"Received: optimizer={identifier!r}"
        )
    raise ValueError(
        "Could not interpret optimizer identifier: expected a name such as 'adam', a config dict or an "
        f"Optimizer instance. Valid names: {', '.join(repr(v) for v in sorted(BUILTINS))}. "
        f"Received: optimizer={identifier!r}"
    )


def serialize_schedule(schedule: Callable[..., Any]) -> Any:
    """Config of a learning-rate schedule: Keras's layout for objects with `get_config`, else a function reference."""
    cls = type(schedule)
    if hasattr(schedule, "get_config"):
        return {
            "module": cls.__module__,
            "class_name": cls.__name__,
            "config": schedule.get_config(),
            "registered_name": None,
        }
    name = getattr(schedule, "__name__", None)
    return {
        "module": getattr(schedule, "__module__", None),
        "class_name": "function",
        "config": name,
        "registered_name": name,
    }


def deserialize_schedule(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    """Rebuild a schedule from `serialize_schedule`'s output (or a Keras schedule config).

    Names resolve through `custom_objects`, registered objects and nerve's own schedules only:
    a config never makes nerve import the module it names (a config is data, not code).
    """
    from nerve.optimizers import schedules
    from nerve.saving.object_registration import get_registered_object

    class_name = config.get("class_name")
    inner = config.get("config")
    if class_name == "function":
        fn = (custom_objects or {}).get(inner) or get_registered_object(str(inner), custom_objects)
        if fn is not None:
            return fn
        raise ValueError(
            f"Could not find the learning-rate function {inner!r}. help: pass it in "
            f"custom_objects={{'{inner}': fn}} or register it with nerve.saving.register_nerve_serializable(). "
            f"Received: learning_rate={config!r}"
        )
    cls = (custom_objects or {}).get(class_name) or get_registered_object(str(class_name), custom_objects)
    if cls is None:  # nerve's own schedules, by class name (also for Keras's configs)
        found = getattr(schedules, str(class_name), None)
        cls = found if isinstance(found, type) else None
    if cls is None:
        raise ValueError(
            f"Unknown learning-rate schedule {class_name!r}. help: pass the class in custom_objects or register it. "
            f"Received: learning_rate={config!r}"
        )
    return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
