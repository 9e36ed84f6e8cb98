"""Weight regularizers: penalties added to the training loss, as in Keras 3.

Example:
    >>> from nerve import layers, regularizers
    >>> layers.Dense(64, kernel_regularizer=regularizers.L2(1e-4))
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["L1", "L1L2", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2", "serialize"]


class Regularizer:
    """Base class: `regularizer(weight)` returns a scalar penalty tensor."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


def _check(name: str, value: float) -> float:
    value = float(value)
    if value < 0:
        raise ValueError(f"Regularization factor {name} must be >= 0. Received: {name}={value}")
    return value


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x**2)` (defaults l1=0.0, l2=0.0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check("l1", l1)
        self.l2 = _check("l2", l2)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * x.square().sum()
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """`l1 * sum(|x|)` (default l1=0.01)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """`l2 * sum(x**2)` (default l2=0.01)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier: Any) -> Regularizer | Any:
    """Return a regularizer from a name (`"l1"`, `"l2"`, `"l1_l2"`), config dict or callable."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Unknown regularizer config. Received: {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown regularizer '{identifier}'. Valid names: ['l1', 'l1_l2', 'l2']. "
                f"Received: regularizer={identifier!r}"
            )
        return cls()
    if callable(identifier):
        return identifier
    raise TypeError(f"Cannot interpret a regularizer from {identifier!r}.")


def serialize(regularizer: Any) -> Any:
    """Return a config dict for a regularizer, or None."""
    if regularizer is None:
        return None
    if isinstance(regularizer, Regularizer):
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    return getattr(regularizer, "__name__", repr(regularizer))


def deserialize(config: Any) -> Any:
    """Inverse of `serialize`."""
    return get(config)
