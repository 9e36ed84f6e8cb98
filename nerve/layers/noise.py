"""Noise and structured dropout layers, active only in training: spatial dropout, Gaussian noise/dropout, alpha dropout."""

from __future__ import annotations

import math
from typing import Any

import torch

from nerve.layers.dropout import Dropout
from nerve.layers.layer import Layer

__all__ = ["AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D"]

# SELU's constants: alpha * scale is the value SELU tends to for very negative inputs.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _SeededNoise(Layer):
    """Random draws from torch's RNG, or from the layer's own generator when `seed` is set."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._generator: torch.Generator | None = None

    def _gen(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed)
        return self._generator

    def _check_fraction(self, arg: str, value: Any, high_open: bool) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value and (
            value < 1 if high_open else value <= 1)
        if not ok:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': {arg} must be a number in "
                f"[0, 1{')' if high_open else ']'}. Received: {arg}={value!r}"
            )
        return float(value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class GaussianNoise(_SeededNoise):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` during training only.

    Args:
        stddev: standard deviation of the noise, in [0, 1] (as Keras requires).
        seed: optional int for a repeatable noise sequence (default None: torch's RNG).

    Input shape: any. Output shape: the same.

    Example:
        >>> GaussianNoise(0.1)(torch.ones(2, 3), training=False)
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.stddev = self._check_fraction("stddev", stddev, high_open=False)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(inputs.shape, device=inputs.device, dtype=inputs.dtype, generator=self._gen(inputs.device))
        return torch.add(inputs, noise, alpha=self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_SeededNoise):
    """Multiplies inputs by Gaussian noise of mean 1 and variance `rate / (1 - rate)` during training only.

    Args:
        rate: the drop probability of the equivalent Dropout, in [0, 1).
        seed: optional int for a repeatable noise sequence (default None: torch's RNG).

    Input shape: any. Output shape: the same.

    Example:
        >>> GaussianDropout(0.2)(torch.ones(2, 3), training=False)
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = self._check_fraction("rate", rate, high_open=True)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        noise = torch.randn(inputs.shape, device=inputs.device, dtype=inputs.dtype, generator=self._gen(inputs.device))
        return inputs * noise.mul_(math.sqrt(self.rate / (1.0 - self.rate))).add_(1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_SeededNoise):
    """Dropout for SELU networks: keeps the mean and variance of its inputs, during training only.

    Dropped inputs are set to SELU's negative saturation value, then an affine
    map restores zero mean and unit variance.

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: optional shape of the drop mask, broadcast over the input
            (None entries take the input's size).
        seed: optional int for a repeatable mask sequence (default None: torch's RNG).

    Input shape: any. Output shape: the same.

    Example:
        >>> AlphaDropout(0.1)(torch.ones(2, 3), training=False)
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = self._check_fraction("rate", rate, high_open=True)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else [
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape)]
        keep = torch.rand(shape, device=inputs.device, generator=self._gen(inputs.device)) >= self.rate
        saturation = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * saturation ** 2)) ** -0.5
        b = -a * saturation * self.rate
        return torch.where(keep, inputs, saturation) * a + b

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop decision per (sample, channel)."""

    _rank = 0

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        fmt = data_format or "channels_last"
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': data_format must be 'channels_last' or "
                f"'channels_first'. Received: data_format={data_format!r}"
            )
        self.data_format = fmt
        ones = (1,) * (self._rank - 2)
        self.noise_shape = (None,) + ones + (None,) if fmt == "channels_last" else (None, None) + ones

    def _check_input_shape(self, input_shape: Any) -> None:
        if len(input_shape) != self._rank:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects inputs of rank {self._rank} "
                f"{self._layout()}. Received: input of shape {tuple(input_shape)}"
            )

    def _layout(self) -> str:
        spatial = ", ".join(["steps"] if self._rank == 3 else ["dim"] * (self._rank - 2))
        return (f"(batch, {spatial}, channels)" if self.data_format == "channels_last"
                else f"(batch, channels, {spatial})")

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if inputs.dim() != self._rank:
            self._check_input_shape(tuple(inputs.shape))
        return super().call(inputs, training=training)

    def get_config(self) -> dict[str, Any]:
        # Keras's spatial dropout configs hold only these keys.
        return {"name": self.name, "dtype": self.dtype, "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of a sequence during training (the same channels at every step).

    Kept values are scaled by 1 / (1 - rate), like Dropout. Useful when adjacent
    steps are strongly correlated, where plain Dropout barely regularizes.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        seed: optional int for a repeatable mask sequence (default None: torch's RNG).

    Input shape: `(batch, steps, channels)`. Output shape: the same.

    Example:
        >>> SpatialDropout1D(0.5)(torch.ones(2, 4, 3), training=True).shape
        torch.Size([2, 4, 3])
    """

    _rank = 3

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images during training (one decision per sample and channel).

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: `"channels_last"` (default; `(batch, rows, cols, channels)`) or `"channels_first"`.
        seed: optional int for a repeatable mask sequence (default None: torch's RNG).

    Input shape: `(batch, rows, cols, channels)` (channels_last). Output shape: the same.

    Example:
        >>> SpatialDropout2D(0.2)(torch.ones(2, 8, 8, 16), training=True).shape
        torch.Size([2, 8, 8, 16])
    """

    _rank = 4

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature maps of volumes during training (one decision per sample and channel).

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: `"channels_last"` (default; `(batch, d1, d2, d3, channels)`) or `"channels_first"`.
        seed: optional int for a repeatable mask sequence (default None: torch's RNG).

    Input shape: `(batch, d1, d2, d3, channels)` (channels_last). Output shape: the same.

    Example:
        >>> SpatialDropout3D(0.2)(torch.ones(2, 4, 4, 4, 8), training=True).shape
        torch.Size([2, 4, 4, 4, 8])
    """

    _rank = 5

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
