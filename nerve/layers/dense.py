"""Dense: the fully connected layer `activation(x @ kernel + bias)`."""

from __future__ import annotations

from typing import Any

import torch

from nerve import activations, initializers, regularizers
from nerve.layers.layer import Layer

__all__ = ["Dense"]


class Dense(Layer):
    """Fully connected layer: `output = activation(inputs @ kernel + bias)`.

    The kernel has Keras's layout `(input_dim, units)`, so weights move to and
    from Keras models unchanged. Inputs of rank > 2 are transformed on the last axis.

    Args:
        units: number of outputs (positive int).
        activation: name or function (default None: linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer: default "glorot_uniform".
        bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional callables applied after each update.

    Input shape: `(batch, ..., input_dim)`. Output shape: `(batch, ..., units)`.

    Example:
        >>> layer = Dense(64, activation="relu")
        >>> layer(torch.ones(2, 8)).shape
        torch.Size([2, 64])
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Dense layer '{self.name}': units must be a positive integer. Received: units={units!r}"
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Dense layer '{self.name}' needs a known last input dimension. "
                f"Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.units), initializer=self.kernel_initializer, name="kernel",
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), initializer=self.bias_initializer, name="bias",
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    def _check_input_shape(self, input_shape: Any) -> None:
        expected = self.kernel.shape[0]
        if input_shape[-1] is not None and input_shape[-1] != expected:
            raise ValueError(
                f"Input of layer '{self.name}' (Dense) is incompatible with the layer: expected "
                f"last dimension {expected} (input shape (None, {expected})), "
                f"received input shape {tuple(input_shape)}."
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        kernel = self.kernel.value
        if inputs.dim() == 2 and self.bias is not None:
            z = torch.addmm(self.bias.value, inputs, kernel)
        else:
            z = inputs @ kernel
            if self.bias is not None:
                z = z + self.bias.value
        return self.activation(z)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": None,
            "bias_constraint": None,
        }
