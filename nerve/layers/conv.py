"""Conv1D and Conv2D: convolutions over sequences and images, with Keras 3's arguments and weights."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers, regularizers
from nerve.layers.conv_base import BaseConv

__all__ = ["Conv1D", "Conv2D", "Convolution1D", "Convolution2D"]


class Conv(BaseConv):
    """A grouped convolution of any supported rank; Conv1D and Conv2D only fix the rank.

    The kernel has Keras's layout `(*kernel_size, in_channels // groups, filters)`;
    `call` hands torch a permuted view of it, so weights move to and from Keras unchanged.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
        super().__init__(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs,
        )
        self.filters = _positive_int(self, "filters", filters)
        self.groups = _positive_int(self, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': filters must be divisible by groups. "
                f"Received: filters={filters}, groups={groups}"
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': the number of input channels must be "
                f"divisible by groups. Received: input channels={channels}, groups={self.groups} "
                f"(input_shape={tuple(input_shape)})"
            )
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels // self.groups, self.filters),
            initializer=self.kernel_initializer, name="kernel",
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        self._add_bias(self.filters)

    def _torch_kernel(self) -> torch.Tensor:
        """The kernel as torch's `(out, in // groups, kh, kw)`: a view, no copy."""
        kernel = self.kernel.value
        if self.rank == 1:
            return kernel.permute(2, 1, 0).unsqueeze(2)
        return kernel.permute(3, 2, 0, 1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x, padding = self._prepare(inputs)
        bias = self.bias.value if self.bias is not None else None
        y = F.conv2d(x, self._torch_kernel(), bias, self._s2, padding, self._d2, self.groups)
        return self._finish(y)

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": None,
        }


def _positive_int(layer: BaseConv, arg: str, value: Any) -> int:
    """Accept positive ints (and integral floats, as Keras does); anything else is a clear error."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and value == int(value) and value > 0
    if not ok:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': {arg} must be a positive integer. "
            f"Received: {arg}={value!r}"
        )
    return int(value)


class Conv1D(Conv):
    """1-D convolution over sequences: `activation(conv1d(inputs, kernel) + bias)`.

    Args:
        filters: number of output channels.
        kernel_size: int or 1-tuple, the window length.
        strides: default 1.
        padding: "valid" (default, no padding), "same" (output length
            `ceil(steps / strides)`, TensorFlow's split with the extra pixel at
            the end) or "causal" (left padding only, for autoregressive models).
        data_format: "channels_last" (default, `(batch, steps, channels)`) or "channels_first".
        dilation_rate: default 1 (must be 1 when strides > 1).
        groups: default 1; input channels and filters are split into this many groups.
        activation: default None (linear).
        use_bias: default True.
        kernel_initializer: default "glorot_uniform". bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer: default None.
        kernel_constraint, bias_constraint: default None.

    Weights: `kernel` `(kernel_size, channels // groups, filters)`, then `bias` `(filters,)`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, filters)`.

    Example:
        >>> Conv1D(8, 3, padding="causal")(torch.zeros(2, 10, 4)).shape
        torch.Size([2, 10, 8])
    """

    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(Conv):
    """2-D convolution over images: `activation(conv2d(inputs, kernel) + bias)`.

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width).
        strides: int or (height, width), default 1.
        padding: "valid" (default) or "same" (output size `ceil(size / strides)`;
            with an odd total padding the extra pixel goes to the bottom/right, as in Keras).
        data_format: "channels_last" (default, `(batch, height, width, channels)`) or "channels_first".
        dilation_rate: int or pair, default 1 (must be 1 when strides > 1).
        groups: default 1; input channels and filters are split into this many groups.
        activation: default None (linear).
        use_bias: default True.
        kernel_initializer: default "glorot_uniform". bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer: default None.
        kernel_constraint, bias_constraint: default None.

    Weights: `kernel` `(kh, kw, channels // groups, filters)`, then `bias` `(filters,)`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Example:
        >>> Conv2D(32, 3, activation="relu")(torch.zeros(2, 28, 28, 1)).shape
        torch.Size([2, 26, 26, 32])
    """

    rank = 2


# Keras 3's other names for the same classes.
Convolution1D = Conv1D
Convolution2D = Conv2D
