"""The one registry of classes and functions that configs may name.

Loading a model looks every class up here (or in `custom_objects`), never by
importing a module named in a file: a config that names `os.system` or any
class that was not registered is refused.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_nerve_serializable",
]

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_SCOPE = threading.local()


def register_nerve_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Register a custom layer, model, loss, metric or function so saved models can name it.

    The object is saved as `"package>name"` and found again by `load_model`
    without `custom_objects`. Also available as `register_keras_serializable`.

    Args:
        package: a namespace for the name (default "Custom").
        name: the registered name (default the class or function name).

    Example:
        >>> @nerve.saving.register_nerve_serializable()
        ... class Scale(nerve.layers.Layer):
        ...     ...
    """
    if ">" in package:
        raise ValueError(f"The package name may not contain '>'. Received: package={package!r}")

    def decorator(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register {obj.__name__}: a class needs a get_config() method to be saved. "
                "Derive it from nerve.layers.Layer (or add get_config)."
            )
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj

    return decorator


register_keras_serializable = register_nerve_serializable


def get_registered_name(obj: Any) -> str:
    """The name `obj` is saved under: its registered name, else its class or function name."""
    key = _GLOBAL_CUSTOM_NAMES.get(obj)
    if key is not None:
        return key
    return getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects() -> dict[str, Any]:
    """The global registry of custom objects, by registered name (mutable, as in Keras)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scoped() -> list[dict[str, Any]]:
    if not hasattr(_SCOPE, "stack"):
        _SCOPE.stack = []
    return _SCOPE.stack


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Find a custom object by name: `custom_objects`, open scopes, then the registry."""
    for table in [custom_objects or {}, *reversed(_scoped()), _GLOBAL_CUSTOM_OBJECTS]:
        if name in table:
            return table[name]
        short = name.split(">")[-1]
        if short in table:
            return table[short]
    return None


class CustomObjectScope:
    """Make custom objects findable by name inside a `with` block.

    Example:
        >>> with CustomObjectScope({"Scale": Scale}):
        ...     model = nerve.models.load_model("model.keras")
    """

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects: dict[str, Any] = {}
        for table in objects:
            self.objects.update(table)

    def __enter__(self) -> "CustomObjectScope":
        _scoped().append(self.objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _scoped().pop()


@contextlib.contextmanager
def custom_object_scope(*objects: dict[str, Any]) -> Iterator[CustomObjectScope]:
    """Function form of `CustomObjectScope`."""
    with CustomObjectScope(*objects) as scope:
        yield scope
