"""AdamW: Adam with decoupled weight decay on by default, as in Keras 3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerve.optimizers.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay, as `keras.optimizers.AdamW`.

    Before each Adam update, `w *= 1 - weight_decay * lr` (Keras's rule: the
    decay uses the plain learning rate, not Adam's bias-corrected step).

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        weight_decay: the decay rate, a float >= 0 (default 0.004).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the second moment, in [0, 1) (default 0.999).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        amsgrad: use the AMSGrad variant (default False).
        **kwargs: the other options every optimizer takes (see `Optimizer`).

    Example:
        >>> opt = nerve.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
