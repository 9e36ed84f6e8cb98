"""Adam, following Keras 3's update exactly, computed by torch's fused Adam kernel where available."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nerve.optimizers import _checks
from nerve.optimizers._adam_family import AdamFamily
from nerve.optimizers._group import ParamGroup, scalar_type


class Adam(AdamFamily):
    """Adaptive moment estimation, as `keras.optimizers.Adam`.

    At step t = 1, 2, ...: `m = b1 * m + (1 - b1) * g`, `v = b2 * v + (1 - b2) * g**2`,
    then `w -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + epsilon)`.
    Keras adds epsilon to `sqrt(v)` before the bias correction, torch after it,
    so the two differ when `v` is small; this follows Keras. With
    `amsgrad=True` the running maximum of `v` replaces `v` in the denominator.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the second moment, in [0, 1) (default 0.999).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        amsgrad: use the AMSGrad variant (default False).
        **kwargs: the options every optimizer takes: `weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`, `name` (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.Adam(learning_rate=1e-3)
        >>> model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    """

    _handles_weight_decay = True

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = _checks.boolean("amsgrad", amsgrad)
        # Set to False to force the multi-tensor (foreach) path, e.g. to compare both.
        self._allow_fused = True

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def _step_constants(self, lr: float, step: int, dtype: torch.dtype) -> Any:
        # Keras's step size, bias corrections included, rounded as Keras rounds it
        # (in the weights' dtype: 1 - beta_2**t loses digits in float32).
        f = scalar_type(dtype)
        t, one = f(step), f(1)
        alpha = f(lr) * np.sqrt(one - f(self.beta_2) ** t) / (one - f(self.beta_1) ** t)
        return float(alpha)

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        alpha = consts
        if self._allow_fused and group.fused_ok:
            self._fused_update(group, grads, lr, alpha)
        else:
            self._foreach_update(group, grads, lr, alpha)

    def _fused_update(self, group: ParamGroup, grads: list[torch.Tensor], lr: float, alpha: float) -> None:
        # torch's kernel computes lr / (1 - b1**s) * m / (sqrt(v) / sqrt(1 - b2**s) + eps)
        # from the step s it reads. Giving it s = inf turns both corrections
        # into 1, so it computes alpha * m / (sqrt(v) + eps): Keras's update,
        # with Keras's epsilon placement, once alpha carries the corrections.
        inf = group.cache.get("inf_step")
        if inf is None:
            inf = group.cache["inf_step"] = torch.full((), math.inf, dtype=torch.float32, device=group.device)
        params = group.params
        steps = [inf] * len(params)
        max_velocities = group.slots["velocity_hat"] if self.amsgrad else []
        wd = self.weight_decay
        if wd and alpha > 0 and group.decay_all:
            # The AdamW kernel decays by (1 - alpha * wd'): wd' = wd * lr / alpha gives Keras's (1 - wd * lr).
            torch._fused_adamw_(
                params, grads, group.slots["momentum"], group.slots["velocity"], max_velocities, steps,
                lr=alpha, beta1=self.beta_1, beta2=self.beta_2, weight_decay=wd * lr / alpha,
                eps=self.epsilon, amsgrad=self.amsgrad, maximize=False,
            )  # fmt: skip
            return
        if wd and group.decay_params:
            torch._foreach_mul_(group.decay_params, 1.0 - wd * lr)
        torch._fused_adam_(
            params, grads, group.slots["momentum"], group.slots["velocity"], max_velocities, steps,
            lr=alpha, beta1=self.beta_1, beta2=self.beta_2, weight_decay=0.0,
            eps=self.epsilon, amsgrad=self.amsgrad, maximize=False,
        )  # fmt: skip

    def _foreach_update(self, group: ParamGroup, grads: list[torch.Tensor], lr: float, alpha: float) -> None:
        wd = self.weight_decay
        if wd and group.decay_params:
            torch._foreach_mul_(group.decay_params, 1.0 - wd * lr)
        moments, velocities = group.slots["momentum"], group.slots["velocity"]
        torch._foreach_lerp_(moments, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(velocities, self.beta_2)
        torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(group.slots["velocity_hat"], velocities)
            velocities = group.slots["velocity_hat"]
        denominators = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(group.params, moments, denominators, value=-alpha)

    def _extra_config(self) -> dict[str, Any]:
        return {**super()._extra_config(), "amsgrad": self.amsgrad}
