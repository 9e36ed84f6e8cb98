"""Probabilistic metrics: the cross-entropies, KL divergence and Poisson, as running means."""

from __future__ import annotations

from typing import Any

from nerve import losses
from nerve.metrics.mean import _BuiltinMetricWrapper

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "SparseCategoricalCrossentropy",
]


class BinaryCrossentropy(_BuiltinMetricWrapper):
    """Mean binary cross-entropy over all samples seen.

    Args:
        name: the metric's name (default `"binary_crossentropy"`).
        dtype: the float type of the state (default `backend.floatx()`).
        from_logits: whether predictions are logits (default False).
        label_smoothing: squeeze labels towards 0.5 by this amount (default 0).

    Example:
        >>> m = BinaryCrossentropy(); m.update_state([[1.0]], [[0.5]]); m.result()
        tensor(0.6931)
    """

    def __init__(
        self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False, label_smoothing: float = 0
    ) -> None:
        super().__init__(losses.binary_crossentropy, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_BuiltinMetricWrapper):
    """Mean categorical cross-entropy over all samples seen.

    Args:
        name: the metric's name (default `"categorical_crossentropy"`).
        dtype: the float type of the state (default `backend.floatx()`).
        from_logits: whether predictions are logits (default False).
        label_smoothing: mix labels with the uniform distribution by this amount (default 0).
        axis: the class axis (default -1).

    Example:
        >>> m = CategoricalCrossentropy(); m.update_state([[0.0, 1.0]], [[0.5, 0.5]]); m.result()
        tensor(0.6931)
    """

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ) -> None:
        super().__init__(
            losses.categorical_crossentropy, name, dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class SparseCategoricalCrossentropy(_BuiltinMetricWrapper):
    """Mean sparse categorical cross-entropy over all samples seen.

    Args:
        name: the metric's name (default `"sparse_categorical_crossentropy"`).
        dtype: the float type of the state (default `backend.floatx()`).
        from_logits: whether predictions are logits (default False).
        ignore_class: a label value to leave out (default None).
        axis: the class axis (default -1).

    Example:
        >>> m = SparseCategoricalCrossentropy(); m.update_state([1], [[0.5, 0.5]]); m.result()
        tensor(0.6931)
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ) -> None:
        super().__init__(
            losses.sparse_categorical_crossentropy, name, dtype,
            from_logits=from_logits, ignore_class=ignore_class, axis=axis,
        )  # fmt: skip


class KLDivergence(_BuiltinMetricWrapper):
    """Mean Kullback-Leibler divergence over all samples seen.

    Args:
        name: the metric's name (default `"kl_divergence"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = KLDivergence(); m.update_state([[0.5, 0.5]], [[0.5, 0.5]]); m.result()
        tensor(0.)
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(losses.kl_divergence, name, dtype)


class Poisson(_BuiltinMetricWrapper):
    """Mean Poisson loss over all samples seen.

    Args:
        name: the metric's name (default `"poisson"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Poisson(); m.update_state([[0.0]], [[2.0]]); m.result()
        tensor(2.)
    """

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(losses.poisson, name, dtype)
