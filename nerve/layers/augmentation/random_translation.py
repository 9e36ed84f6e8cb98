"""RandomTranslation: shifts images by a random fraction of their size during training."""

from __future__ import annotations

from typing import Any

import torch

from nerve.layers.augmentation.base import BaseAffineAugmentation, factor_range

__all__ = ["RandomTranslation"]


class RandomTranslation(BaseAffineAugmentation):
    """Shifts each image by a random amount during training, filling the uncovered part by `fill_mode`.

    Factors are fractions of the image size: `height_factor=0.2` shifts up or
    down by up to 20% of the height (positive: down); `width_factor=(-0.1, 0.3)`
    shifts between 10% left and 30% right. Shifts need not be whole pixels.
    At inference images pass through, cast to the layer's dtype.

    Args:
        height_factor: a float in [-1, 1] (range `[-|f|, |f|]`) or a pair `(lower, upper)`.
        width_factor: the same for horizontal shifts.
        fill_mode: `"reflect"` (default), `"wrap"`, `"nearest"` or `"constant"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int for a repeatable sequence (default None: torch's RNG).
        fill_value: the value outside the image for `"constant"` (default 0.0).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    Example:
        >>> layer = RandomTranslation(0.1, 0.1, fill_mode="constant")
        >>> layer(torch.rand(8, 32, 32, 3), training=True).shape
        torch.Size([8, 32, 32, 3])
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = factor_range(self, "height_factor", height_factor, -1.0, 1.0)
        self._width_range = factor_range(self, "width_factor", width_factor, -1.0, 1.0)

    def _is_identity(self) -> bool:
        return self._height_range == (0.0, 0.0) and self._width_range == (0.0, 0.0)

    def _sample(self, batch: int, device: torch.device) -> torch.Tensor:
        """(N, 2) shifts (down, right) as fractions of the height and width."""
        return torch.stack([self._uniform(batch, *self._height_range, device),
                            self._uniform(batch, *self._width_range, device)], dim=1)

    def _matrices(self, shifts: torch.Tensor, height: int, width: int) -> torch.Tensor:
        one = torch.ones_like(shifts[:, 0])
        zero = torch.zeros_like(one)
        # input = output - shift (in pixels)
        return torch.stack([
            torch.stack([one, zero, -shifts[:, 1] * width], dim=1),
            torch.stack([zero, one, -shifts[:, 0] * height], dim=1),
        ], dim=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}
