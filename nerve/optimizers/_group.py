"""Weights grouped by device and dtype with their slot tensors, and scalar helpers for updates."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

from nerve import backend

FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class ParamGroup:
    """Parameters sharing one device and dtype, with their slot tensors, updated together."""

    __slots__ = ("indices", "params", "slots", "decay", "decay_all", "decay_params", "cache")

    def __init__(
        self,
        indices: list[int],
        params: list[torch.Tensor],
        slots: dict[str, list[torch.Tensor]],
        decay: list[bool],
    ) -> None:
        self.indices = indices
        self.params = params
        self.slots = slots
        self.decay = decay
        self.decay_all = all(decay)
        self.decay_params = [p for p, d in zip(params, decay) if d]
        self.cache: dict[str, Any] = {}

    @property
    def device(self) -> torch.device:
        return self.params[0].device

    @property
    def fused_ok(self) -> bool:
        """Whether torch has fused optimizer kernels for this group's device and dtype."""
        ok = self.cache.get("fused_ok")
        if ok is None:
            ok = self.cache["fused_ok"] = (
                self.device.type in _get_fused_kernels_supported_devices() and self.dtype in FUSED_DTYPES
            )
        return ok

    @property
    def dtype(self) -> torch.dtype:
        return self.params[0].dtype

    def subset(self, positions: list[int]) -> ParamGroup:
        """The same group restricted to some of its members (positions inside the group)."""
        sub = ParamGroup(
            [self.indices[k] for k in positions],
            [self.params[k] for k in positions],
            {name: [ts[k] for k in positions] for name, ts in self.slots.items()},
            [self.decay[k] for k in positions],
        )
        sub.cache = self.cache  # per-device constants stay valid
        return sub


def scalar_type(dtype: torch.dtype) -> type:
    """The numpy scalar type that rounds like Keras's scalar math for weights of `dtype`."""
    return np.float64 if dtype == torch.float64 else np.float32


def host_scalar(dtype: Any, value: float) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.tensor(value, dtype=backend.standardize_dtype(dtype), device="cpu")
