"""Hinge metrics: running means of the hinge, squared hinge and categorical hinge losses."""

from __future__ import annotations

from typing import Any

from nerve import losses
from nerve.metrics.mean import _BuiltinMetricWrapper

__all__ = ["CategoricalHinge", "Hinge", "SquaredHinge"]


class Hinge(_BuiltinMetricWrapper):
    """Mean hinge loss over all samples seen.

    Args:
        name: the metric's name (default `"hinge"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Hinge(); m.update_state([[1.0]], [[0.25]]); m.result()
        tensor(0.7500)
    """

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(losses.hinge, name, dtype)


class SquaredHinge(_BuiltinMetricWrapper):
    """Mean squared hinge loss over all samples seen.

    Args:
        name: the metric's name (default `"squared_hinge"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = SquaredHinge(); m.update_state([[1.0]], [[0.5]]); m.result()
        tensor(0.2500)
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(losses.squared_hinge, name, dtype)


class CategoricalHinge(_BuiltinMetricWrapper):
    """Mean categorical hinge loss over all samples seen.

    Args:
        name: the metric's name (default `"categorical_hinge"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = CategoricalHinge(); m.update_state([[0.0, 1.0]], [[0.2, 0.8]]); m.result()
        tensor(0.4000)
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(losses.categorical_hinge, name, dtype)
