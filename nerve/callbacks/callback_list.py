"""CallbackList: calls a hook on every callback, skipping hooks nobody overrides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from nerve.callbacks.callback import Callback

if TYPE_CHECKING:
    from nerve.models.model import Model

__all__ = ["CallbackList"]

_HOOKS = (
    "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
    "on_predict_begin", "on_predict_end",
)
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(cb: Callback, hook: str) -> bool:
    own = getattr(type(cb), hook, None)
    if own is not getattr(Callback, hook):
        return True
    alias = _BATCH_ALIASES.get(hook)
    return alias is not None and getattr(type(cb), alias) is not getattr(Callback, alias)


class CallbackList:
    """A group of callbacks called together, in order.

    Per-batch hooks are only dispatched to callbacks that override them, so
    an idle hook costs nothing in the training loop.

    Args:
        callbacks: the callbacks, in calling order.
        model: the model they observe.
        params: `epochs`, `steps` and `verbose` for `Callback.params`.
    """

    def __init__(self, callbacks: Iterable[Callback] = (), model: "Model | None" = None, **params: Any) -> None:
        self.callbacks: list[Callback] = []
        for cb in callbacks or ():
            if not isinstance(cb, Callback):
                raise TypeError(
                    "Every callback must be an instance of nerve.callbacks.Callback. "
                    f"Received: {cb!r} of type {type(cb).__name__}"
                )
            self.callbacks.append(cb)
        self._active: dict[str, list[Callback]] = {
            hook: [cb for cb in self.callbacks if _overrides(cb, hook)] for hook in _HOOKS
        }
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model: "Model") -> None:
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.set_params(params)

    def wants(self, hook: str) -> bool:
        """True if some callback overrides `hook`."""
        return bool(self._active[hook])

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self._active[hook]:
            getattr(cb, hook)(*args)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs: Any = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Any = None) -> None:
        self._call("on_train_end", logs)

    def on_test_begin(self, logs: Any = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Any = None) -> None:
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs: Any = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: Any = None) -> None:
        self._call("on_predict_end", logs)

    def __iter__(self):  # noqa: ANN204
        return iter(self.callbacks)
