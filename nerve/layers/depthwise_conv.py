"""DepthwiseConv2D and SeparableConv2D: per-channel convolutions (the second adds a 1x1 mix)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers, regularizers
from nerve.layers.conv import _positive_int
from nerve.layers.conv_base import BaseConv

__all__ = ["DepthwiseConv2D", "SeparableConv2D", "SeparableConvolution2D"]


class _Depthwise(BaseConv):
    """Shared depthwise part: `depth_multiplier` filters per input channel, torch `groups=channels`."""

    rank = 2
    _kernel_name = "kernel"

    def __init__(self, kernel_size: Any, depth_multiplier: int, depthwise_initializer: Any,
                 depthwise_regularizer: Any, depthwise_constraint: Any, **kwargs: Any) -> None:
        super().__init__(kernel_size, **kwargs)
        self.depth_multiplier = _positive_int(self, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = depthwise_constraint

    def _build_depthwise(self, input_shape: tuple[int | None, ...]) -> int:
        channels = self._input_channels(input_shape)
        self._channels = channels
        kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, name=self._kernel_name,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
        )
        setattr(self, self._kernel_name, kernel)
        return channels

    def _depthwise(self, inputs: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """The depthwise convolution on the NCHW view; output channel `c * depth_multiplier + m`."""
        x, padding = self._prepare(inputs)
        kh, kw = self.kernel_size
        # (kh, kw, C, M) -> (kh, kw, 1, C*M) -> torch's (C*M, 1, kh, kw): views, no copy.
        kernel = getattr(self, self._kernel_name).value.reshape(kh, kw, 1, -1).permute(3, 2, 0, 1)
        return F.conv2d(x, kernel, bias, self.strides, padding, self.dilation_rate, self._channels)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": None,
        }


class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel is convolved with its own `depth_multiplier` filters.

    Args:
        kernel_size: int or (height, width).
        strides: int or pair, default 1.
        padding: "valid" (default) or "same" (TensorFlow's split, as in Keras).
        depth_multiplier: filters per input channel, default 1.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: int or pair, default 1 (must be 1 when strides > 1).
        activation: default None (linear).
        use_bias: default True.
        depthwise_initializer: default "glorot_uniform". bias_initializer: default "zeros".
        depthwise_regularizer, bias_regularizer, activity_regularizer: default None.
        depthwise_constraint, bias_constraint: default None.

    Weights: `kernel` `(kh, kw, channels, depth_multiplier)`, then `bias` `(channels * depth_multiplier,)`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, channels * depth_multiplier)`.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(torch.zeros(2, 8, 8, 4)).shape
        torch.Size([2, 6, 6, 8])
    """

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size, depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint,
            strides=strides, padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            bias_constraint=bias_constraint, **kwargs,
        )

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = self._build_depthwise(input_shape)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        bias = self.bias.value if self.bias is not None else None
        return self._finish(self._depthwise(inputs, bias))

    def _output_channels(self, in_channels: int | None) -> int | None:
        return None if in_channels is None else in_channels * self.depth_multiplier


class SeparableConv2D(_Depthwise):
    """Depthwise separable 2-D convolution: a depthwise convolution, then a 1x1 convolution to `filters`.

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width), the depthwise window.
        strides: int or pair, default 1.
        padding: "valid" (default) or "same" (TensorFlow's split, as in Keras).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: int or pair, default 1 (must be 1 when strides > 1).
        depth_multiplier: depthwise filters per input channel, default 1.
        activation: default None (linear).
        use_bias: default True.
        depthwise_initializer, pointwise_initializer: default "glorot_uniform".
        bias_initializer: default "zeros".
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: default None.
        depthwise_constraint, pointwise_constraint, bias_constraint: default None.

    Weights: `depthwise_kernel` `(kh, kw, channels, depth_multiplier)`,
    `pointwise_kernel` `(1, 1, channels * depth_multiplier, filters)`, then `bias` `(filters,)`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Example:
        >>> SeparableConv2D(16, 3, padding="same")(torch.zeros(2, 8, 8, 4)).shape
        torch.Size([2, 8, 8, 16])
    """

    _kernel_name = "depthwise_kernel"

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size, depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint,
            strides=strides, padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            bias_constraint=bias_constraint, **kwargs,
        )
        self.filters = _positive_int(self, "filters", filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = self._build_depthwise(input_shape)
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, name="pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint,
        )
        self._add_bias(self.filters)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        y = self._depthwise(inputs, None)
        bias = self.bias.value if self.bias is not None else None
        y = F.conv2d(y, self.pointwise_kernel.value.permute(3, 2, 0, 1), bias)
        return self._finish(y)

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": None,
        }


# Keras 3's other names for the same classes.
SeparableConvolution2D = SeparableConv2D
