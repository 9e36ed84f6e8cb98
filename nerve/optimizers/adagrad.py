"""Adagrad, following Keras 3's update (epsilon inside the square root, unlike torch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nerve.optimizers import _checks
from nerve.optimizers._group import ParamGroup
from nerve.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """Per-weight learning rates scaled by the sum of past squared gradients, as `keras.optimizers.Adagrad`.

    `acc += g**2`, then `w -= lr * g / sqrt(acc + epsilon)`, with `acc` starting
    at `initial_accumulator_value`.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        initial_accumulator_value: the accumulators' starting value, >= 0 (default 0.1).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.Adagrad(learning_rate=0.01)
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _checks.in_range("initial_accumulator_value", initial_accumulator_value, 0.0)
        self.epsilon = _checks.in_range("epsilon", epsilon, 0.0)

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("accumulator",)]

    def _slot_initial_value(self, name: str) -> float:
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        accumulators = group.slots["accumulator"]
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominators)
        torch._foreach_addcdiv_(group.params, grads, denominators, value=-lr)

    def _extra_config(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
