"""Flatten and Reshape: change the shape of each sample, keep the batch."""

from __future__ import annotations

import math
from typing import Any

import torch

from nerve.layers.layer import Layer

__all__ = ["Flatten", "Reshape"]


class Flatten(Layer):
    """Flattens each sample to one dimension: `(batch, d1, d2, ...)` -> `(batch, d1*d2*...)`.

    Args:
        data_format: "channels_last" (default) or "channels_first"; with
            channels_first, images are moved to channels-last order first, as Keras does.

    Example:
        >>> Flatten()(torch.zeros(2, 28, 28)).shape
        torch.Size([2, 784])
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(
                "Flatten data_format must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.data_format = data_format or "channels_last"

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        flat = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1).

    Args:
        target_shape: the new shape of one sample, without the batch dimension.

    Example:
        >>> Reshape((7, 112))(torch.zeros(2, 784)).shape
        torch.Size([2, 7, 112])
    """

    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(
                f"Reshape layer '{self.name}': target_shape may hold positive sizes and at most one -1. "
                f"Received: target_shape={target_shape}"
            )
        self.target_shape = target_shape

    def _resolve(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(self._mismatch(input_shape))
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(self._mismatch(input_shape))
        return self.target_shape

    def _mismatch(self, input_shape: tuple[int | None, ...]) -> str:
        return (
            f"Reshape layer '{self.name}' cannot reshape samples of shape {tuple(input_shape[1:])} "
            f"({math.prod(input_shape[1:])} values) to target_shape={self.target_shape}."
        )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0],) + self._resolve(input_shape)

    def _check_input_shape(self, input_shape: Any) -> None:
        self._resolve(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}
