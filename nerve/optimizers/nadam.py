"""Nadam (Adam with Nesterov momentum), following Keras 3's update and momentum schedule."""

from __future__ import annotations

from typing import Any

import torch

from nerve import backend
from nerve.backend import Variable
from nerve.optimizers._adam_family import AdamFamily
from nerve.optimizers._group import ParamGroup, host_scalar, scalar_type


class Nadam(AdamFamily):
    """Adam with Nesterov momentum, as `keras.optimizers.Nadam`.

    At step t, with `u_t = b1 * (1 - 0.5 * 0.96**t)` and `P_t` the product of
    `u_1 .. u_t`: `m_hat = u_{t+1} * m / (1 - P_t * u_{t+1}) + (1 - u_t) * g / (1 - P_t)`,
    `v_hat = v / (1 - b2**t)`, then `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.
    This momentum schedule is Keras's (torch's NAdam uses another).

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the second moment, in [0, 1) (default 0.999).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.Nadam(learning_rate=2e-3)
    """

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def _build_extra(self) -> dict[str, Variable]:
        dtype = self._params[0].dtype if self._params else backend.floatx()
        return {
            "u_product": Variable(
                host_scalar(dtype, 1.0), name="u_product", trainable=False, path=f"{self.name}/u_product"
            )
        }

    def _begin_step(self, lr: float, step: int) -> None:
        # Keras keeps the running product of the momentum schedule in a variable.
        holder = self._extra_variables["u_product"].value
        f = scalar_type(holder.dtype)
        holder.fill_(float(f(float(holder)) * self._momentum_at(step, f)))

    def _momentum_at(self, step: int, f: type) -> Any:
        return f(self.beta_1) * (f(1) - f(0.5) * f(0.96) ** f(step))

    def _step_constants(self, lr: float, step: int, dtype: torch.dtype) -> Any:
        f = scalar_type(dtype)
        u_t = self._momentum_at(step, f)
        u_next = self._momentum_at(step + 1, f)
        product = f(float(self._extra_variables["u_product"].value))
        one = f(1)
        return (
            float(u_next / (one - product * u_next)),
            float((one - u_t) / (one - product)),
            float(one / (one - f(self.beta_2) ** f(step))),
        )

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        momentum_coef, grad_coef, velocity_scale = consts
        moments, velocities = group.slots["momentum"], group.slots["velocity"]
        torch._foreach_lerp_(moments, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(velocities, self.beta_2)
        torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - self.beta_2)
        m_hat = torch._foreach_mul(moments, momentum_coef)
        torch._foreach_add_(m_hat, grads, alpha=grad_coef)
        denominators = torch._foreach_mul(velocities, velocity_scale)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(group.params, m_hat, denominators, value=-lr)
