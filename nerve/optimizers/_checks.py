"""Argument checks shared by the optimizers: each error says what is valid and what was received."""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def is_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0:
        return value.dtype != bool and value.dtype != torch.bool
    return False


def as_float(name: str, value: Any) -> float:
    """Return `value` as a finite Python float, or raise TypeError/ValueError naming `name`."""
    if not is_number(value):
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


def takes_step(fn: Callable[..., Any]) -> bool:
    """Whether a learning-rate callable wants the step (Keras schedules) or no argument."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            return True
    return False


def is_schedule(value: Any) -> bool:
    return callable(value) and not isinstance(value, (torch.Tensor, np.ndarray)) and not hasattr(value, "assign")


# torch.optim's argument names and their Keras names, for "did you mean" hints.
TORCH_SPELLINGS = {
    "lr": "learning_rate",
    "betas": "beta_1` and `beta_2",
    "beta1": "beta_1",
    "beta2": "beta_2",
    "eps": "epsilon",
    "alpha": "rho",
    "initial_accumulator": "initial_accumulator_value",
}


def reject_unknown_kwargs(
    init: Callable[..., Any], base_init: Callable[..., Any], kwargs: dict[str, Any], owner: str
) -> None:
    """Raise a ValueError naming the unknown keyword arguments, the valid ones and the likely fix."""
    valid = sorted(
        {
            p
            for fn in (init, base_init)
            for p, param in inspect.signature(fn).parameters.items()
            if p != "self" and param.kind != param.VAR_KEYWORD
        }
    )
    hints = []
    for key in kwargs:
        alias = TORCH_SPELLINGS.get(key)
        if alias is not None and alias.split("`")[0] in valid:
            close = [alias]
        else:
            close = difflib.get_close_matches(key, valid, n=1)
        if close:
            hints.append(f"`{key}` -> `{close[0]}`")
    message = (
        f"Argument(s) not recognized by {owner}: {sorted(kwargs)}. "
        f"Valid arguments: {valid}. Received: {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}"
    )
    if hints:
        message += "\nhelp: did you mean " + ", ".join(hints) + "?"
    raise ValueError(message)
