"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerve.callbacks.callback import Callback

__all__ = ["LambdaCallback"]

HOOKS = tuple(sorted(name for name in vars(Callback) if name.startswith("on_")))


def _as_method(fn: Callable[..., Any]) -> Callable[..., Any]:
    def hook(self: Callback, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    hook.__wrapped__ = fn  # type: ignore[attr-defined]
    return hook


class LambdaCallback(Callback):
    """A callback whose hooks are the functions you pass.

    The functions receive the hook's arguments positionally:
    `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch, logs)`,
    `on_train_begin(logs)`, `on_train_end(logs)`,
    `on_train_batch_begin(batch, logs)`, `on_train_batch_end(batch, logs)`;
    any other hook of `Callback` (e.g. `on_batch_end`, `on_test_end`) can be
    given by name as a keyword argument. Hooks not given cost nothing.

    Example:
        >>> print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
        >>> model.fit(x, y, epochs=3, callbacks=[print_epoch])
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        given = {
            "on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin, "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin, "on_train_batch_end": on_train_batch_end,
        }
        for name, fn in kwargs.items():
            if name not in HOOKS:
                raise TypeError(
                    f"LambdaCallback got an unknown hook {name!r}. Valid hooks: {', '.join(HOOKS)}."
                )
            given[name] = fn
        hooks = {}
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be a function. Received: {name}={fn!r}")
            hooks[name] = _as_method(fn)
        self.functions = {name: given[name] for name in hooks}
        # A per-instance subclass holds the given hooks as methods, so the callback list
        # dispatches exactly those hooks and skips the others for free.
        if hooks:
            self.__class__ = type("LambdaCallback", (LambdaCallback,), {**hooks, "__module__": __name__,
                                                                       "__qualname__": "LambdaCallback"})

    def __repr__(self) -> str:
        return f"<LambdaCallback hooks={sorted(self.functions)}>"
