"""RandomContrast: scales each image's deviation from its per-channel mean by a random factor."""

from __future__ import annotations

from typing import Any

import torch

from nerve.layers.augmentation.base import BaseAugmentation, factor_range

__all__ = ["RandomContrast"]


class RandomContrast(BaseAugmentation):
    """Randomly adjusts the contrast of each image during training.

    Each pixel becomes `(x - mean) * c + mean`, with `mean` the image's
    per-channel mean and `c` drawn per image uniformly in `[1 - lower, 1 + upper]`,
    then clipped to `value_range`. As in Keras 3.15, a single float `f` means
    `(lower, upper) = (0, f)`: contrast is only increased; pass a pair
    `(f, f)` for `[1 - f, 1 + f]`. At inference images pass through unchanged
    (integer images stay integer).

    Args:
        factor: a float in [0, 1] or a pair `(lower, upper)` of such floats.
        value_range: `(low, high)` of the pixel values, for clipping (default (0, 255)).
        seed: optional int for a repeatable sequence (default None: torch's RNG).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    Example:
        >>> layer = RandomContrast((0.2, 0.2), value_range=(0, 1))
        >>> layer(torch.rand(8, 32, 32, 3), training=True).shape
        torch.Size([8, 32, 32, 3])
    """

    _cast_at_inference = False

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0.0, 1.0)
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2 or value_range[0] > value_range[1]:
            raise ValueError(
                f"RandomContrast layer '{self.name}': value_range must be a pair (low, high) with low <= high, "
                f"e.g. (0, 255) or (0, 1). Received: value_range={value_range!r}"
            )
        self.value_range = tuple(value_range)

    def _is_identity(self) -> bool:
        return self.factor == (0.0, 0.0)

    def _sample(self, batch: int, device: torch.device) -> torch.Tensor:
        lower, upper = self.factor
        return self._uniform(batch, 1.0 - lower, 1.0 + upper, device)

    def _apply(self, images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
        dims = (1, 2) if self.data_format == "channels_last" else (2, 3)
        mean = images.mean(dim=dims, keepdim=True)
        out = torch.addcmul(mean, images - mean, factors.to(images.dtype).view(-1, 1, 1, 1))
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
