"""RandomFlip: flips images left-right and/or top-bottom at random during training."""

from __future__ import annotations

from typing import Any

import torch

from nerve.layers.augmentation.base import BaseAugmentation, check_choice

__all__ = ["RandomFlip"]

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


class RandomFlip(BaseAugmentation):
    """Randomly flips each image with probability 1/2 during training.

    As in Keras 3, `"horizontal_and_vertical"` draws one coin per image: a
    flipped image is flipped both left-right and top-bottom (a 180° turn).
    At inference (`evaluate`, `predict`, `training=False`) images pass through,
    cast to the layer's dtype.

    Args:
        mode: `"horizontal"` (left-right), `"vertical"` (top-bottom) or
            `"horizontal_and_vertical"` (default).
        seed: optional int for a repeatable sequence of flips (default None:
            torch's global RNG, seeded by `nerve.utils.set_random_seed`).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Input shape: `(batch, height, width, channels)` or one image `(height, width, channels)`.
    Output shape: the same.

    Example:
        >>> layer = RandomFlip("horizontal")
        >>> layer(torch.rand(8, 32, 32, 3)).shape  # a direct call augments, as in Keras
        torch.Size([8, 32, 32, 3])
    """

    def __init__(self, mode: str = HORIZONTAL_AND_VERTICAL, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = check_choice(self, "mode", mode, (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL))

    def _axes(self) -> tuple[int, ...]:
        rows, cols = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return {HORIZONTAL: (cols,), VERTICAL: (rows,), HORIZONTAL_AND_VERTICAL: (rows, cols)}[self.mode]

    def _sample(self, batch: int, device: torch.device) -> torch.Tensor:
        return self._rand((batch,), device) < 0.5

    def _apply(self, images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        return torch.where(flips.view(-1, 1, 1, 1), images.flip(self._axes()), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
