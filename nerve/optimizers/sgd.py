"""Stochastic gradient descent, with optional (Nesterov) momentum, following Keras 3's update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nerve.optimizers import _checks
from nerve.optimizers._group import ParamGroup
from nerve.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent with optional momentum, as `keras.optimizers.SGD`.

    Without momentum `w -= lr * g`. With momentum the velocity `m` holds the
    learning rate inside it, as in Keras (not torch): `m = momentum * m - lr * g`,
    then `w += m`, or with `nesterov=True`, `w += momentum * m - lr * g`.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.01).
        momentum: a float in [0, 1] (default 0.0).
        nesterov: use Nesterov momentum (default False).
        **kwargs: the options every optimizer takes: `weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`, `name` (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        >>> model.compile(optimizer=opt, loss="mse")
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = _checks.in_range("momentum", momentum, 0.0, 1.0)
        self.nesterov = _checks.boolean("nesterov", nesterov)
        # Set to False to force the multi-tensor (foreach) path, e.g. to compare both.
        self._allow_fused = True

    def _slot_layout(self) -> list[tuple[str, ...]]:
        return [("momentum",)] if self.momentum != 0 else []

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        params = group.params
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        velocities = group.slots["momentum"]
        if owned and lr > 0 and self._allow_fused and group.fused_ok:
            self._fused_momentum(group, grads, lr)
            return
        torch._foreach_mul_(velocities, self.momentum)
        torch._foreach_add_(velocities, grads, alpha=-lr)
        if self.nesterov:
            torch._foreach_add_(params, grads, alpha=-lr)
            torch._foreach_add_(params, velocities, alpha=self.momentum)
        else:
            torch._foreach_add_(params, velocities)

    def _fused_momentum(self, group: ParamGroup, grads: list[torch.Tensor], lr: float) -> None:
        # torch's fused SGD keeps `buf = momentum * buf + g'` and does `w -= lr' * buf`
        # (Nesterov: `w -= lr' * (g' + momentum * buf)`). With g' = -lr * g (the
        # kernel divides the grads by `grad_scale` = -1 / lr, in place, hence only
        # for grads the optimizer owns) and lr' = -1, `buf` is exactly Keras's
        # velocity and both updates are Keras's.
        scale = group.cache.get("sgd_grad_scale")
        if scale is None or group.cache.get("sgd_lr") != lr:
            if scale is None:
                scale = group.cache["sgd_grad_scale"] = torch.empty((), dtype=torch.float32, device=group.device)
            scale.fill_(-1.0 / lr)
            group.cache["sgd_lr"] = lr
        torch._fused_sgd_(
            group.params, grads, group.slots["momentum"],
            weight_decay=0.0, momentum=self.momentum, lr=-1.0, dampening=0.0, nesterov=self.nesterov,
            maximize=False, is_first_step=False, grad_scale=scale,
        )  # fmt: skip

    def _extra_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}
