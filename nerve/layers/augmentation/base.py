"""What the image augmentation layers share: training-only calls, seeded draws, factor ranges, resampling.

Every augmentation layer is active only in training, as in Keras 3: `fit` runs
it with `training=True`, `evaluate` and `predict` with `training=False`, and a
direct call outside any model (`layer(images)`, e.g. in a data pipeline)
augments unless `training=False` is passed.

Geometric layers describe each image's transform as a 2x3 matrix in pixel
coordinates that maps an output pixel `(x, y, 1)` to the input point it samples
(x = column, y = row, pixel centres at integers, Keras's convention). One
sampling grid and one `grid_sample` call then resample the whole batch on its
device; Keras's fill modes map onto grid_sample's padding modes (see `affine_resample`).
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from nerve.graph.node import KerasTensor
from nerve.layers.layer import Layer

__all__ = ["BaseAugmentation", "affine_resample"]

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
# Keras fill mode -> grid_sample padding mode (with align_corners=False, "reflection"
# mirrors about the pixel edges: (d c b a | a b c d | d c b a), Keras's "reflect").
_PADDING = {"reflect": "reflection", "nearest": "border", "constant": "zeros"}


def _inside_layer_call() -> bool:
    """True when an outer layer or model call is running (its `training` then applies)."""
    code = Layer.__call__.__code__
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def check_choice(layer: Layer, arg: str, value: Any, options: Sequence[str]) -> str:
    """Return `value` if it is one of `options`, else raise a ValueError naming the layer."""
    if value not in options:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': {arg} must be one of {list(options)}. "
            f"Received: {arg}={value!r}"
        )
    return value


def factor_range(layer: Layer, arg: str, factor: Any, low: float, high: float,
                 open_low: bool = False) -> tuple[float, float]:
    """Keras's factor rule: a number `f` gives `(max(-|f|, low), |f|)`, a pair is sorted; values in bounds."""
    def valid(v: Any) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and (v > low if open_low else v >= low) and v <= high)

    if isinstance(factor, (list, tuple)) and len(factor) == 2 and all(valid(f) for f in factor):
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    if valid(factor):
        return max(-abs(float(factor)), low), abs(float(factor))
    interval = f"{'(' if open_low else '['}{low}, {high}]"
    raise ValueError(
        f"{type(layer).__name__} layer '{layer.name}': {arg} must be a number or a pair of numbers "
        f"in {interval}, e.g. {arg}=0.1 or {arg}=({max(low, -0.1)}, 0.2). "
        f"Received: {arg}={factor!r}"
    )


class BaseAugmentation(Layer):
    """Base of the augmentation layers: dtype, rank checks, random draws, training-only call.

    Subclasses implement `_is_identity()` (no change for any draw),
    `_sample(batch, device)` (random parameters) and `_apply(images, params)`
    on a batch in the layer's `data_format`.
    """

    # Color layers (RandomContrast) keep integer inputs at inference, as Keras does.
    _cast_at_inference = True

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': seed must be an int or None. Received: seed={seed!r}"
            )
        self.seed = seed
        self.data_format = check_choice(self, "data_format", data_format or "channels_last",
                                        ("channels_last", "channels_first"))
        self._generator: torch.Generator | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Keras augments on a direct call (training defaults to True in its `call`);
        # inside a model, the model's training flag decides.
        if (len(args) == 1 and kwargs.get("training") is None and not isinstance(args[0], KerasTensor)
                and not _inside_layer_call()):
            kwargs["training"] = True
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------ helpers for subclasses
    def _rand(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """Uniform [0, 1) draws from torch's RNG, or from this layer's own seeded generator."""
        if self.seed is None:
            return torch.rand(shape, device=device)
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed)
        return torch.rand(shape, device=device, generator=self._generator)

    def _uniform(self, n: int, lower: float, upper: float, device: torch.device) -> torch.Tensor:
        return lower + (upper - lower) * self._rand((n,), device)

    def _hw(self, images: torch.Tensor) -> tuple[int, int]:
        return (images.shape[1], images.shape[2]) if self.data_format == "channels_last" else (
            images.shape[2], images.shape[3])

    def _check_rank(self, shape: Sequence[Any]) -> None:
        if len(shape) not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects images of rank 3 (height, width, channels) "
                f"or 4 (batch, height, width, channels) in {self.data_format} format. "
                f"Received: input of shape {tuple(shape)}"
            )

    def _check_input_shape(self, input_shape: Any) -> None:
        self._check_rank(input_shape)

    # ------------------------------------------------------------ lifecycle
    def call(self, inputs: torch.Tensor, training: bool = True) -> torch.Tensor:
        self._check_rank(inputs.shape)
        if not training or self._is_identity():
            if self._cast_at_inference and inputs.dtype != self._dtype:
                return inputs.to(self._dtype)
            return inputs
        images = inputs if inputs.dtype == self._dtype else inputs.to(self._dtype)
        batched = images.dim() == 4
        if not batched:
            images = images.unsqueeze(0)
        out = self._apply(images, self._sample(images.shape[0], images.device))
        return out if batched else out.squeeze(0)

    def _is_identity(self) -> bool:
        return False

    def _sample(self, batch: int, device: torch.device) -> Any:
        raise NotImplementedError

    def _apply(self, images: torch.Tensor, params: Any) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class BaseAffineAugmentation(BaseAugmentation):
    """Base of RandomRotation, RandomZoom and RandomTranslation: one resampling pass per batch."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = check_choice(self, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        if not isinstance(fill_value, (int, float)) or isinstance(fill_value, bool):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': fill_value must be a number. "
                f"Received: fill_value={fill_value!r}"
            )
        self.fill_value = fill_value

    def _matrices(self, params: Any, height: int, width: int) -> torch.Tensor:
        """Per-image (N, 2, 3) pixel maps from output (x, y, 1) to input (x, y)."""
        raise NotImplementedError

    def _apply(self, images: torch.Tensor, params: Any) -> torch.Tensor:
        height, width = self._hw(images)
        matrices = self._matrices(params, height, width)
        nchw = images.permute(0, 3, 1, 2) if self.data_format == "channels_last" else images
        out = affine_resample(nchw, matrices, self.interpolation, self.fill_mode, self.fill_value)
        return out.permute(0, 2, 3, 1) if self.data_format == "channels_last" else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def affine_resample(images: torch.Tensor, matrices: torch.Tensor, interpolation: str = "bilinear",
                    fill_mode: str = "reflect", fill_value: float = 0.0) -> torch.Tensor:
    """Resample a batch of (N, C, H, W) images through per-image pixel-space affine maps.

    Args:
        images: float tensor (N, C, H, W).
        matrices: (N, 2, 3) maps from output pixel (x, y, 1) to the input point sampled.
        interpolation: "bilinear" or "nearest".
        fill_mode: how points outside the image are filled, as in Keras:
            "reflect" (d c b a | a b c d | d c b a), "wrap" (a b c d | a b c d),
            "nearest" (a a a a | a b c d | d d d d), "constant" (k k k k | a b c d).
        fill_value: k for "constant".
    """
    h, w = images.shape[2], images.shape[3]
    m = matrices.to(torch.float64 if images.dtype == torch.float64 else torch.float32)
    mode = "bilinear" if interpolation == "bilinear" else "nearest"
    if fill_mode == "wrap":
        # Sample at (coordinate mod size) in the image padded by one wrapped row and
        # column, so interpolation between the last and the first pixel wraps too.
        grid = _grid(m, h, w)
        grid[..., 0].remainder_(w).mul_(2 / (w + 1)).add_(1 / (w + 1) - 1)
        grid[..., 1].remainder_(h).mul_(2 / (h + 1)).add_(1 / (h + 1) - 1)
        padded = F.pad(images, (0, 1, 0, 1), mode="circular")
        return F.grid_sample(padded, grid.to(images.dtype), mode=mode, padding_mode="border", align_corners=False)
    # Fold the map from input pixels to grid_sample's normalized coordinates
    # (align_corners=False: pixel i of n sits at (2i + 1) / n - 1) into the matrices.
    m = torch.cat([m[:, :1] * (2 / w), m[:, 1:] * (2 / h)], dim=1)
    m[:, 0, 2] += 1 / w - 1
    m[:, 1, 2] += 1 / h - 1
    grid = _grid(m, h, w).to(images.dtype)
    if fill_mode == "constant" and fill_value != 0:
        # Every sampled point outside the image contributes fill_value with its weight.
        return F.grid_sample(images - fill_value, grid, mode=mode, padding_mode="zeros",
                             align_corners=False) + fill_value
    return F.grid_sample(images, grid, mode=mode, padding_mode=_PADDING[fill_mode], align_corners=False)


def _grid(m: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(N, H, W, 2) points `m @ (x, y, 1)` for every output pixel (broadcast, no batched matmul)."""
    xs = torch.arange(w, device=m.device, dtype=m.dtype)
    ys = torch.arange(h, device=m.device, dtype=m.dtype).unsqueeze(1)
    grid = torch.empty((m.shape[0], h, w, 2), device=m.device, dtype=m.dtype)
    for k in range(2):  # the two coordinates: each one broadcast add of a row and a column term
        row = m[:, k, 0, None, None] * xs + m[:, k, 2, None, None]
        torch.add(row, m[:, k, 1, None, None] * ys, out=grid[..., k])
    return grid
