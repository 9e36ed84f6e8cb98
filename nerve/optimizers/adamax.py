"""Adamax (Adam with the infinity norm), following Keras 3's update."""

from __future__ import annotations

from typing import Any

import torch

from nerve.optimizers._adam_family import AdamFamily
from nerve.optimizers._group import ParamGroup, scalar_type


class Adamax(AdamFamily):
    """A variant of Adam based on the infinity norm, as `keras.optimizers.Adamax`.

    `m = b1 * m + (1 - b1) * g`, `u = max(b2 * u, |g|)`, then
    `w -= lr / (1 - b1**t) * m / (u + epsilon)` at step t = 1, 2, ...

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the infinity norm, in [0, 1) (default 0.999).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.Adamax(learning_rate=0.002)
    """

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("momentum", "norm")]

    def _step_constants(self, lr: float, step: int, dtype: torch.dtype) -> Any:
        f = scalar_type(dtype)
        return float(f(lr) / (f(1) - f(self.beta_1) ** f(step)))

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        moments, norms = group.slots["momentum"], group.slots["norm"]
        torch._foreach_mul_(moments, self.beta_1)
        torch._foreach_add_(moments, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(norms, self.beta_2)
        torch._foreach_maximum_(norms, torch._foreach_abs(grads))
        denominators = torch._foreach_add(norms, self.epsilon)
        torch._foreach_addcdiv_(group.params, moments, denominators, value=-consts)
