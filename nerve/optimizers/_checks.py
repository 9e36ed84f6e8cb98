"""Argument checks shared by the optimizers: each error says what is valid and what was received."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch


def _is_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0:
        return value.dtype != bool and value.dtype != torch.bool
    return False


def as_float(name: str, value: Any) -> float:
    """Return `value` as a finite Python float, or raise TypeError/ValueError naming `name`."""
    if not _is_number(value):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"Argument `{name}` must be a finite number. Received: {name}={value!r}")
    return result


def in_range(
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    high_inclusive: bool = True,
) -> float:
    """Check `low <= value <= high` (or `< high`) and return the value as a float."""
    result = as_float(name, value)
    too_high = result > high if high_inclusive else result >= high
    if result < low or too_high:
        if high == math.inf:
            valid = f">= {low}"
        else:
            valid = f"in [{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"Argument `{name}` must be {valid}. Received: {name}={value!r}")
    return result


def optional_non_negative(name: str, value: Any) -> float | None:
    """`None` or a number >= 0."""
    return None if value is None else in_range(name, value, 0.0)


def decay_rate(name: str, value: Any) -> float:
    """A decay rate such as beta_1 or rho: a float in [0, 1)."""
    return in_range(name, value, 0.0, 1.0, high_inclusive=False)


def boolean(name: str, value: Any) -> bool:
    """A Python or numpy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Argument `{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def positive_int(name: str, value: Any, minimum: int) -> int:
    """An integer >= `minimum`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Argument `{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)
