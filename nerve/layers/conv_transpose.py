"""Conv2DTranspose: the transposed ("de-") convolution, with Keras 3's output shapes and weights."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers, regularizers
from nerve.layers.conv import _positive_int
from nerve.layers.conv_base import BaseConv, normalize_tuple

__all__ = ["Conv2DTranspose", "Convolution2DTranspose"]


def transpose_output_length(
    size: int | None, kernel: int, padding: str, stride: int, dilation: int, output_padding: int | None
) -> int | None:
    """Keras's output length of a transposed convolution along one dimension."""
    if size is None:
        return None
    k_eff = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + (max(k_eff - stride, 0) if padding == "valid" else 0)
    crop = 0 if padding == "valid" else 2 * (k_eff // 2)
    return (size - 1) * stride + k_eff - crop + output_padding


class Conv2DTranspose(BaseConv):
    """Transposed 2-D convolution: the gradient of Conv2D, used to upsample feature maps.

    Each output dimension is `size * strides` with padding="same" (plus
    `max(kernel - strides, 0)` with "valid"); with `output_padding` it is
    `(size - 1) * strides + kernel - 2 * (kernel // 2 if "same" else 0) + output_padding`,
    exactly as Keras computes it. Values equal TensorFlow's `conv2d_transpose`.

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width).
        strides: int or pair, default 1.
        padding: "valid" (default) or "same".
        output_padding: None (default: inferred) or int/pair, each strictly less than strides.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: int or pair, default 1 (must be 1 when strides > 1).
        activation: default None (linear).
        use_bias: default True.
        kernel_initializer: default "glorot_uniform". bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer: default None.
        kernel_constraint, bias_constraint: default None.

    Weights: `kernel` `(kh, kw, filters, channels)` (Keras's layout), then `bias` `(filters,)`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Example:
        >>> Conv2DTranspose(16, 3, strides=2, padding="same")(torch.zeros(2, 7, 7, 8)).shape
        torch.Size([2, 14, 14, 16])
    """

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
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
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = normalize_tuple(self, "output_padding", output_padding, 2, allow_zero=True)
            for op, s in zip(self.output_padding, self.strides):
                if op >= s:
                    raise ValueError(
                        f"Conv2DTranspose layer '{self.name}': output_padding must be strictly less than "
                        f"strides in every dimension. Received: output_padding={self.output_padding}, "
                        f"strides={self.strides}"
                    )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, channels), initializer=self.kernel_initializer,
            name="kernel", regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        self._add_bias(self.filters)

    def _output_spatial(self, spatial: tuple[int | None, ...]) -> tuple[int | None, ...]:
        ops = self.output_padding or (None, None)
        return tuple(
            transpose_output_length(n, k, self.padding, s, d, op)
            for n, k, s, d, op in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, ops)
        )

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 4:
            self._check_input_shape(tuple(inputs.shape))
        x = inputs.permute(0, 3, 1, 2) if self.data_format == "channels_last" else inputs
        sizes = x.shape[2:]
        out = self._output_spatial(tuple(sizes))
        # Torch crops `p` on both sides and adds `op` at the end; TF crops floor(total / 2)
        # before and the rest after. An odd total needs one more row/column cut at the end.
        crops, extras, cut = [], [], False
        for n, k, s, d, length in zip(sizes, self.kernel_size, self.strides, self.dilation_rate, out):
            total = (n - 1) * s + (k - 1) * d + 1 - length
            crop = max(total, 0) // 2
            crops.append(crop)
            extras.append(max(2 * crop - total, 0))
            cut = cut or 2 * crop - total < 0
        bias = self.bias.value if self.bias is not None else None
        y = F.conv_transpose2d(
            x, self.kernel.value.permute(3, 2, 0, 1), bias, self.strides, tuple(crops), tuple(extras),
            1, self.dilation_rate,
        )
        if cut:
            y = y[:, :, : out[0], : out[1]].contiguous(memory_format=_memory_format(x))
        y = y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y
        return y if self._linear else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": None,
        }


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


# Keras 3's other names for the same classes.
Convolution2DTranspose = Conv2DTranspose
