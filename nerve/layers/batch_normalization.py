"""BatchNormalization: normalize with batch statistics in training, moving averages in inference."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers
from nerve.layers.normalization import AffineNormalization, resolve_axes

__all__ = ["BatchNormalization"]

Shape = tuple[int | None, ...]


def _replicas() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class BatchNormalization(AffineNormalization):
    """Normalize features with the statistics of the batch (training) or their moving averages.

    In training (`training=True`, e.g. inside `fit`) the layer normalizes with
    the mean and biased variance of the batch over every axis but `axis`, then
    updates `moving = moving * momentum + batch * (1 - momentum)` for both the
    mean and the (biased) variance, exactly as Keras does. In inference it uses
    the moving statistics. A frozen layer (`layer.trainable = False`) always
    runs in inference mode, also during `fit` (Keras 3's behaviour).
    `output = (x - mean) / sqrt(var + epsilon) * gamma + beta`.

    Args:
        axis: the feature axis (default -1: channels-last).
        momentum: weight of the old value in the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset `beta` (default True).
        scale: learn a scale `gamma` (default True).
        beta_initializer, gamma_initializer: defaults "zeros", "ones".
        moving_mean_initializer, moving_variance_initializer: defaults "zeros", "ones".
        beta_regularizer, gamma_regularizer: optional penalties added to the loss.
        beta_constraint, gamma_constraint: optional callables applied after each update.
        synchronized: in a data-parallel job (see `nerve.distribution`), compute
            the batch statistics over the global batch of every process, like
            torch's SyncBatchNorm (default False: each process's own batch).
            Without a job it changes nothing.
        renorm, renorm_clipping, renorm_momentum: batch renormalization is not
            supported; `renorm` must stay False.

    Input shape: any, with a known size on `axis`. Output shape: same as the input.
    Weights: `gamma`, `beta` (trainable), `moving_mean`, `moving_variance`
    (non-trainable), each of shape `(input_shape[axis],)`.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(torch.randn(32, 8, 8, 16), training=True)
        >>> bn.moving_mean.shape
        (16,)
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: dict | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer, beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint, **kwargs,
        )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(
                f"BatchNormalization layer '{self.name}': axis must be an int (the feature axis). "
                f"Received: axis={axis!r}"
            )
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"BatchNormalization layer '{self.name}': momentum must be a number in [0, 1] (the weight "
                f"of the old moving average). Received: momentum={momentum!r}"
            )
        if renorm:
            raise NotImplementedError(
                f"BatchNormalization layer '{self.name}': batch renormalization (renorm=True) is not "
                "supported by nerve. Use renorm=False."
            )
        self.axis = axis
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum

    def build(self, input_shape: Shape) -> None:
        (self._axis,) = resolve_axes(self, self.axis, input_shape)
        channels = input_shape[self._axis]
        if channels is None:
            raise ValueError(
                f"BatchNormalization layer '{self.name}' needs a known size on axis {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._add_affine((channels,), scale=self.scale, center=self.center)
        self._remember_input(input_shape, [self._axis])
        self.moving_mean = self.add_weight(
            shape=(channels,), initializer=self.moving_mean_initializer, name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape=(channels,), initializer=self.moving_variance_initializer, name="moving_variance",
            trainable=False,
        )
        self.built = True

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        x = inputs
        moving_mean = self.moving_mean.value
        moving_var = self.moving_variance.value
        if x.dtype != moving_mean.dtype:
            x = x.to(moving_mean.dtype)  # statistics in the weights' precision, as Keras
        gamma, beta = self._gamma_beta()
        ndim = x.dim()
        axis = self.axis % ndim
        channels = x.shape[axis]
        # torch's fused kernel wants features at axis 1. With features last (the
        # common case) the tensor is viewed as (positions, features), for free.
        if axis == ndim - 1:
            flat = x.reshape(-1, channels)
        elif axis == 1:
            flat = x
        else:
            flat = x.movedim(axis, 1)

        if not (training and self.trainable):
            out = F.batch_norm(flat, moving_mean, moving_var, gamma, beta, False, 0.0, self.epsilon)
        else:
            out = self._train_batch_norm(flat, moving_mean, moving_var, gamma, beta)

        if axis == ndim - 1:
            return out.reshape(x.shape)
        return out if axis == 1 else out.movedim(1, axis)

    def _train_batch_norm(self, flat: torch.Tensor, moving_mean: torch.Tensor, moving_var: torch.Tensor,
                          gamma: torch.Tensor | None, beta: torch.Tensor | None) -> torch.Tensor:
        """Normalize with batch statistics and update the moving averages (Keras's formula)."""
        channels = flat.shape[1]
        count = flat.numel() // max(channels, 1)
        if self.synchronized and _replicas() > 1:
            out, batch_mean, batch_var = self._synchronized_statistics(flat, moving_mean, gamma, beta)
        elif count == 0:  # an empty batch: nothing to normalize or to average
            return F.batch_norm(flat, moving_mean, moving_var, gamma, beta, False, 0.0, self.epsilon)
        elif count > 1:
            # With momentum 1, torch writes the batch mean and the unbiased batch
            # variance into these fresh buffers; the moving weights themselves are
            # only touched below, under no_grad, so autograd never sees them change.
            batch_mean = torch.zeros_like(moving_mean)
            batch_var = torch.zeros_like(moving_var)
            out = F.batch_norm(flat, batch_mean, batch_var, gamma, beta, True, 1.0, self.epsilon)
            batch_var = batch_var * ((count - 1) / count)  # Keras averages the biased variance
        else:
            # One value per feature: torch's kernel refuses it; Keras gives variance 0.
            rows = flat.reshape(1, channels)
            batch_var, batch_mean = torch.var_mean(rows, dim=0, correction=0)
            out = self._normalize_rows(rows, batch_mean, batch_var, gamma, beta).reshape(flat.shape)
        momentum = self.momentum
        with torch.no_grad():
            moving_mean.mul_(momentum).add_(batch_mean.detach(), alpha=1.0 - momentum)
            moving_var.mul_(momentum).add_(batch_var.detach(), alpha=1.0 - momentum)
        return out

    def _normalize_rows(self, rows: torch.Tensor, mean: torch.Tensor, var: torch.Tensor,
                        gamma: torch.Tensor | None, beta: torch.Tensor | None) -> torch.Tensor:
        inv = torch.rsqrt(var + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        out = (rows - mean) * inv
        return out if beta is None else out + beta

    def _synchronized_statistics(self, flat: torch.Tensor, moving_mean: torch.Tensor, gamma: torch.Tensor | None,
                                 beta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalize with the global batch's statistics: sums all-reduced over the processes, gradients too.

        Returns the output and the global batch's mean and biased variance.
        """
        from torch.distributed.nn.functional import all_reduce

        channels = flat.shape[1]
        rows = flat.movedim(1, -1).reshape(-1, channels)
        # Sums of x - shift, the shift being the moving mean (equal on every process): the variance
        # E[d^2] - E[d]^2 then loses no precision to cancellation as E[x^2] - E[x]^2 would.
        shift = moving_mean.detach()
        d = rows - shift
        local = torch.cat([d.sum(0), (d * d).sum(0), rows.new_full((1,), float(rows.shape[0]))])
        total = all_reduce(local)  # differentiable: the backward all-reduces the gradients of the sums
        count = total[-1]
        mean_d = total[:channels] / count
        batch_mean = shift + mean_d
        batch_var = (total[channels:2 * channels] / count - mean_d * mean_d).clamp_min(0.0)
        out = self._normalize_rows(rows, batch_mean, batch_var, gamma, beta)
        shape = list(flat.shape)
        return out.reshape(shape[:1] + shape[2:] + shape[1:2]).movedim(-1, 1), batch_mean, batch_var

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }
