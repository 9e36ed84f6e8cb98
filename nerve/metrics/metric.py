"""The `Metric` base class: state in device tensors, updated without host syncs."""

from __future__ import annotations

from typing import Any

import torch

from nerve import backend

__all__ = ["Metric"]


def _dtype_name(dtype: Any) -> str:
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, str):
        return dtype
    return str(backend.standardize_dtype(dtype)).replace("torch.", "")


def to_tensor(x: Any, device: torch.device | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return `x` as a tensor on `device` (cast to `dtype` if given), copying only when needed."""
    if isinstance(x, backend.Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        if device is not None and x.device != device:
            x = x.to(device)
    else:
        x = backend.convert_to_tensor(x, device=device)
    if dtype is not None and x.dtype != dtype:
        x = x.to(dtype)
    return x


class Metric:
    """Base class for metrics: accumulate with `update_state`, read with `result`.

    State lives in `Variable`s (see `add_variable`) holding tensors on the
    compute device; built-in metrics update them in place, with no host sync,
    so a trainer can accumulate on the GPU and read `result()` only when it
    prints. Built-in metrics move their state to the device of the first
    predictions they see.

    Args:
        dtype: the float type of the state and result (default `backend.floatx()`).
        name: the metric's name (default: the snake-case class name, made unique).

    Example:
        >>> class Count(Metric):
        ...     def __init__(self, name="count", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.n = self.add_variable(shape=(), initializer="zeros", name="n")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n.assign_add(len(y_true))
        ...     def result(self):
        ...         return self.n.value
        >>> m = Count(); m.update_state([1, 2], [1, 2]); float(m.result())
        2.0
    """

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self._dtype = _dtype_name(dtype)
        self._variables: list[backend.Variable] = []
        self._device = backend.get_device()

    @property
    def dtype(self) -> str:
        """The float type name of the state and result, e.g. `"float32"`."""
        return self._dtype

    @property
    def _torch_dtype(self) -> torch.dtype:
        return backend.standardize_dtype(self._dtype)

    def add_variable(
        self,
        shape: tuple[int, ...] | list[int] = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> backend.Variable:
        """Create a state variable on the metric's device and track it.

        Args:
            shape: the variable's shape (default `()`).
            initializer: `"zeros"` (default), `"ones"`, a number, or an initializer.
            dtype: its dtype (default the metric's dtype).
            aggregation: how a data-parallel job combines the processes' values
                when it reads the result: "sum" (default), "mean",
                "only_first_replica" or "none" (keep each process's own).
            name: the variable's name.

        Example:
            >>> m = Metric(name="m"); v = m.add_variable((2,), name="total"); v.shape
            (2,)
        """
        if not hasattr(self, "_variables"):
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method of your metric.")
        shape = tuple(int(d) for d in shape)
        torch_dtype = backend.standardize_dtype(dtype if dtype is not None else self._dtype)
        value = self._initial_value(initializer, shape, torch_dtype)
        name = name or "variable"
        var = backend.Variable(value, name=name, trainable=False, aggregation=aggregation, path=f"{self.name}/{name}")
        self._variables.append(var)
        return var

    def add_weight(
        self, shape: tuple[int, ...] | list[int] = (), initializer: Any = None, dtype: Any = None, name: str | None = None
    ) -> backend.Variable:
        """Alias of `add_variable` (Keras's older name)."""
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name)

    def _initial_value(self, initializer: Any, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        device = self._device
        if initializer is None or initializer == "zeros" or initializer == "Zeros":
            return torch.zeros(shape, dtype=dtype, device=device)
        if initializer == "ones" or initializer == "Ones":
            return torch.ones(shape, dtype=dtype, device=device)
        if isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
            return torch.full(shape, float(initializer), dtype=dtype, device=device)
        if isinstance(initializer, str) or isinstance(initializer, dict):
            from nerve import initializers

            initializer = initializers.get(initializer)
        value = initializer(shape, dtype=dtype)
        return backend.convert_to_tensor(value, dtype=dtype, device=device)

    @property
    def variables(self) -> list[backend.Variable]:
        """The state variables, including those of metrics held as attributes."""
        found = list(self._variables)
        for value in self.__dict__.values():
            if isinstance(value, Metric) and value is not self:
                found.extend(value.variables)
        return found

    def _move_state(self, device: torch.device) -> None:
        """Move every state tensor to `device` (done once, at the first update)."""
        for var in self.variables:
            if var.value.device != device:
                var._value = var.value.to(device)
        self._device = device
        for value in self.__dict__.values():
            if isinstance(value, Metric) and value is not self:
                value._device = device

    def _sync_device(self, x: Any) -> torch.device:
        """Return the device to compute on: that of `x` when it is a tensor, moving the state there."""
        device = x.device if isinstance(x, torch.Tensor) else self._device
        if device != self._device:
            self._move_state(device)
        return device

    def reset_state(self) -> None:
        """Set all state variables back to zero (called between epochs)."""
        with torch.no_grad():
            for var in self.variables:
                var.value.zero_()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics from a batch; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state`.")

    def result(self) -> Any:
        """Return the current value (a 0-d tensor for scalar metrics); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result`.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Update the state with a batch and return the new result."""
        if not hasattr(self, "_variables"):
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method of your metric.")
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        """Create a metric from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__
