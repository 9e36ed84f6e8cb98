"""Adadelta, following Keras 3's update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nerve.optimizers import _checks
from nerve.optimizers._group import ParamGroup
from nerve.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adaptive steps from running averages of squared gradients and updates, as `keras.optimizers.Adadelta`.

    `a = rho * a + (1 - rho) * g**2`, `d = sqrt(b + eps) / sqrt(a + eps) * g`,
    `b = rho * b + (1 - rho) * d**2`, then `w -= lr * d`. Keras keeps a learning
    rate here (default 0.001), unlike the original paper's implicit 1.0.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        rho: the decay rate, in [0, 1) (default 0.95).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.Adadelta(learning_rate=1.0)
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _checks.decay_rate("rho", rho)
        self.epsilon = _checks.in_range("epsilon", epsilon, 0.0)

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("accumulated_grad", "accumulated_delta_var")]

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        rho, eps = self.rho, self.epsilon
        grad_avg = group.slots["accumulated_grad"]
        delta_avg = group.slots["accumulated_delta_var"]
        torch._foreach_mul_(grad_avg, rho)
        torch._foreach_addcmul_(grad_avg, grads, grads, value=1 - rho)
        deltas = torch._foreach_add(delta_avg, eps)
        torch._foreach_sqrt_(deltas)
        torch._foreach_mul_(deltas, grads)
        grad_rms = torch._foreach_add(grad_avg, eps)
        torch._foreach_sqrt_(grad_rms)
        torch._foreach_div_(deltas, grad_rms)
        torch._foreach_mul_(delta_avg, rho)
        torch._foreach_addcmul_(delta_avg, deltas, deltas, value=1 - rho)
        torch._foreach_add_(group.params, deltas, alpha=-lr)

    def _extra_config(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon}
