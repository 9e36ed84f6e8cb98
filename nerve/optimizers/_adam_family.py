"""The constructor and config that Adam, AdamW, Adamax and Nadam share: `beta_1`, `beta_2` and `epsilon`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerve.optimizers import _checks
from nerve.optimizers.optimizer import Optimizer


class AdamFamily(Optimizer):
    """Base of the Adam variants: checks `beta_1`, `beta_2` and `epsilon` once and adds them to the config.

    Subclasses without options of their own (Adamax, Nadam) inherit this
    constructor, whose signature and defaults are Keras's for them.

    Args:
        learning_rate: a float >= 0 or a schedule (default 0.001).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the second moment (Adamax: of the infinity norm), in [0, 1) (default 0.999).
        epsilon: a small constant >= 0 for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _checks.decay_rate("beta_1", beta_1)
        self.beta_2 = _checks.decay_rate("beta_2", beta_2)
        self.epsilon = _checks.in_range("epsilon", epsilon, 0.0)

    def _extra_config(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
