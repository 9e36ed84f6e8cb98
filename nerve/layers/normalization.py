"""Normalization over features: LayerNormalization, GroupNormalization, UnitNormalization.

`BatchNormalization` lives in `batch_normalization.py`; it shares the scale
and offset weights (`gamma`, `beta`) defined here by `AffineNormalization`.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers, regularizers
from nerve.layers.layer import Layer

__all__ = ["GroupNormalization", "LayerNormalization", "UnitNormalization"]

Shape = tuple[int | None, ...]


def resolve_axes(layer: Layer, axis: Any, input_shape: Shape) -> list[int]:
    """Turn `axis` (an int or a list of ints) into sorted non-negative axes of `input_shape`."""
    ndim = len(input_shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    for a in axes:
        if not isinstance(a, int) or not -ndim <= a < ndim:
            raise ValueError(
                f"{type(layer).__name__} layer '{layer.name}': axis {a!r} is out of range for inputs of "
                f"rank {ndim} (shape {tuple(input_shape)}); use axes in [{-ndim}, {ndim}). Received: axis={axis!r}"
            )
    return sorted({a % ndim for a in axes})


class AffineNormalization(Layer):
    """Base of the normalization layers with a learned scale `gamma` and offset `beta`.

    Args:
        epsilon: small float added to the variance (default 1e-3).
        center: whether to learn an offset `beta` (default True).
        scale: whether to learn a scale `gamma` (default True).
        beta_initializer, gamma_initializer: defaults "zeros" and "ones".
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional callables applied after each update.
    """

    def __init__(
        self,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': epsilon must be a non-negative number. "
                f"Received: epsilon={epsilon!r}"
            )
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def _add_affine(self, shape: tuple[int, ...], scale: bool, center: bool) -> None:
        """Create `gamma` then `beta` (Keras's order), or set them to None."""
        self.gamma = self.add_weight(
            shape=shape, initializer=self.gamma_initializer, name="gamma",
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
        ) if scale else None
        self.beta = self.add_weight(
            shape=shape, initializer=self.beta_initializer, name="beta",
            regularizer=self.beta_regularizer, constraint=self.beta_constraint,
        ) if center else None

    def _remember_input(self, input_shape: Shape, axes: list[int]) -> None:
        """Record the rank and the sizes on `axes`, which later inputs must match."""
        self._built_rank = len(input_shape)
        self._built_sizes = {a: input_shape[a] for a in axes}

    def _check_input_shape(self, input_shape: Any) -> None:
        sizes = getattr(self, "_built_sizes", None)
        if sizes is None:
            return
        if len(input_shape) != self._built_rank or any(
            input_shape[a] is not None and input_shape[a] != n for a, n in sizes.items()
        ):
            expected = tuple(sizes.get(d) for d in range(self._built_rank))
            raise ValueError(
                f"Input of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer: it was "
                f"built for inputs of shape {expected} (sizes fixed on axes {sorted(sizes)}), and received "
                f"input of shape {tuple(input_shape)}."
            )

    def _gamma_beta(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return (self.gamma.value if self.gamma is not None else None,
                self.beta.value if self.beta is not None else None)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            # Constraints are applied but, as for Dense, not yet serialized.
            "beta_constraint": None,
            "gamma_constraint": None,
        }


class LayerNormalization(AffineNormalization):
    """Normalize each sample over `axis` to mean 0 and variance 1, then scale and shift.

    `output = (x - mean) / sqrt(var + epsilon) * gamma + beta`, with the mean
    and (biased) variance taken over `axis` for each sample separately.

    Args:
        axis: int or list of ints, the axes to normalize over (default -1).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset `beta` (default True).
        scale: learn a scale `gamma` (default True).
        rms_scaling: deprecated Keras option (default False): `x / sqrt(var + epsilon) * gamma`,
            without centering and without `beta`; it warns, as Keras does.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as in `BatchNormalization`.

    Input shape: any. Output shape: same as the input. Weights: `gamma` and
    `beta` of shape `(input_shape[a] for a in axis)`.

    Example:
        >>> layer = LayerNormalization()
        >>> layer(torch.randn(2, 5)).shape
        torch.Size([2, 5])
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, *, rms_scaling: bool = False, **kwargs: Any) -> None:
        super().__init__(epsilon=epsilon, center=center, scale=scale, **kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(
                f"LayerNormalization layer '{self.name}': axis must be an int or a list of ints. "
                f"Received: axis={axis!r}"
            )
        if rms_scaling:
            warnings.warn(
                "LayerNormalization(rms_scaling=True) is deprecated in Keras: it scales by the variance, "
                "not the root mean square. nerve keeps Keras's computation for compatibility.",
                UserWarning, stacklevel=2,
            )
        self.axis = axis
        self.rms_scaling = bool(rms_scaling)

    def build(self, input_shape: Shape) -> None:
        self._axes = resolve_axes(self, self.axis, input_shape)
        # Keras keeps the axes as a sorted list once built (it shows in get_config).
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization layer '{self.name}' needs known sizes on its axes {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._add_affine(shape, scale=self.scale or self.rms_scaling, center=self.center and not self.rms_scaling)
        self._remember_input(input_shape, self._axes)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if x.dtype != self._dtype:
            x = x.to(self._dtype)
        ndim = x.dim()
        axes = self._axes
        gamma, beta = self._gamma_beta()
        if not self.rms_scaling and axes == list(range(ndim - len(axes), ndim)):
            return F.layer_norm(x, tuple(x.shape[ndim - len(axes):]), gamma, beta, self.epsilon)
        shape = [x.shape[d] if d in axes else 1 for d in range(ndim)]
        var, mean = torch.var_mean(x, dim=axes, keepdim=True, correction=0)
        inv = torch.rsqrt(var + self.epsilon)
        if gamma is not None:
            inv = inv * gamma.reshape(shape)
        if self.rms_scaling:
            return x * inv
        out = (x - mean) * inv
        return out + beta.reshape(shape) if beta is not None else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "rms_scaling": self.rms_scaling}


class GroupNormalization(AffineNormalization):
    """Normalize each sample over groups of channels (group normalization).

    The channels on `axis` are split into `groups` groups; each sample is
    normalized over every position and every channel of a group. With
    `groups` equal to the number of channels (or -1) this is instance
    normalization; with `groups=1` it normalizes over all features.

    Args:
        groups: number of groups; must divide the number of channels (default 32;
            -1 means one group per channel).
        axis: the channel axis (default -1).
        epsilon: added to the variance (default 1e-3).
        center, scale, beta_initializer, gamma_initializer, beta_regularizer,
        gamma_regularizer, beta_constraint, gamma_constraint: as in `BatchNormalization`.

    Input shape: `(batch, ..., channels)`. Output shape: same as the input.
    Weights: `gamma` and `beta` of shape `(channels,)`.

    Example:
        >>> layer = GroupNormalization(groups=4)
        >>> layer(torch.randn(2, 8, 8, 16)).shape
        torch.Size([2, 8, 8, 16])
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, **kwargs: Any) -> None:
        super().__init__(epsilon=epsilon, center=center, scale=scale, **kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(
                f"GroupNormalization layer '{self.name}': groups must be a positive integer, or -1 for one "
                f"group per channel. Received: groups={groups!r}"
            )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"GroupNormalization layer '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.groups = groups
        self.axis = axis

    def build(self, input_shape: Shape) -> None:
        (self._axis,) = resolve_axes(self, self.axis, input_shape)
        if self._axis == 0:
            raise ValueError(f"GroupNormalization layer '{self.name}' cannot use the batch axis 0 as channels.")
        channels = input_shape[self._axis]
        if channels is None:
            raise ValueError(
                f"GroupNormalization layer '{self.name}' needs a known number of channels on axis {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(
                f"GroupNormalization layer '{self.name}': the number of groups ({self.groups}) must divide the "
                f"number of channels ({channels}) on axis {self.axis}. Pick groups among the divisors of "
                f"{channels}. Received: groups={self.groups}, input_shape={tuple(input_shape)}"
            )
        self._add_affine((channels,), scale=self.scale, center=self.center)
        self._remember_input(input_shape, [self._axis])
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if x.dtype != self._dtype:
            x = x.to(self._dtype)
        gamma, beta = self._gamma_beta()
        axis = self._axis
        # torch's fused kernel wants channels at axis 1; for channels-last data the
        # moved view is a channels-last layout, which the kernel reads in place.
        moved = x if axis == 1 else x.movedim(axis, 1)
        if (moved.dim() >= 4 and not moved.is_contiguous() and not moved.requires_grad
                and torch.is_grad_enabled() and (self.gamma is not None or self.beta is not None)):
            # torch 2.x's CPU kernel crashes (segfault) in the backward of a channels-last
            # input that needs no gradient while gamma/beta do; a contiguous copy avoids it.
            moved = moved.contiguous()
        out = F.group_norm(moved, self.groups, gamma, beta, self.epsilon)
        return out if axis == 1 else out.movedim(1, axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}


class UnitNormalization(Layer):
    """Scale each sample to unit L2 norm over `axis`: `x / max(||x||, 1e-12)`.

    Args:
        axis: int or list of ints, the axes the norm is taken over (default -1).

    Input shape: any. Output shape: same as the input. No weights.

    Example:
        >>> UnitNormalization()(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(
                f"UnitNormalization layer '{self.name}': axis must be an int or a list of ints. "
                f"Received: axis={axis!r}"
            )
        self.axis = axis

    def build(self, input_shape: Shape) -> None:
        self._axes = resolve_axes(self, self.axis, input_shape)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if inputs.dtype == self._dtype else inputs.to(self._dtype)
        norm = torch.linalg.vector_norm(x, 2, dim=self._axes, keepdim=True)
        return x / norm.clamp_min(1e-12)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        resolve_axes(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
