"""RMSprop, following Keras 3's update (epsilon inside the square root, unlike torch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nerve.optimizers import _checks
from nerve.optimizers._group import ParamGroup
from nerve.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients, as `keras.optimizers.RMSprop`.

    `v = rho * v + (1 - rho) * g**2`, then `w -= lr * g / sqrt(v + epsilon)`.
    With `centered=True` the running mean `a` of the gradients is also kept and
    the denominator is `sqrt(v - a**2 + epsilon)`. With momentum the step goes
    through `s = momentum * s + step`, `w -= s`.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        rho: the decay of the running averages, in [0, 1) (default 0.9).
        momentum: a float in [0, 1] (default 0.0).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        centered: normalize by the estimated variance instead of the second moment (default False).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.RMSprop(learning_rate=1e-3, centered=True)
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _checks.decay_rate("rho", rho)
        self.momentum = _checks.in_range("momentum", momentum, 0.0, 1.0)
        self.epsilon = _checks.in_range("epsilon", epsilon, 0.0)
        self.centered = _checks.boolean("centered", centered)

    def _slot_layout(self) -> list[tuple[str, ...]]:
        layout = [("velocity",)]
        if self.momentum > 0:
            layout.append(("momentum",))
        if self.centered:
            layout.append(("average_gradient",))
        return layout

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        rho = self.rho
        velocities = group.slots["velocity"]
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - rho)
        denominators = torch._foreach_add(velocities, self.epsilon)
        if self.centered:
            averages = group.slots["average_gradient"]
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            torch._foreach_addcmul_(denominators, averages, averages, value=-1)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            moments = group.slots["momentum"]
            torch._foreach_mul_(moments, self.momentum)
            torch._foreach_addcdiv_(moments, grads, denominators, value=lr)
            torch._foreach_sub_(group.params, moments)
        else:
            torch._foreach_addcdiv_(group.params, grads, denominators, value=-lr)

    def _extra_config(self) -> dict[str, Any]:
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}
