"""Activation: applies an activation function as a layer of its own."""

from __future__ import annotations

from typing import Any

import torch

from nerve import activations
from nerve.layers.layer import Layer

__all__ = ["Activation"]


class Activation(Layer):
    """Applies `activation` to its input.

    Args:
        activation: a name such as "relu" or a function.

    Example:
        >>> Activation("softmax")(torch.zeros(1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
