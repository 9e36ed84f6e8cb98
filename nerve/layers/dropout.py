"""Dropout: zeroes a random fraction of inputs during training only."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve.layers.layer import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 during training and scales the rest by 1/(1-rate).

    At inference (evaluate, predict) it passes inputs through unchanged.

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: optional shape of the drop mask, broadcast over the input
            (e.g. `(batch, 1, features)` drops the same features at every step).
        seed: optional int for a repeatable mask sequence.

    Example:
        >>> Dropout(0.2)(torch.ones(2, 4), training=False)
        tensor([[1., 1., 1., 1.],
                [1., 1., 1., 1.]])
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(
                f"Dropout layer '{self.name}': rate must be a number in [0, 1). Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = seed
        self._generator: torch.Generator | None = None

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        if self.noise_shape is None and self.seed is None:
            return F.dropout(inputs, p=self.rate, training=True)
        shape = [inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape or inputs.shape)]
        if self.seed is not None and self._generator is None:
            self._generator = torch.Generator(device=inputs.device)
            self._generator.manual_seed(self.seed)
        keep = torch.empty(shape, device=inputs.device, dtype=inputs.dtype)
        keep.bernoulli_(1.0 - self.rate, generator=self._generator)
        return inputs * keep / (1.0 - self.rate)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}
