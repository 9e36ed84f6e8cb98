"""Loss functions and loss classes with Keras 3's names, defaults and semantics.

Each function (`mean_squared_error`, `binary_crossentropy`, ...) returns one loss
per sample: it reduces over the last axis the way Keras does. Each class
(`MeanSquaredError`, `BinaryCrossentropy`, ...) wraps a function and reduces the
per-sample losses to a scalar with `reduction` (default `"sum_over_batch_size"`:
the weighted sum divided by the number of loss elements, not by the sum of the
weights), optionally weighting samples with `sample_weight`.

Logits fusion: nerve's `softmax` and `sigmoid` activations attach their input to
their output as `probs._nerve_logits` (and `probs._nerve_logits_kind`, either
`"softmax"` or `"sigmoid"`). When a cross-entropy loss with `from_logits=False`
receives such a tensor, and the activation matches the loss (softmax for the
categorical and sparse categorical cross-entropies, sigmoid for the binary and
binary focal ones) over the last axis, nerve computes the loss from the logits
with torch's fused kernels (`cross_entropy`, `binary_cross_entropy_with_logits`,
`log_softmax`). Keras on torch instead clips the probabilities to
`[epsilon, 1 - epsilon]` and takes their log. Both agree to float precision
while the probabilities are not saturated; once they are, nerve's value and its
gradient stay exact where Keras's saturate at `-log(epsilon)` (about 16.1)
and give zero gradient. Tensors without the attribute are computed from
probabilities exactly as Keras does.

Example:
    >>> import torch
    >>> from nerve import losses
    >>> losses.MeanSquaredError()(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5]))
    tensor(0.2500)
    >>> losses.get("mse") is losses.mean_squared_error
    True
"""

from __future__ import annotations

import difflib
import inspect
import math
import warnings
from typing import Any, Callable

import torch
import torch.nn.functional as F

from nerve import backend

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "kullback_leibler_divergence",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]

_HALF = (torch.float16, torch.bfloat16)
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
_LOG2 = math.log(2.0)


# --------------------------------------------------------------------------- helpers


def _float_dtype() -> torch.dtype:
    dtype = backend.standardize_dtype(backend.floatx())
    return torch.float32 if dtype in _HALF else dtype


def _copy_logits(new: torch.Tensor, old: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Give `new` (made from `old` by `fn`) the logits of `old`, transformed the same way."""
    logits = getattr(old, "_nerve_logits", None)
    if logits is not None:
        new._nerve_logits = fn(logits)  # type: ignore[attr-defined]
        new._nerve_logits_kind = getattr(old, "_nerve_logits_kind", None)  # type: ignore[attr-defined]
    return new


def _as_pred(y_pred: Any) -> torch.Tensor:
    """Return predictions as a float tensor; half precision is computed in float32 like Keras."""
    if isinstance(y_pred, torch.Tensor):
        if y_pred.is_floating_point() and y_pred.dtype not in _HALF:
            return y_pred
        dtype = _float_dtype()
        return _copy_logits(y_pred.to(dtype), y_pred, lambda t: t.to(dtype))
    if isinstance(y_pred, backend.Variable):
        return _as_pred(y_pred.value)
    y_pred = backend.convert_to_tensor(y_pred)
    if not y_pred.is_floating_point() or y_pred.dtype in _HALF:
        y_pred = y_pred.to(_float_dtype())
    return y_pred


def _as_true(y_true: Any, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return labels as a tensor on the device of `like`, cast to `dtype` when given."""
    if isinstance(y_true, backend.Variable):
        y_true = y_true.value
    if not isinstance(y_true, torch.Tensor):
        y_true = backend.convert_to_tensor(y_true, device=like.device)
    elif y_true.device != like.device:
        y_true = y_true.to(like.device)
    if dtype is not None and y_true.dtype != dtype:
        y_true = y_true.to(dtype)
    return y_true


def squeeze_or_expand_to_same_rank(
    x1: torch.Tensor, x2: torch.Tensor, expand_rank_1: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Match ranks that differ by one through a trailing axis of size 1, like Keras.

    The tensor with the extra trailing 1 is squeezed, except that a rank-1
    partner is expanded instead when `expand_rank_1` is true. Logits attached
    to `x2` follow it.

    Args:
        x1: first tensor (labels, or losses).
        x2: second tensor (predictions, or weights).
        expand_rank_1: expand a rank-1 partner rather than squeeze (default True).

    Example:
        >>> a, b = squeeze_or_expand_to_same_rank(torch.zeros(4), torch.zeros(4, 1))
        >>> a.shape
        torch.Size([4, 1])
    """
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _copy_logits(x2.unsqueeze(-1), x2, lambda t: t.unsqueeze(-1))
        else:
            x1 = x1.squeeze(-1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = _copy_logits(x2.squeeze(-1), x2, lambda t: t.squeeze(-1))
    return x1, x2


def _fused_logits(y_pred: torch.Tensor, kind: str) -> torch.Tensor | None:
    """Return the logits attached to `y_pred` by a matching activation, else None."""
    logits = getattr(y_pred, "_nerve_logits", None)
    if logits is None or getattr(y_pred, "_nerve_logits_kind", None) != kind:
        return None
    if logits.shape != y_pred.shape:
        return None
    if logits.dtype != y_pred.dtype:
        logits = logits.to(y_pred.dtype)
    return logits


def _dense_pair(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, y_pred, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _check_axis(axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def _is_last_axis(axis: int, ndim: int) -> bool:
    return axis == -1 or axis == ndim - 1


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
    return x * torch.clamp(inv_norm, max=1.0 / backend.epsilon())


# --------------------------------------------------------------------------- functions


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of squared errors over the last axis: `mean(square(y_true - y_pred), axis=-1)`.

    Args:
        y_true: ground truth, shape `(batch, ..., d)`.
        y_pred: predictions, same shape (a trailing axis of 1 is matched).

    Example:
        >>> mean_squared_error(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor([0.5000])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of absolute errors over the last axis: `mean(abs(y_true - y_pred), axis=-1)`.

    Args:
        y_true: ground truth.
        y_pred: predictions.

    Example:
        >>> mean_absolute_error(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor([0.5000])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)`.

    Args:
        y_true: ground truth.
        y_pred: predictions.

    Example:
        >>> mean_absolute_percentage_error(torch.tensor([[2.0]]), torch.tensor([[1.0]]))
        tensor([50.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=backend.epsilon()))
    return 100.0 * torch.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)`, values below epsilon raised to it.

    Args:
        y_true: ground truth.
        y_pred: predictions.

    Example:
        >>> mean_squared_logarithmic_error(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor([0.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    eps = backend.epsilon()
    first = torch.log(torch.clamp(y_pred, min=eps) + 1.0)
    second = torch.log(torch.clamp(y_true, min=eps) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """Huber loss: quadratic for errors up to `delta`, linear beyond, averaged over the last axis.

    Args:
        y_true: ground truth.
        y_pred: predictions.
        delta: where the loss changes from quadratic to linear (default 1.0).

    Example:
        >>> huber(torch.tensor([[0.0]]), torch.tensor([[3.0]]))
        tensor([2.5000])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    quadratic = 0.5 * torch.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return torch.mean(torch.where(abs_error <= delta, quadratic, linear), dim=-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean over the last axis of `log(cosh(y_pred - y_true))`, computed without overflow.

    Args:
        y_true: ground truth.
        y_pred: predictions.

    Example:
        >>> log_cosh(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor([0.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    x = y_pred - y_true
    return torch.mean(x + F.softplus(-2.0 * x) - _LOG2, dim=-1)


def _hinge_margin(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`maximum(1 - y_true * y_pred, 0)`, with labels that are all 0 or 1 turned into -1 or 1 (no host sync)."""
    y_true, y_pred = _dense_pair(y_true, y_pred)
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    y_true = torch.where(is_binary, 2.0 * y_true - 1.0, y_true)
    return torch.clamp(1.0 - y_true * y_pred, min=0.0)


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`mean(maximum(1 - y_true * y_pred, 0), axis=-1)`; 0/1 labels are turned into -1/1.

    Args:
        y_true: labels in {-1, 1} or {0, 1}.
        y_pred: predictions.

    Example:
        >>> hinge(torch.tensor([[1.0]]), torch.tensor([[0.25]]))
        tensor([0.7500])
    """
    return torch.mean(_hinge_margin(y_true, y_pred), dim=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`; 0/1 labels become -1/1.

    Args:
        y_true: labels in {-1, 1} or {0, 1}.
        y_pred: predictions.

    Example:
        >>> squared_hinge(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor([0.2500])
    """
    return torch.mean(torch.square(_hinge_margin(y_true, y_pred)), dim=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """`maximum(neg - pos + 1, 0)` with `pos = sum(y_true * y_pred)`, `neg = max((1 - y_true) * y_pred)`.

    Args:
        y_true: one-hot labels.
        y_pred: predictions.

    Example:
        >>> categorical_hinge(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.2, 0.8]]))
        tensor([0.4000])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to [epsilon, 1].

    Args:
        y_true: target distribution.
        y_pred: predicted distribution.

    Example:
        >>> kl_divergence(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]]))
        tensor([0.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    eps = backend.epsilon()
    y_true = torch.clamp(y_true, eps, 1.0)
    y_pred = torch.clamp(y_pred, eps, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Poisson loss `mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)`.

    Args:
        y_true: observed counts.
        y_pred: predicted rates.

    Example:
        >>> poisson(torch.tensor([[0.0]]), torch.tensor([[2.0]]))
        tensor([2.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    return torch.mean(y_pred - y_true * torch.log(y_pred + backend.epsilon()), dim=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Negative cosine similarity along `axis`: -1 for the same direction, 0 for orthogonal or zero vectors.

    Args:
        y_true: targets.
        y_pred: predictions.
        axis: the axis holding the vectors (default -1).

    Example:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        tensor([-1.])
    """
    y_true, y_pred = _dense_pair(y_true, y_pred)
    return -torch.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), dim=axis)


def _binary_inputs(
    y_true: Any, y_pred: Any, from_logits: bool, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Smoothed labels, probabilities and, where known, logits (with labels broadcast to them)."""
    y_true, y_pred = _dense_pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = y_pred if from_logits else _fused_logits(y_pred, "sigmoid")
    if logits is not None and y_true.shape != logits.shape:
        y_true, logits = torch.broadcast_tensors(y_true, logits)
    return y_true, y_pred, logits


def _binary_ce(y_true: torch.Tensor, y_pred: torch.Tensor, logits: torch.Tensor | None) -> torch.Tensor:
    """Elementwise binary cross-entropy: from the logits when given, else from clipped probabilities."""
    if logits is not None:
        return F.binary_cross_entropy_with_logits(logits, y_true, reduction="none")
    eps = backend.epsilon()
    p = torch.clamp(y_pred, eps, 1.0 - eps)
    return -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> torch.Tensor:
    """Binary cross-entropy averaged over `axis` (default the last).

    Uses the logits attached by a sigmoid activation when present (see module docs).

    Args:
        y_true: labels in [0, 1].
        y_pred: probabilities, or logits if `from_logits`.
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: squeeze labels towards 0.5 by this amount (default 0.0).
        axis: the axis averaged over (default -1).

    Example:
        >>> binary_crossentropy(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor([0.6931])
    """
    y_true, y_pred, logits = _binary_inputs(y_true, y_pred, from_logits, label_smoothing)
    return torch.mean(_binary_ce(y_true, y_pred, logits), dim=axis)


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Binary focal cross-entropy: cross-entropy scaled by `(1 - p_t) ** gamma`, averaged over `axis`.

    Args:
        y_true: labels in [0, 1].
        y_pred: probabilities, or logits if `from_logits`.
        apply_class_balancing: weight class 1 by `alpha` and class 0 by `1 - alpha` (default False).
        alpha: the class-balancing weight (default 0.25).
        gamma: the focusing parameter (default 2.0).
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: squeeze labels towards 0.5 by this amount (default 0.0).
        axis: the axis averaged over (default -1).

    Example:
        >>> binary_focal_crossentropy(torch.tensor([[1.0]]), torch.tensor([[0.5]]), gamma=0.0)
        tensor([0.6931])
    """
    y_true, y_pred, logits = _binary_inputs(y_true, y_pred, from_logits, label_smoothing)
    bce = _binary_ce(y_true, y_pred, logits)
    probs = y_pred if logits is None else torch.sigmoid(logits)
    p_t = y_true * probs + (1.0 - y_true) * (1.0 - probs)
    focal = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return torch.mean(focal, dim=axis)


def _categorical_inputs(
    fn_name: str, y_true: Any, y_pred: Any, from_logits: bool, label_smoothing: float, axis: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Checked, smoothed one-hot labels, probabilities and, where known, logits (for `fn_name`'s errors)."""
    _check_axis(axis)
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, y_pred, y_pred.dtype)
    if y_pred.dim() and y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {fn_name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. With 2 classes, "
            "use 'binary_crossentropy' and a sigmoid output instead.",
            UserWarning,
            stacklevel=3,
        )
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.dim() == y_pred.dim() - 1 or (y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1):
            hint = " Integer class labels need 'sparse_categorical_crossentropy'."
        raise ValueError(
            f"In {fn_name}, `y_true` (one-hot labels) and `y_pred` must have the same shape.{hint} "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        return y_true, y_pred, y_pred
    return y_true, y_pred, _fused_logits(y_pred, "softmax") if _is_last_axis(axis, y_pred.dim()) else None


def _clipped_distribution(y_pred: torch.Tensor, axis: int) -> torch.Tensor:
    """Scores normalized to sum to 1 over `axis`, clipped to [epsilon, 1 - epsilon] as Keras does."""
    eps = backend.epsilon()
    return torch.clamp(y_pred / torch.sum(y_pred, dim=axis, keepdim=True), eps, 1.0 - eps)


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> torch.Tensor:
    """Categorical cross-entropy between one-hot (or soft) labels and predicted distributions.

    Uses the logits attached by a last-axis softmax when present (see module docs).

    Args:
        y_true: one-hot or probability labels, same shape as `y_pred`.
        y_pred: probabilities, or logits if `from_logits`.
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: mix labels with the uniform distribution by this amount (default 0.0).
        axis: the class axis (default -1).

    Example:
        >>> categorical_crossentropy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor([0.6931])
    """
    y_true, y_pred, logits = _categorical_inputs(
        "categorical_crossentropy", y_true, y_pred, from_logits, label_smoothing, axis
    )
    if logits is not None:
        return -torch.sum(y_true * torch.log_softmax(logits, dim=axis), dim=axis)
    return -torch.sum(y_true * torch.log(_clipped_distribution(y_pred, axis)), dim=axis)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Categorical focal cross-entropy: each class term scaled by `alpha * (1 - p) ** gamma`.

    Args:
        y_true: one-hot labels.
        y_pred: probabilities, or logits if `from_logits`.
        alpha: weighting factor (default 0.25).
        gamma: focusing parameter (default 2.0).
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: mix labels with the uniform distribution by this amount (default 0.0).
        axis: the class axis (default -1).

    Example:
        >>> categorical_focal_crossentropy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor([0.0433])
    """
    y_true, y_pred, logits = _categorical_inputs(
        "categorical_focal_crossentropy", y_true, y_pred, from_logits, label_smoothing, axis
    )
    if logits is not None:
        log_p = torch.log_softmax(logits, dim=axis)
        probs = torch.exp(log_p)
    else:
        probs = _clipped_distribution(y_pred, axis)
        log_p = torch.log(probs)
    focal = alpha * torch.pow(1.0 - probs, gamma) * (-y_true * log_p)
    return torch.sum(focal, dim=axis)


def _sparse_prepare(
    y_true: Any, y_pred: torch.Tensor, axis: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels as int64 with the class axis of `y_pred` moved last; checks shapes."""
    y_true = _as_true(y_true, y_pred)
    if y_true.dim() == y_pred.dim() and y_true.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    if not _is_last_axis(axis, y_pred.dim()):
        y_pred = y_pred.movedim(axis, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "In sparse_categorical_crossentropy, `y_true` (integer class labels) must have the shape of "
            "`y_pred` without its class axis (a trailing axis of size 1 is allowed). One-hot labels "
            "need 'categorical_crossentropy'. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    if y_true.dtype != torch.int64:
        y_true = y_true.to(torch.int64)
    return y_true, y_pred


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> torch.Tensor:
    """Cross-entropy between integer class labels and predicted distributions over `axis`.

    Uses the logits attached by a last-axis softmax when present (see module docs),
    through torch's fused `cross_entropy`. Labels may be any integer or float
    dtype, shaped like `y_pred` without its class axis or with a trailing 1.

    Args:
        y_true: integer class labels, shape `(batch, ...)` or `(batch, ..., 1)`.
        y_pred: probabilities, or logits if `from_logits`, shape `(batch, ..., num_classes)`.
        from_logits: whether `y_pred` holds logits (default False).
        ignore_class: a label value whose entries get zero loss and are left out of the mean (default None).
        axis: the class axis (default -1).

    Example:
        >>> sparse_categorical_crossentropy(torch.tensor([1]), torch.tensor([[0.5, 0.5]]))
        tensor([0.6931])
    """
    _check_axis(axis)
    y_pred = _as_pred(y_pred)
    last = _is_last_axis(axis, y_pred.dim())
    if from_logits:
        logits = y_pred
    else:
        logits = _fused_logits(y_pred, "softmax") if last else None
    target, y_pred = _sparse_prepare(y_true, y_pred, axis)
    if logits is not None:
        if not last:
            logits = logits.movedim(axis, -1)
        num_classes = logits.shape[-1]
        res = F.cross_entropy(
            logits.reshape(-1, num_classes),
            target.reshape(-1),
            reduction="none",
            ignore_index=-100 if ignore_class is None else int(ignore_class),
        ).reshape(target.shape)
        if ignore_class is not None:
            res._keras_mask = target != ignore_class  # type: ignore[attr-defined]
        return res
    valid = None
    if ignore_class is not None:
        valid = target != ignore_class
        target = torch.where(valid, target, torch.zeros_like(target))
    eps = backend.epsilon()
    picked = torch.gather(y_pred, -1, target.unsqueeze(-1)).squeeze(-1)
    p = torch.clamp(picked / torch.sum(y_pred, dim=-1), eps, 1.0 - eps)
    res = -torch.log(p)
    if valid is not None:
        res = torch.where(valid, res, torch.zeros_like(res))
        res._keras_mask = valid  # type: ignore[attr-defined]
    return res


# Keras aliases.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy


# --------------------------------------------------------------------------- reduction


def _standardize_reduction(reduction: Any) -> str | None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{list(_REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


def _align_weights(values: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Match per-sample weights to `values`: Keras's trailing-1 rule, then broadcast from the batch axis."""
    values, weights = squeeze_or_expand_to_same_rank(values, weights)
    if 0 < weights.dim() < values.dim():
        weights = weights.reshape(tuple(weights.shape) + (1,) * (values.dim() - weights.dim()))
    return values, weights


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a / b`, or 0 where `b` is 0 (with finite gradients there too)."""
    zero = b == 0
    return torch.where(zero, torch.zeros_like(a), a / torch.where(zero, torch.ones_like(b), b))


def reduce_weighted_values(
    values: torch.Tensor,
    sample_weight: Any = None,
    mask: torch.Tensor | None = None,
    reduction: str | None = "sum_over_batch_size",
) -> torch.Tensor:
    """Weight per-sample losses and reduce them to a scalar the way Keras losses do.

    Args:
        values: per-sample losses.
        sample_weight: optional weights, per sample or per element (default None).
        mask: optional boolean mask of valid entries; the mean counts only those (default None).
        reduction: `"sum_over_batch_size"` (default), `"mean"`, `"sum"`,
            `"mean_with_sample_weight"`, or `"none"`/None.

    Example:
        >>> reduce_weighted_values(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.0]))
        tensor(0.5000)
    """
    reduction = _standardize_reduction(reduction)
    if sample_weight is not None:
        if isinstance(sample_weight, backend.Variable):
            sample_weight = sample_weight.value
        if not isinstance(sample_weight, torch.Tensor):
            sample_weight = backend.convert_to_tensor(sample_weight, dtype=values.dtype, device=values.device)
        elif sample_weight.dtype != values.dtype or sample_weight.device != values.device:
            sample_weight = sample_weight.to(device=values.device, dtype=values.dtype)
    if mask is not None:
        float_mask = mask.to(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            # Valid entries get weight total/valid, so the mean is over valid entries only.
            valid = float_mask.sum()
            float_mask = float_mask * _divide_no_nan(torch.full_like(valid, float(mask.numel())), valid)
        if sample_weight is None:
            sample_weight = float_mask
        else:
            float_mask, sample_weight = _align_weights(float_mask, sample_weight)
            sample_weight = sample_weight * float_mask
    if sample_weight is not None:
        values, sample_weight = _align_weights(values, sample_weight)
        values = values * sample_weight
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(values.sum(), sample_weight.sum())
    n = values.numel()
    return values.sum() / n if n else values.sum() * 0.0


# --------------------------------------------------------------------------- classes


class Loss:
    """Base class for losses: subclass it and implement `call(y_true, y_pred)`.

    `loss(y_true, y_pred, sample_weight=None)` calls `call` for per-sample
    losses, weights them and reduces them to a scalar tensor.

    Args:
        name: the loss's name (default: the snake-case class name, made unique).
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"`, or `"none"`/None for per-sample losses.
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> class MyMSE(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ((y_true - y_pred) ** 2).mean(dim=-1)
        >>> MyMSE()(torch.zeros(2, 3), torch.ones(2, 3))
        tensor(1.)
    """

    # Integer labels reach `call` unconverted (sparse cross-entropy); others get floats like Keras.
    _keeps_label_dtype = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None) -> None:
        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self.reduction = _standardize_reduction(reduction)
        self._dtype = dtype if isinstance(dtype, str) or dtype is None else str(dtype).replace("torch.", "")

    @property
    def dtype(self) -> str:
        """The float type name of the computation."""
        return self._dtype or backend.floatx()

    def _convert(self, y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
        y_pred = _as_pred(y_pred)
        if self._dtype is not None:
            dtype = backend.standardize_dtype(self._dtype)
            if dtype != y_pred.dtype and dtype not in _HALF:
                y_pred = _copy_logits(y_pred.to(dtype), y_pred, lambda t: t.to(dtype))
        y_true = _as_true(y_true, y_pred, None if self._keeps_label_dtype else y_pred.dtype)
        return y_true, y_pred

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Return the reduced loss for a batch (a 0-d tensor unless reduction is none)."""
        y_true, y_pred = self._convert(y_true, y_pred)
        in_mask = getattr(y_pred, "_keras_mask", None)
        losses = self.call(y_true, y_pred)
        if not isinstance(losses, torch.Tensor):
            losses = backend.convert_to_tensor(losses, device=y_pred.device)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.bool() & out_mask.bool()
        else:
            mask = in_mask if in_mask is not None else out_mask
        if mask is not None and mask.shape != losses.shape:
            mask = None if mask.numel() != losses.numel() else mask.reshape(losses.shape)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Return per-sample losses; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        """Create a loss from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or backend.to_snake_case(type(fn).__name__)


class LossFunctionWrapper(Loss):
    """A `Loss` made from a function `fn(y_true, y_pred, **kwargs)` that returns per-sample losses.

    Args:
        fn: the loss function.
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"loss_function_wrapper"`, made unique).
        dtype: the float type of the computation (default `backend.floatx()`).
        **kwargs: extra keyword arguments for `fn`.

    Example:
        >>> LossFunctionWrapper(mean_absolute_error)(torch.zeros(2, 1), torch.ones(2, 1))
        tensor(1.)
    """

    def __init__(
        self,
        fn: Callable[..., torch.Tensor],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(fn, str):
            fn = _REGISTRY.function(fn)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        self._keeps_label_dtype = fn is sparse_categorical_crossentropy

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Return the reduced loss for a batch."""
        if self.fn is sparse_categorical_crossentropy and sample_weight is None:
            fast = self._fused_sparse(y_true, y_pred)
            if fast is not None:
                return fast
        return super().__call__(y_true, y_pred, sample_weight)

    def _fused_sparse(self, y_true: Any, y_pred: Any) -> torch.Tensor | None:
        """One fused cross_entropy call with reduction for the common training case, else None."""
        kw = self._fn_kwargs
        if (
            self.reduction not in ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum")
            or kw.get("ignore_class") is not None
            or kw.get("axis", -1) != -1
            or not isinstance(y_pred, torch.Tensor)
            or self._dtype is not None
            or getattr(y_pred, "_keras_mask", None) is not None
        ):
            return None
        logits = y_pred if kw.get("from_logits", False) else _fused_logits(y_pred, "softmax")
        if logits is None or logits.dim() == 0:
            return None
        if not logits.is_floating_point() or logits.dtype in _HALF:
            logits = logits.to(_float_dtype())
        target = _as_true(y_true, logits)
        if target.dim() == logits.dim() and target.shape[-1] == 1:
            target = target.squeeze(-1)
        if target.shape != logits.shape[:-1] or target.numel() == 0:
            return None
        if target.dtype != torch.int64:
            target = target.to(torch.int64)
        reduction = "sum" if self.reduction == "sum" else "mean"
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction=reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Match ranks like Keras, then return `fn(y_true, y_pred, **kwargs)`."""
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict."""
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = _fn_name(self.fn)
        config.update(self._fn_kwargs)
        return config

    def __repr__(self) -> str:
        if type(self) is LossFunctionWrapper:
            return f"<LossFunctionWrapper({_fn_name(self.fn)}, kwargs={self._fn_kwargs})>"
        return super().__repr__()


class _BuiltinLoss(LossFunctionWrapper):
    """Base of the built-in loss classes: each is its function with the options of its signature.

    A subclass keeps Keras's constructor signature and passes its function and
    its options on; the options go to the function, become attributes and fill
    `get_config` after `name` and `reduction`.
    """

    def __init__(
        self, fn: Callable[..., torch.Tensor], reduction: str | None, name: str, dtype: Any, **options: Any
    ) -> None:
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype, **options)
        vars(self).update(options)


class MeanSquaredError(_BuiltinLoss):
    """Mean of squared errors between labels and predictions.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"mean_squared_error"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> MeanSquaredError()(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.5000)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """Mean of absolute errors between labels and predictions.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"mean_absolute_error"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> MeanAbsoluteError()(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.5000)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, reduction, name, dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """Mean absolute percentage error, `100 * mean(abs((y_true - y_pred) / y_true))`.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"mean_absolute_percentage_error"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> MeanAbsolutePercentageError()(torch.tensor([[2.0]]), torch.tensor([[1.0]]))
        tensor(50.)
    """

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_percentage_error", dtype: Any = None
    ) -> None:
        super().__init__(mean_absolute_percentage_error, reduction, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """Mean squared error between `log(y_true + 1)` and `log(y_pred + 1)`.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"mean_squared_logarithmic_error"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> MeanSquaredLogarithmicError()(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor(0.)
    """

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_logarithmic_error", dtype: Any = None
    ) -> None:
        super().__init__(mean_squared_logarithmic_error, reduction, name, dtype)


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity between labels and predictions along `axis`.

    Args:
        axis: the axis holding the vectors (default -1).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"cosine_similarity"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> CosineSimilarity()(torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 0.0]]))
        tensor(-1.)
    """

    def __init__(
        self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str = "cosine_similarity", dtype: Any = None
    ) -> None:
        super().__init__(cosine_similarity, reduction, name, dtype, axis=axis)


class Huber(_BuiltinLoss):
    """Huber loss: quadratic for small errors, linear beyond `delta`.

    Args:
        delta: where the loss turns linear (default 1.0).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"huber_loss"`, as in Keras).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> Huber()(torch.tensor([[0.0]]), torch.tensor([[3.0]]))
        tensor(2.5000)
    """

    def __init__(
        self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss", dtype: Any = None
    ) -> None:
        super().__init__(huber, reduction, name, dtype, delta=delta)


class LogCosh(_BuiltinLoss):
    """Logarithm of the hyperbolic cosine of the prediction error.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"log_cosh"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> LogCosh()(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor(0.)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh", dtype: Any = None) -> None:
        super().__init__(log_cosh, reduction, name, dtype)


class Hinge(_BuiltinLoss):
    """Hinge loss `maximum(1 - y_true * y_pred, 0)`; 0/1 labels become -1/1.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"hinge"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> Hinge()(torch.tensor([[1.0]]), torch.tensor([[0.25]]))
        tensor(0.7500)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(hinge, reduction, name, dtype)


class SquaredHinge(_BuiltinLoss):
    """Squared hinge loss `square(maximum(1 - y_true * y_pred, 0))`; 0/1 labels become -1/1.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"squared_hinge"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> SquaredHinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.2500)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(squared_hinge, reduction, name, dtype)


class CategoricalHinge(_BuiltinLoss):
    """Categorical hinge loss `maximum(neg - pos + 1, 0)` for one-hot labels.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"categorical_hinge"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> CategoricalHinge()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.2, 0.8]]))
        tensor(0.4000)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(categorical_hinge, reduction, name, dtype)


class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence `y_true * log(y_true / y_pred)`.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"kl_divergence"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> KLDivergence()(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(kl_divergence, reduction, name, dtype)


class Poisson(_BuiltinLoss):
    """Poisson loss `y_pred - y_true * log(y_pred)`.

    Args:
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"poisson"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> Poisson()(torch.tensor([[0.0]]), torch.tensor([[2.0]]))
        tensor(2.)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(poisson, reduction, name, dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """Binary cross-entropy for 0/1 labels (or probabilities) and predicted probabilities.

    Args:
        from_logits: whether predictions are logits (default False).
        label_smoothing: squeeze labels towards 0.5 by this amount (default 0.0).
        axis: the axis averaged over (default -1).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"binary_crossentropy"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> BinaryCrossentropy()(torch.tensor([1.0, 0.0]), torch.tensor([[0.5], [0.5]]))
        tensor(0.6931)
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            binary_crossentropy, reduction, name, dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class BinaryFocalCrossentropy(_BuiltinLoss):
    """Binary focal cross-entropy, which down-weights easy examples by `(1 - p_t) ** gamma`.

    Args:
        apply_class_balancing: weight classes by `alpha` / `1 - alpha` (default False).
        alpha: class-balancing weight (default 0.25).
        gamma: focusing parameter (default 2.0).
        from_logits: whether predictions are logits (default False).
        label_smoothing: squeeze labels towards 0.5 by this amount (default 0.0).
        axis: the axis averaged over (default -1).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"binary_focal_crossentropy"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> BinaryFocalCrossentropy(gamma=0.0)(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.6931)
    """

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            binary_focal_crossentropy, reduction, name, dtype, apply_class_balancing=apply_class_balancing,
            alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class CategoricalCrossentropy(_BuiltinLoss):
    """Categorical cross-entropy for one-hot labels and predicted class distributions.

    Args:
        from_logits: whether predictions are logits (default False).
        label_smoothing: mix labels with the uniform distribution by this amount (default 0.0).
        axis: the class axis (default -1).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"categorical_crossentropy"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> CategoricalCrossentropy()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.6931)
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            categorical_crossentropy, reduction, name, dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class CategoricalFocalCrossentropy(_BuiltinLoss):
    """Categorical focal cross-entropy, which down-weights well-classified examples.

    Args:
        alpha: weighting factor (default 0.25).
        gamma: focusing parameter (default 2.0).
        from_logits: whether predictions are logits (default False).
        label_smoothing: mix labels with the uniform distribution by this amount (default 0.0).
        axis: the class axis (default -1).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        name: the loss's name (default `"categorical_focal_crossentropy"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> CategoricalFocalCrossentropy()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.0433)
    """

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            categorical_focal_crossentropy, reduction, name, dtype,
            alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy for integer class labels and predicted class distributions.

    The training hot path: with a softmax output (logits attached) or
    `from_logits=True`, no sample weights and the default reduction, it is one
    fused `torch.nn.functional.cross_entropy` call.

    Args:
        from_logits: whether predictions are logits (default False).
        ignore_class: a label to leave out of the loss and of the mean (default None).
        reduction: how to reduce (default `"sum_over_batch_size"`).
        axis: the class axis (default -1).
        name: the loss's name (default `"sparse_categorical_crossentropy"`).
        dtype: the float type of the computation (default `backend.floatx()`).

    Example:
        >>> SparseCategoricalCrossentropy()(torch.tensor([1, 0]), torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
        tensor(0.6931)
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            sparse_categorical_crossentropy, reduction, name, dtype,
            from_logits=from_logits, ignore_class=ignore_class, axis=axis,
        )  # fmt: skip


# --------------------------------------------------------------------------- lookup

_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "binary_crossentropy": binary_crossentropy,
    "bce": binary_crossentropy,
    "BCE": binary_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error,
    "huber": huber,
    "huber_loss": huber,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
}

_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (
        Loss,
        LossFunctionWrapper,
        BinaryCrossentropy,
        BinaryFocalCrossentropy,
        CategoricalCrossentropy,
        CategoricalFocalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        Huber,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        KLDivergence,
        Poisson,
        CosineSimilarity,
        LogCosh,
    )
}
# Keras also accepts these upper-case short names for the classes.
_CLASS_ALIASES: dict[str, type[Loss]] = {"KLD": KLDivergence}


def _valid_names() -> list[str]:
    return sorted(set(_FUNCTIONS) | (set(_CLASSES) - {"Loss", "LossFunctionWrapper"}))


class _Registry:
    """Name lookup, `serialize` and `deserialize` for one kind of object: losses here, metrics in `nerve.metrics`.

    Args:
        kind: what is looked up, as messages name it (`"loss"`, `"metric"`).
        module: the module written into configs.
        base: the base class of the objects (`Loss`, `Metric`).
        functions: per-sample functions by name and alias.
        classes: classes by name, for configs.
        aliases: more class names that configs may use (default none).
        get: the module's `get`, which resolves a bare name.
        fn_name: the name a function is saved under.
    """

    def __init__(
        self,
        kind: str,
        module: str,
        base: type,
        functions: dict[str, Callable[..., Any]],
        classes: dict[str, type],
        get: Callable[[Any], Any],
        fn_name: Callable[[Any], str],
        aliases: dict[str, type] | None = None,
    ) -> None:
        self.kind, self.module, self.base = kind, module, base
        self.functions, self.classes, self.aliases = functions, classes, aliases or {}
        self.get, self.fn_name = get, fn_name

    def function(self, name: Any) -> Callable[..., Any]:
        """Return the function called `name`, or raise a ValueError listing the valid names."""
        try:
            return self.functions[name]
        except KeyError:
            raise ValueError(
                f"Unknown {self.kind} function {name!r}. Expected one of {sorted(self.functions)}. "
                f"Received: fn={name!r}"
            ) from None

    def serialize(self, obj: Any) -> Any:
        """Keras's config layout for an object or a function; None and names pass through."""
        if obj is None or isinstance(obj, str):
            return obj
        if isinstance(obj, self.base):
            return dict(module=self.module, class_name=type(obj).__name__, config=obj.get_config(), registered_name=None)
        if callable(obj):
            return dict(module="builtins", class_name="function", config=self.fn_name(obj), registered_name="function")
        raise ValueError(
            f"Cannot serialize a {self.kind} that is neither a {self.base.__name__} nor a function. "
            f"Received: {self.kind}={obj!r}"
        )

    def deserialize(self, config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
        """Rebuild an object or a function from `serialize`'s output, a Keras config or a name."""
        custom_objects = custom_objects or {}
        if config is None:
            return None
        if isinstance(config, str):
            return custom_objects[config] if config in custom_objects else self.get(config)
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(
                f"Could not deserialize {self.kind}: expected a dict with 'class_name'. Received: config={config!r}"
            )
        class_name = config["class_name"]
        inner = config.get("config", {})
        if class_name == "function":
            name = inner if isinstance(inner, str) else inner.get("name")
            return custom_objects[name] if name in custom_objects else self.function(name)
        registered = config.get("registered_name")
        cls = custom_objects.get(class_name) or (custom_objects.get(registered) if registered else None)
        cls = cls or self.classes.get(class_name) or self.aliases.get(class_name)
        if cls is None:
            raise ValueError(
                f"Unknown {self.kind} class {class_name!r}. Expected one of {sorted(self.classes)} or a class in "
                f"`custom_objects`. Received: config={config!r}"
            )
        inner = dict(inner) if isinstance(inner, dict) else {}
        fn = inner.get("fn")
        if isinstance(fn, dict):
            inner["fn"] = self.deserialize(fn, custom_objects)
        elif isinstance(fn, str):
            inner["fn"] = custom_objects.get(fn) or self.function(fn)
        return cls.from_config(inner)

    def not_understood(self, identifier: Any, valid_names: list[str]) -> ValueError:
        """The error `get` raises for an identifier it cannot interpret."""
        return ValueError(
            f"Could not interpret {self.kind} identifier: {identifier!r}. Expected a {self.base.__name__}, a "
            f"function, a config dict or one of these names: {', '.join(valid_names)}.{_did_you_mean(identifier, valid_names)} "
            f"Received: {self.kind}={identifier!r}"
        )


def _did_you_mean(identifier: Any, valid_names: list[str]) -> str:
    """' help: did you mean 'accuracy'?' for a misspelt name (case-insensitive; snake_case preferred), else ''."""
    if not isinstance(identifier, str):
        return ""
    by_lower = {n.lower().replace("_", ""): n for n in sorted(valid_names, key=lambda n: (n == n.lower(), n))}
    close = difflib.get_close_matches(identifier.lower().replace("_", ""), list(by_lower), n=3, cutoff=0.75)
    return f" help: did you mean {' or '.join(repr(by_lower[c]) for c in close)}?" if close else ""


def serialize(loss: Any) -> Any:
    """Return a JSON-friendly description of a loss (a dict for objects and functions).

    Args:
        loss: a `Loss`, a loss function, a string or None.

    Example:
        >>> serialize(MeanSquaredError())["class_name"]
        'MeanSquaredError'
    """
    return _REGISTRY.serialize(loss)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a loss from `serialize()`'s output (Keras-saved configs work too).

    Args:
        config: a dict from `serialize`, or a name.
        custom_objects: extra classes or functions by name (default None).

    Example:
        >>> deserialize(serialize(Huber(delta=2.0))).get_config()["delta"]
        2.0
    """
    return _REGISTRY.deserialize(config, custom_objects)


def get(identifier: Any) -> Any:
    """Return a loss from a name, a config dict, a class, an instance or a function.

    Function names and aliases (`"mse"`, `"binary_crossentropy"`, ...) give the
    function; class names (`"MeanSquaredError"`) give a new instance; callables
    pass through.

    Args:
        identifier: the loss to look up.

    Raises:
        ValueError: for an unknown name or an object that is not a loss.

    Example:
        >>> get("mae") is mean_absolute_error
        True
        >>> get("BinaryCrossentropy").name
        'binary_crossentropy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        cls = _CLASSES.get(identifier) or _CLASS_ALIASES.get(identifier)
        if cls is not None and cls not in (Loss, LossFunctionWrapper):
            return cls()
    elif inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    elif callable(identifier):
        return identifier
    raise _REGISTRY.not_understood(identifier, _valid_names())


_REGISTRY = _Registry("loss", "nerve.losses", Loss, _FUNCTIONS, _CLASSES, get, _fn_name, aliases=_CLASS_ALIASES)
