"""Spatial reshaping of images: UpSampling2D, ZeroPadding2D and Cropping2D."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve.layers.conv_base import (
    check_rank,
    from_nchw,
    normalize_choice,
    normalize_data_format,
    normalize_tuple,
    to_nchw,
)
from nerve.layers.layer import Layer

__all__ = ["Cropping2D", "UpSampling2D", "ZeroPadding2D"]

Shape = tuple[int | None, ...]
Pairs = tuple[tuple[int, int], tuple[int, int]]


class _Spatial2D(Layer):
    """Shared: data_format, the rank check, and output shapes from per-dimension rules."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(self, data_format)
        self._hw = (1, 2) if self.data_format == "channels_last" else (2, 3)

    def _check_input_shape(self, input_shape: Any) -> None:
        check_rank(self, input_shape, 2, self.data_format)

    def _check_call(self, inputs: torch.Tensor) -> None:
        if inputs.dim() != 4:
            check_rank(self, tuple(inputs.shape), 2, self.data_format)

    def _size(self, axis: int, size: int) -> int:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_rank(self, input_shape, 2, self.data_format)
        out = list(input_shape)
        for i, axis in enumerate(self._hw):
            if out[axis] is not None:
                out[axis] = self._size(i, out[axis])
        return tuple(out)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # clear errors before the first call


def _pairs(layer: Layer, arg: str, value: Any) -> Pairs:
    """int -> ((v, v), (v, v)); (a, b) -> ((a, a), (b, b)); ((t, b), (l, r)) stays."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (list, tuple)) for v in value):
        pair = tuple(normalize_tuple(layer, arg, v, 2, allow_zero=True) for v in value)
        return pair  # type: ignore[return-value]
    try:
        h, w = normalize_tuple(layer, arg, value, 2, allow_zero=True)
    except ValueError:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': {arg} must be an int, a pair of ints "
            f"(symmetric height, width) or a pair of pairs ((top, bottom), (left, right)), all >= 0. "
            f"Received: {arg}={value!r}"
        ) from None
    return ((h, h), (w, w))


class UpSampling2D(_Spatial2D):
    """Repeats (nearest) or interpolates (bilinear) rows and columns by integer factors.

    Args:
        size: int or (rows, cols), default (2, 2).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (default) or "bilinear" (half-pixel centres,
            no antialiasing, as Keras).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height * rows, width * cols, channels)`.

    Example:
        >>> UpSampling2D()(torch.zeros(2, 7, 7, 16)).shape
        torch.Size([2, 14, 14, 16])
    """

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(self, "size", size, 2)
        self.interpolation = normalize_choice(self, "interpolation", interpolation, ("nearest", "bilinear"))

    def _size(self, axis: int, size: int) -> int:
        return size * self.size[axis]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call(inputs)
        x = to_nchw(inputs, self.data_format, 2)
        if self.interpolation == "nearest":
            y = F.interpolate(x, scale_factor=self.size, mode="nearest")
        else:
            y = F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)
        return from_nchw(y, self.data_format, 2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding2D(_Spatial2D):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: int (all sides), (symmetric_height, symmetric_width), or
            ((top, bottom), (left, right)); default (1, 1).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height + top + bottom, width + left + right, channels)`.

    Example:
        >>> ZeroPadding2D(((1, 2), (3, 4)))(torch.zeros(2, 5, 5, 3)).shape
        torch.Size([2, 8, 12, 3])
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(self, "padding", padding)
        (top, bottom), (left, right) = self.padding
        # F.pad lists the last axis first.
        self._pad = (0, 0, left, right, top, bottom) if self.data_format == "channels_last" else (
            left, right, top, bottom)

    def _size(self, axis: int, size: int) -> int:
        return size + sum(self.padding[axis])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call(inputs)
        return F.pad(inputs, self._pad)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping2D(_Spatial2D):
    """Removes rows and columns at the borders of each image (a view: no copy).

    Args:
        cropping: int (all sides), (symmetric_height, symmetric_width), or
            ((top, bottom), (left, right)); default ((0, 0), (0, 0)).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height - top - bottom, width - left - right, channels)`.

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(torch.zeros(2, 28, 28, 3)).shape
        torch.Size([2, 24, 20, 3])
    """

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(self, "cropping", cropping)

    def _size(self, axis: int, size: int) -> int:
        out = size - sum(self.cropping[axis])
        if out <= 0:
            raise ValueError(
                f"Cropping2D layer '{self.name}': cropping {self.cropping[axis]} removes all "
                f"{size} {('rows', 'columns')[axis]} of the input. help: crop less or use larger inputs. "
                f"Received: cropping={self.cropping}"
            )
        return out

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_call(inputs)
        (top, bottom), (left, right) = self.cropping
        h, w = (inputs.shape[a] for a in self._hw)
        rows, cols = slice(top, h - bottom), slice(left, w - right)
        if self.data_format == "channels_last":
            return inputs[:, rows, cols, :]
        return inputs[:, :, rows, cols]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
