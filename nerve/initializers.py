"""Weight initializers with Keras 3's names, defaults and fan rules.

Shapes are in Keras's layout (a Dense kernel is `(in, out)`, a conv kernel
`(*kernel_size, in, out)`), so the fans, and thus the scales, are Keras's.

Example:
    >>> from nerve import initializers
    >>> w = initializers.get("glorot_uniform")((784, 64))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from nerve import backend

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
]


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return (fan_in, fan_out) for a Keras-layout weight shape."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: `initializer(shape, dtype=None)` returns a new tensor."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)

    def _generator(self) -> torch.Generator | None:
        seed = getattr(self, "seed", None)
        if seed is None:
            return None
        # A fixed seed gives the same values on every call, as in Keras.
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed))
        return gen

    @staticmethod
    def _empty(shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
        # Random numbers are drawn on the CPU so results do not depend on the device.
        return torch.empty(tuple(shape), dtype=backend.standardize_dtype(dtype), device="cpu")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self._empty(shape, dtype).zero_()


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self._empty(shape, dtype).fill_(1.0)


class Constant(Initializer):
    """Every entry set to `value` (default 0.0); an array value is broadcast to the shape."""

    def __init__(self, value: Any = 0.0) -> None:
        self.value = value

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        out = self._empty(shape, dtype)
        if np.ndim(self.value) == 0:
            return out.fill_(float(self.value))
        value = torch.as_tensor(np.asarray(self.value), dtype=out.dtype)
        try:
            return out.copy_(value.expand(tuple(shape)))
        except RuntimeError:
            raise ValueError(
                f"Constant initializer: a value of shape {tuple(value.shape)} does not fit the weight shape "
                f"{tuple(shape)}."
            ) from None

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": np.asarray(value).tolist() if np.ndim(value) else value}


class RandomNormal(Initializer):
    """Normal distribution (mean=0.0, stddev=0.05, seed=None)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self._empty(shape, dtype).normal_(self.mean, self.stddev, generator=self._generator())

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform distribution on [minval, maxval) (defaults -0.05, 0.05)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self._empty(shape, dtype).uniform_(self.minval, self.maxval, generator=self._generator())

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(t: torch.Tensor, mean: float, std: float, gen: torch.Generator | None) -> torch.Tensor:
    # Values beyond two standard deviations are redrawn, as in Keras.
    t.normal_(0.0, 1.0, generator=gen)
    bad = t.abs() > 2.0
    while bool(bad.any()):
        t[bad] = torch.empty(int(bad.sum()), dtype=t.dtype).normal_(0.0, 1.0, generator=gen)
        bad = t.abs() > 2.0
    return t.mul_(std).add_(mean)


class TruncatedNormal(Initializer):
    """Normal distribution cut at two standard deviations (mean=0.0, stddev=0.05)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return _truncated_normal(self._empty(shape, dtype), self.mean, self.stddev, self._generator())

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Scale-aware initializer: variance `scale / n`, n from `mode` over the fans.

    Args:
        scale: positive scale factor (default 1.0).
        mode: "fan_in" (default), "fan_out" or "fan_avg".
        distribution: "truncated_normal" (default), "untruncated_normal" or "uniform".
        seed: optional int for repeatable values.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ) -> None:
        if scale <= 0:
            raise ValueError(f"VarianceScaling needs scale > 0. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling mode must be one of {self._MODES}. Received: mode={mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling distribution must be one of {self._DISTRIBUTIONS}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        out, gen = self._empty(shape, dtype), self._generator()
        if self.distribution == "truncated_normal":
            # 0.8796... is the stddev of a unit normal truncated at +-2.
            return _truncated_normal(out, 0.0, math.sqrt(variance) / 0.87962566103423978, gen)
        if self.distribution in ("untruncated_normal", "normal"):
            return out.normal_(0.0, math.sqrt(variance), generator=gen)
        limit = math.sqrt(3.0 * variance)
        return out.uniform_(-limit, limit, generator=gen)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _FixedVarianceScaling(VarianceScaling):
    _FIXED: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None, input_axes: Any = None, output_axes: Any = None) -> None:
        if input_axes is not None or output_axes is not None:
            raise ValueError(
                f"{type(self).__name__}: custom fan axes are not supported yet. "
                f"Received: input_axes={input_axes!r}, output_axes={output_axes!r}"
            )
        scale, mode, distribution = self._FIXED
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(6 / (fan_in + fan_out)): Keras's default kernel initializer."""

    _FIXED = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    _FIXED = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(2 / fan_in), suited to ReLU."""

    _FIXED = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(6 / fan_in)."""

    _FIXED = (2.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(1 / fan_in), suited to SELU."""

    _FIXED = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(3 / fan_in)."""

    _FIXED = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """Orthogonal matrix (of the flattened shape) times `gain` (default 1.0)."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = gain, seed

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2. Received: shape={tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64).normal_(generator=self._generator())
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(tuple(shape)).to(backend.standardize_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """Identity matrix times `gain` (default 1.0), for 2-D shapes."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape. Received: shape={tuple(shape)}")
        return (self.gain * torch.eye(*shape)).to(backend.standardize_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


_CLASSES: dict[str, type[Initializer]] = {
    cls.__name__: cls
    for cls in (
        Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
        GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, Identity,
    )
}
_ALIASES = {backend.to_snake_case(name): cls for name, cls in _CLASSES.items()}
_ALIASES.update({"zeros": Zeros, "ones": Ones, "zero": Zeros, "one": Ones, "identity": Identity,
                 "orthogonal": Orthogonal, "constant": Constant, "uniform": RandomUniform,
                 "normal": RandomNormal})


def get(identifier: Any) -> Initializer | Any:
    """Return an initializer from a name, class, config dict or callable.

    Example:
        >>> get("he_normal")
        HeNormal(seed=None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", "")) or _ALIASES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Unknown initializer config. Received: {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown initializer '{identifier}'. Valid names: {sorted(_ALIASES)}. "
                f"Received: initializer={identifier!r}"
            )
        return cls()
    if callable(identifier):
        return identifier
    raise TypeError(f"Cannot interpret an initializer from {identifier!r}.")


def serialize(initializer: Any) -> Any:
    """Return a config dict `{"class_name", "config"}` for an initializer."""
    if initializer is None:
        return None
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    return getattr(initializer, "__name__", repr(initializer))


def deserialize(config: Any) -> Any:
    """Inverse of `serialize`."""
    return get(config)
