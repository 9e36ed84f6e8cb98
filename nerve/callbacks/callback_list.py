"""CallbackList: calls a hook on every callback, skipping hooks nobody overrides."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from nerve.callbacks.callback import Callback

if TYPE_CHECKING:
    from nerve.models.model import Model

__all__ = ["CallbackList", "LazyLogs"]


class LazyLogs(MutableMapping):
    """Batch logs whose values are read from the device only when first looked at.

    The progress bar takes them as they are; every other callback receives a
    plain dict of floats (read once, at the end of that batch), as in Keras.
    """

    def __init__(self, produce: Callable[[], dict[str, Any]]) -> None:
        self._produce = produce
        self._values: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self._values is None:
            self._values = {k: _to_python(v) for k, v in self._produce().items()}
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.as_dict()[key] = value

    def __delitem__(self, key: str) -> None:
        del self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def __repr__(self) -> str:
        return repr(self.as_dict())


def _to_python(value: Any) -> Any:
    if hasattr(value, "detach"):
        value = value.detach()
        return value.item() if value.numel() == 1 else value.cpu().numpy()
    return value

_HOOKS = (
    "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_before_optimizer_step",
    "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
    "on_predict_begin", "on_predict_end",
)
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _is_main_process() -> bool:
    from nerve.distribution.runtime import is_main_process

    return is_main_process()


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
        if not _is_main_process():  # data-parallel: progress bars and log writers live on rank 0
            self.callbacks = [cb for cb in self.callbacks if not getattr(cb, "_main_process_only", False)]
        # Callbacks that snapshot the others (BackupAndRestore) run after them: they back
        # up the state of an epoch every callback has finished, and restore it after
        # the others have reset themselves in on_train_begin.
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "_runs_last", False)))
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

    def wants_on_every_process(self, *hooks: str) -> bool:
        """True if a callback that runs on every process of a data-parallel job overrides one of `hooks`."""
        return any(not getattr(cb, "_main_process_only", False) for hook in hooks for cb in self._active[hook])

    def _call(self, hook: str, *args: Any) -> None:
        *head, logs = args
        if logs is None:
            logs = {}
        for cb in self._active[hook]:
            if isinstance(logs, LazyLogs) and not getattr(cb, "_reads_lazy_logs", False):
                getattr(cb, hook)(*head, logs.as_dict())
            else:
                getattr(cb, hook)(*head, logs)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_before_optimizer_step(self, batch: int, logs: Any = None) -> None:
        self._call("on_before_optimizer_step", batch, logs)

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
