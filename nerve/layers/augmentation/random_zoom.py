"""RandomZoom: zooms images in or out by a random amount during training."""

from __future__ import annotations

from typing import Any

import torch

from nerve.layers.augmentation.base import BaseAffineAugmentation, factor_range

__all__ = ["RandomZoom"]


class RandomZoom(BaseAffineAugmentation):
    """Zooms each image about its centre by a random amount during training.

    A factor is a fraction of the image size: `height_factor=0.2` draws a
    vertical zoom in [-20%, +20%]; as in Keras, positive values zoom out (the
    image shrinks and `fill_mode` fills the border) and negative values zoom in.
    Without `width_factor` both axes use the same draw, keeping the aspect ratio.
    At inference images pass through, cast to the layer's dtype.

    Args:
        height_factor: a float in (-1, 1] (range `[-|f|, |f|]`) or a pair `(lower, upper)`.
        width_factor: the same for the width, or None (default) to zoom both axes alike.
        fill_mode: `"reflect"` (default), `"wrap"`, `"nearest"` or `"constant"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int for a repeatable sequence (default None: torch's RNG).
        fill_value: the value outside the image for `"constant"` (default 0.0).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    Example:
        >>> layer = RandomZoom(height_factor=(-0.3, -0.1))  # zoom in by 10-30%
        >>> layer(torch.rand(8, 32, 32, 3), training=True).shape
        torch.Size([8, 32, 32, 3])
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = factor_range(self, "height_factor", height_factor, -1.0, 1.0, open_low=True)
        self._width_range = (None if width_factor is None else
                             factor_range(self, "width_factor", width_factor, -1.0, 1.0, open_low=True))

    def _is_identity(self) -> bool:
        return self._height_range == (0.0, 0.0) and self._width_range in (None, (0.0, 0.0))

    def _sample(self, batch: int, device: torch.device) -> torch.Tensor:
        """(N, 2) zooms (height, width); 1 keeps the size, >1 zooms out."""
        height = 1.0 + self._uniform(batch, *self._height_range, device)
        width = height if self._width_range is None else 1.0 + self._uniform(batch, *self._width_range, device)
        return torch.stack([height, width], dim=1)

    def _matrices(self, zooms: torch.Tensor, height: int, width: int) -> torch.Tensor:
        zy, zx = zooms[:, 0], zooms[:, 1]
        zero = torch.zeros_like(zx)
        # input = zoom * (output - centre) + centre
        return torch.stack([
            torch.stack([zx, zero, (1 - zx) * ((width - 1) / 2)], dim=1),
            torch.stack([zero, zy, (1 - zy) * ((height - 1) / 2)], dim=1),
        ], dim=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}
