"""`Sum`, `Mean` and `MeanMetricWrapper`: weighted running totals of per-sample values."""

from __future__ import annotations

from typing import Any, Callable

import torch

from nerve import losses
from nerve.losses import _divide_no_nan, squeeze_or_expand_to_same_rank
from nerve.metrics.metric import Metric, to_tensor

__all__ = ["Mean", "MeanMetricWrapper", "Sum"]


def _apply_mask(sample_weight: torch.Tensor | None, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Fold a boolean mask of valid entries into the sample weights."""
    if mask is None:
        return sample_weight
    float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def _samplewise(
    values: torch.Tensor,
    sample_weight: Any,
    reduce_fn: Callable[..., torch.Tensor],
    dtype: torch.dtype,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Reduce `values` to one weighted value per sample (Keras's rules); return them and the weights."""
    if values.dtype != dtype:
        values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, values.device, dtype)
        sample_weight = _apply_mask(sample_weight, mask, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.dim(), values.dim()
        if v_ndim > w_ndim:
            values = reduce_fn(values, dim=tuple(range(w_ndim, v_ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, w_ndim)))
    if values.dim() > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.dim())))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen.

    Args:
        name: the metric's name (default `"sum"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Sum(); m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0]); m.result()
        tensor(4.)
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    @torch.no_grad()
    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add the (weighted) values of a batch."""
        mask = getattr(values, "_keras_mask", None)
        device = self._sync_device(values)
        values = to_tensor(values, device)
        values, _ = _samplewise(values, sample_weight, torch.sum, self._torch_dtype, mask)
        self.total.value.add_(values.sum())

    def result(self) -> torch.Tensor:
        """Return the running sum as a 0-d tensor."""
        return self.total.value.clone()


class Mean(Metric):
    """The (weighted) mean of the values seen: `sum(values * w) / sum(w)`.

    Args:
        name: the metric's name (default `"mean"`).
        dtype: the float type of the state (default `backend.floatx()`).

    Example:
        >>> m = Mean(); m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0]); m.result()
        tensor(2.)
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    @torch.no_grad()
    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add a batch of values (one per sample, or more, averaged per sample)."""
        mask = getattr(values, "_keras_mask", None)
        device = self._sync_device(values)
        values = to_tensor(values, device)
        self._accumulate(values, sample_weight, mask)

    def _accumulate(self, values: torch.Tensor, sample_weight: Any, mask: torch.Tensor | None) -> None:
        values, sample_weight = _samplewise(values, sample_weight, torch.mean, self._torch_dtype, mask)
        self.total.value.add_(values.sum())
        if sample_weight is not None:
            self.count.value.add_(sample_weight.sum())
        else:
            self.count.value.add_(values.shape[0] if values.dim() else 1)

    def result(self) -> torch.Tensor:
        """Return `total / count` as a 0-d tensor (0 before any update)."""
        return _divide_no_nan(self.total.value, self.count.value)


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


class MeanMetricWrapper(Mean):
    """The weighted mean of `fn(y_true, y_pred, **kwargs)` over all samples seen.

    Args:
        fn: a function returning one value per sample, e.g. a loss function.
        name: the metric's name (default `"mean_metric_wrapper"`, made unique).
        dtype: the float type of the state (default `backend.floatx()`).
        **kwargs: extra keyword arguments for `fn`.

    Example:
        >>> from nerve.losses import mean_absolute_error
        >>> m = MeanMetricWrapper(mean_absolute_error, name="mae")
        >>> m.update_state([[0.0], [1.0]], [[1.0], [1.0]]); m.result()
        tensor(0.5000)
    """

    # Whether larger values are better ("up") or worse ("down"); set for loss functions, declared by subclasses.
    _direction: str | None = None

    def __init__(self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype)  # type: ignore[arg-type]
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in _LOSS_FUNCTIONS:
            self._direction = "down"

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add `fn(y_true, y_pred)` of a batch, weighted by `sample_weight`."""
        device = self._sync_device(y_pred)
        mask = getattr(y_pred, "_keras_mask", None)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        values_mask = getattr(values, "_keras_mask", None)
        values = to_tensor(values, device)
        if mask is not None:
            sample_weight = _apply_mask(
                None if sample_weight is None else to_tensor(sample_weight, device, self._torch_dtype),
                mask,
                self._torch_dtype,
            )
        self._accumulate(values, sample_weight, values_mask)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = _fn_name(self._fn)
            config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MeanMetricWrapper":
        """Create the metric from `get_config()`'s output (a function name is looked up)."""
        config = dict(config)
        if isinstance(config.get("fn"), str):
            from nerve.metrics import _REGISTRY

            config["fn"] = _REGISTRY.function(config["fn"])
        return cls(**config)


class _BuiltinMetricWrapper(MeanMetricWrapper):
    """Base of the built-in metrics over a per-sample function, each with Keras's signature.

    A subclass passes its function and its options on; the options go to the
    function, become attributes and fill `get_config` after `name` and `dtype`.
    """

    def __init__(self, fn: Callable[..., Any], name: str, dtype: Any, **options: Any) -> None:
        super().__init__(fn, name=name, dtype=dtype, **options)
        vars(self).update(options)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {"name": self.name, "dtype": self.dtype, **{key: getattr(self, key) for key in self._fn_kwargs}}


_LOSS_FUNCTIONS = tuple(losses._FUNCTIONS.values())
