"""Pooling layers: max and average over windows (1-D, 2-D) and over all positions (global).

Window pooling runs on the channels-last view described in `conv_base`, so
channels-last inputs are neither copied in nor out. 'same' padding matches Keras:
the output size is `ceil(size / strides)`, max pooling ignores the padded positions
and average pooling divides by the number of real (unpadded) values in each window.
Both come from one torch kernel: TF's `before` padding on both sides plus `ceil_mode`
for the extra pixel at the end, with `count_include_pad=False`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve.layers.conv_base import (
    check_rank,
    conv_output_length,
    from_nchw,
    normalize_choice,
    normalize_data_format,
    normalize_tuple,
    same_padding,
    to_nchw,
)
from nerve.layers.layer import Layer

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
]

Shape = tuple[int | None, ...]


class _Pooling(Layer):
    """Window pooling of rank 1 or 2; subclasses set `rank` and `_max`."""

    rank = 2
    _max = True

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        n = self.rank
        self.pool_size = normalize_tuple(self, "pool_size", pool_size, n)
        self.strides = self.pool_size if strides is None else normalize_tuple(self, "strides", strides, n)
        self.padding = normalize_choice(self, "padding", padding, ("valid", "same"))
        self.data_format = normalize_data_format(self, data_format)
        unit = (1,) if n == 1 else ()
        self._k2, self._s2 = unit + self.pool_size, unit + self.strides

    def _spatial(self, shape: Shape) -> Shape:
        return tuple(shape[1:-1] if self.data_format == "channels_last" else shape[2:])

    def _check_input_shape(self, input_shape: Any) -> None:
        check_rank(self, input_shape, self.rank, self.data_format)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # clear errors before the first call

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_rank(self, input_shape, self.rank, self.data_format)
        spatial = self._spatial(input_shape)
        out = tuple(conv_output_length(n, k, self.padding, s) for n, k, s in zip(spatial, self.pool_size, self.strides))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': with padding='valid', pool_size {self.pool_size} "
                f"is larger than the input's spatial size {spatial}, so the output would be empty. "
                f"help: use padding='same' or a smaller pool_size. Received: input_shape={tuple(input_shape)}"
            )
        if self.data_format == "channels_last":
            return (input_shape[0], *out, input_shape[-1])
        return (input_shape[0], input_shape[1], *out)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != self.rank + 2:
            check_rank(self, tuple(inputs.shape), self.rank, self.data_format)
        x = to_nchw(inputs, self.data_format, self.rank)
        if self.padding == "valid":
            y = self._pool(x, (0, 0), False)
        else:
            pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self._k2, self._s2)]
            if all(_ceil_mode_fits(n, k, s, p) for n, k, s, p in zip(x.shape[2:], self._k2, self._s2, pads)):
                y = self._pool(x, (pads[0][0], pads[1][0]), True)
            else:  # e.g. an even pool_size with strides 1: pad explicitly
                y = self._pool_padded(x, (*pads[1], *pads[0]))
        return from_nchw(y, self.data_format, self.rank)

    def _pool(self, x: torch.Tensor, pad: tuple[int, int], ceil: bool) -> torch.Tensor:
        if self._max:
            return F.max_pool2d(x, self._k2, self._s2, pad, ceil_mode=ceil)
        return F.avg_pool2d(x, self._k2, self._s2, pad, ceil_mode=ceil, count_include_pad=False)

    def _pool_padded(self, x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
        if self._max:
            return F.max_pool2d(F.pad(x, pads, value=float("-inf")), self._k2, self._s2)
        # Mean over real values only: window sums of zero-padded x over window counts of real pixels.
        ones = x.new_ones((1, 1, *x.shape[2:]))
        counts = F.avg_pool2d(F.pad(ones, pads), self._k2, self._s2)
        return F.avg_pool2d(F.pad(x, pads), self._k2, self._s2) / counts

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


def _ceil_mode_fits(size: int, kernel: int, stride: int, pads: tuple[int, int]) -> bool:
    """Whether torch's ceil_mode with the `before` padding on both sides gives TF's 'same' windows."""
    before = pads[0]
    out = -(-(size + 2 * before - kernel) // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out == -(-size // stride)


class MaxPooling1D(_Pooling):
    """Max over windows of a sequence.

    Args:
        pool_size: int, default 2.
        strides: int, default None (= pool_size).
        padding: "valid" (default) or "same" (output length `ceil(steps / strides)`).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, pooled_steps, channels)`.

    Example:
        >>> MaxPooling1D()(torch.zeros(2, 10, 3)).shape
        torch.Size([2, 5, 3])
    """

    rank, _max = 1, True

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over windows of an image.

    Args:
        pool_size: int or (height, width), default (2, 2).
        strides: int or pair, default None (= pool_size).
        padding: "valid" (default) or "same" (output size `ceil(size / strides)`; padding never wins the max).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, pooled_height, pooled_width, channels)`.

    Example:
        >>> MaxPooling2D()(torch.zeros(2, 26, 26, 32)).shape
        torch.Size([2, 13, 13, 32])
    """

    rank, _max = 2, True

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of a sequence (pool_size is required, as in Keras 3).

    Args:
        pool_size: int (no default).
        strides: int, default None (= pool_size).
        padding: "valid" (default) or "same" (padded positions are not counted in the mean).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, pooled_steps, channels)`.

    Example:
        >>> AveragePooling1D(2)(torch.zeros(2, 10, 3)).shape
        torch.Size([2, 5, 3])
    """

    rank, _max = 1, False

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over windows of an image (pool_size is required, as in Keras 3).

    Args:
        pool_size: int or (height, width) (no default).
        strides: int or pair, default None (= pool_size).
        padding: "valid" (default) or "same" (padded positions are not counted in the mean).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, pooled_height, pooled_width, channels)`.

    Example:
        >>> AveragePooling2D(2)(torch.zeros(2, 8, 8, 3)).shape
        torch.Size([2, 4, 4, 3])
    """

    rank, _max = 2, False

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Max or mean over all spatial positions; subclasses set `rank` and `_max`."""

    rank = 2
    _max = False

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(self, data_format)
        self.keepdims = bool(keepdims)
        first = 1 if self.data_format == "channels_last" else 2
        self._dims = tuple(range(first, first + self.rank))

    def _check_input_shape(self, input_shape: Any) -> None:
        check_rank(self, input_shape, self.rank, self.data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_rank(self, input_shape, self.rank, self.data_format)
        if self.keepdims:
            return tuple(1 if i in self._dims else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self._dims)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != self.rank + 2:
            check_rank(self, tuple(inputs.shape), self.rank, self.data_format)
        if self._max:
            return inputs.amax(dim=self._dims, keepdim=self.keepdims)
        return inputs.mean(dim=self._dims, keepdim=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over all steps of a sequence.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the steps axis with length 1 (default False).

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, channels)` (`(batch, 1, channels)` with keepdims).

    Example:
        >>> GlobalAveragePooling1D()(torch.zeros(2, 10, 3)).shape
        torch.Size([2, 3])
    """

    rank, _max = 1, False


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over all positions of an image.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with length 1 (default False).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, channels)` (`(batch, 1, 1, channels)` with keepdims).

    Example:
        >>> GlobalAveragePooling2D()(torch.zeros(2, 7, 7, 64)).shape
        torch.Size([2, 64])
    """

    rank, _max = 2, False


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over all steps of a sequence.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the steps axis with length 1 (default False).

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, channels)` (`(batch, 1, channels)` with keepdims).

    Example:
        >>> GlobalMaxPooling1D()(torch.zeros(2, 10, 3)).shape
        torch.Size([2, 3])
    """

    rank, _max = 1, True


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over all positions of an image.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with length 1 (default False).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, channels)` (`(batch, 1, 1, channels)` with keepdims).

    Example:
        >>> GlobalMaxPooling2D()(torch.zeros(2, 7, 7, 64)).shape
        torch.Size([2, 64])
    """

    rank, _max = 2, True


# Keras 3's other names for the same classes.
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
