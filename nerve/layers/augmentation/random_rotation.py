"""RandomRotation: rotates images by a random angle about their centre during training."""

from __future__ import annotations

import math
from typing import Any

import torch

from nerve.layers.augmentation.base import BaseAffineAugmentation, factor_range

__all__ = ["RandomRotation"]


class RandomRotation(BaseAffineAugmentation):
    """Rotates each image by a random angle during training, filling the corners by `fill_mode`.

    Angles are fractions of a full turn: `factor=0.1` draws angles uniformly in
    [-36°, 36°]; `factor=(-0.2, 0.3)` in [-72°, 108°]. Positive angles turn the
    image counter-clockwise. At inference images pass through, cast to the layer's dtype.

    Args:
        factor: a float in [-1, 1] (range `[-|factor|, |factor|]` of 2π) or a
            pair `(lower, upper)`.
        fill_mode: `"reflect"` (default; d c b a | a b c d | d c b a), `"wrap"`
            (a b c d | a b c d), `"nearest"` (a a | a b c d | d d) or `"constant"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int for a repeatable sequence (default None: torch's RNG).
        fill_value: the value outside the image for `"constant"` (default 0.0).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    Example:
        >>> layer = RandomRotation(0.1, fill_mode="constant")
        >>> layer(torch.rand(8, 32, 32, 3), training=True).shape
        torch.Size([8, 32, 32, 3])
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor or 0.0, -1.0, 1.0)

    def _is_identity(self) -> bool:
        return self.factor == (0.0, 0.0)

    def _sample(self, batch: int, device: torch.device) -> torch.Tensor:
        """Angles in radians, counter-clockwise."""
        lower, upper = self.factor
        return self._uniform(batch, lower * 2 * math.pi, upper * 2 * math.pi, device)

    def _matrices(self, angles: torch.Tensor, height: int, width: int) -> torch.Tensor:
        cos, sin = torch.cos(angles), torch.sin(angles)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        # input = R (output - centre) + centre
        return torch.stack([
            torch.stack([cos, -sin, cx - cos * cx + sin * cy], dim=1),
            torch.stack([sin, cos, cy - sin * cx - cos * cy], dim=1),
        ], dim=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}
