"""Activation functions, by name or as functions, with Keras 3's names and defaults.

`softmax` and `sigmoid` attach their input (the logits) to their output as
`_nerve_logits`, so a cross-entropy loss that meets their output computes from
the logits: stable when probabilities saturate, and one fused kernel.

Example:
    >>> from nerve import activations
    >>> activations.get("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

__all__ = [
    "celu",
    "deserialize",
    "glu",
    "hard_shrink",
    "hard_tanh",
    "log_sigmoid",
    "soft_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def _attach_logits(out: torch.Tensor, logits: torch.Tensor, kind: str) -> torch.Tensor:
    out._nerve_logits = logits  # type: ignore[attr-defined]
    out._nerve_logits_kind = kind  # type: ignore[attr-defined]
    return out


def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: returns `x` unchanged."""
    return x


def relu(
    x: torch.Tensor, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> torch.Tensor:
    """Rectified linear unit, `max(x, 0)`, with Keras's optional slope, cap and threshold."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    below = x < threshold
    out = torch.where(below, negative_slope * (x - threshold), x)
    if max_value is not None:
        out = out.clamp(max=max_value)
    return out


def relu6(x: torch.Tensor) -> torch.Tensor:
    """ReLU capped at 6."""
    return F.relu6(x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid `1 / (1 + exp(-x))`; remembers `x` as logits for the loss."""
    return _attach_logits(torch.sigmoid(x), x, "sigmoid")


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent."""
    return torch.tanh(x)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Softmax over `axis` (default last); remembers `x` as logits for the loss."""
    out = torch.softmax(x, dim=axis)
    return _attach_logits(out, x, "softmax") if axis in (-1, x.dim() - 1) else out


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Logarithm of the softmax over `axis`."""
    return torch.log_softmax(x, dim=axis)


def silu(x: torch.Tensor) -> torch.Tensor:
    """Swish / SiLU: `x * sigmoid(x)`."""
    return F.silu(x)


swish = silu


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    """Hard SiLU: `x * hard_sigmoid(x)` with Keras's hard sigmoid."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit (exact by default, tanh approximation if asked)."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit with slope `alpha` for negatives."""
    return F.elu(x, alpha=alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled exponential linear unit (self-normalising constants of Klambauer et al.)."""
    return F.selu(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Leaky ReLU; Keras 3's default slope is 0.2."""
    return F.leaky_relu(x, negative_slope=negative_slope)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """`log(1 + exp(x))`, computed stably."""
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """`x / (1 + |x|)`."""
    return F.softsign(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's piecewise-linear sigmoid: `clip(x / 6 + 0.5, 0, 1)`."""
    return F.hardsigmoid(x)


def exponential(x: torch.Tensor) -> torch.Tensor:
    """`exp(x)`."""
    return torch.exp(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    """`x * tanh(softplus(x))`."""
    return F.mish(x)


def celu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU: `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(x, alpha=alpha)


def glu(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: splits `axis` in halves a, b and returns `a * sigmoid(b)`."""
    return F.glu(x, dim=axis)


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    """`clip(x, -1, 1)`."""
    return F.hardtanh(x)


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """`log(sigmoid(x))`, computed stably."""
    return F.logsigmoid(x)


def squareplus(x: torch.Tensor, b: float = 4.0) -> torch.Tensor:
    """`(x + sqrt(x**2 + b)) / 2`, a smooth ReLU."""
    return (x + torch.sqrt(x * x + b)) / 2


def tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    """`x - tanh(x)`."""
    return F.tanhshrink(x)


def soft_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Moves values toward 0 by `threshold`, zeroing those within it."""
    return F.softshrink(x, lambd=threshold)


def hard_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Zeroes values whose magnitude is at most `threshold`."""
    return F.hardshrink(x, lambd=threshold)


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, `(x + 1)**2 / 4` between -1 and 1, x above 1."""
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, `(x + 1) / 2` between -1 and 1, 1 above 1."""
    return ((x + 1) / 2).clamp(0.0, 1.0)


def sparsemax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Euclidean projection of `x` onto the probability simplex along `axis` (sparse softmax)."""
    z = x.movedim(axis, -1)
    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cumsum = zs.cumsum(-1)
    support = (1 + k * zs) > cumsum
    k_z = support.sum(-1, keepdim=True).clamp(min=1)
    tau = (cumsum.gather(-1, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0).movedim(-1, axis)


_BY_NAME: dict[str, Callable[..., torch.Tensor]] = {
    "celu": celu,
    "glu": glu,
    "hard_tanh": hard_tanh,
    "log_sigmoid": log_sigmoid,
    "squareplus": squareplus,
    "tanh_shrink": tanh_shrink,
    "soft_shrink": soft_shrink,
    "hard_shrink": hard_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "silu": silu,
    "swish": silu,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "gelu": gelu,
    "elu": elu,
    "selu": selu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
    "softsign": softsign,
    "hard_sigmoid": hard_sigmoid,
    "exponential": exponential,
    "mish": mish,
}
# torch's own functions map to nerve's, so `activation=torch.relu` serialises as "relu".
_TORCH_EQUIVALENTS = {torch.relu: relu, torch.sigmoid: sigmoid, torch.tanh: tanh, F.relu: relu, F.silu: silu}


def get(identifier: str | Callable[..., Any] | dict | None) -> Callable[..., torch.Tensor]:
    """Return the activation function named by `identifier`.

    Args:
        identifier: a name such as `"relu"`, a callable (returned as is), a
            config dict from `serialize`, or `None` (the linear activation).

    Example:
        >>> get("swish") is get("silu")
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier).get("name", identifier.get("class_name"))
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            from nerve.saving.object_registration import get_registered_object

            fn = get_registered_object(identifier)  # custom activations: registered or custom_objects
        if fn is None:
            raise ValueError(
                f"Unknown activation '{identifier}'. Valid names: {sorted(_BY_NAME)}. "
                f"Received: activation={identifier!r}"
            )
        return fn
    if callable(identifier):
        return _TORCH_EQUIVALENTS.get(identifier, identifier)
    raise TypeError(
        "An activation must be a name, a callable or None. "
        f"Received: activation={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(activation: Callable[..., Any] | None) -> str | dict:
    """Return the name of a built-in activation, or a reference to a user function."""
    fn = get(activation)
    for name, known in _BY_NAME.items():
        if known is fn and name == getattr(fn, "__name__", name):
            return name
    if fn is silu:
        return "silu"
    if hasattr(fn, "get_config"):
        return {"class_name": type(fn).__name__, "config": fn.get_config()}
    from nerve.saving.object_registration import get_registered_name

    return get_registered_name(fn)


def deserialize(config: str | dict) -> Callable[..., torch.Tensor]:
    """Inverse of `serialize` for built-in activations."""
    return get(config)

