"""SpectralNormalization: keep a layer's kernel at spectral norm 1 (for stable GAN training)."""

from __future__ import annotations

from typing import Any

import torch

from nerve import initializers
from nerve.backend import Variable
from nerve.layers.layer import Layer

__all__ = ["SpectralNormalization"]

Shape = tuple[int | None, ...]


def _unit(v: torch.Tensor) -> torch.Tensor:
    """`v / ||v||`, with the norm floored at 1e-7 (Keras's `normalize` on the whole tensor)."""
    return v * torch.rsqrt(v.square().sum()).clamp_max(1e7)


class SpectralNormalization(Layer):
    """Wrap a layer that has a `kernel` (Dense, Conv...) or `embeddings` and normalize it spectrally.

    In training (`training=True`), each call runs `power_iterations` steps of
    the power method to estimate the largest singular value `sigma` of the
    kernel (reshaped to `(-1, units)`), then divides the wrapped layer's kernel
    by `sigma` in place, as Keras does, and runs the wrapped layer. In inference
    the wrapped layer runs with its kernel as it is.

    Args:
        layer: the layer to wrap (a nerve Layer with a `kernel` or `embeddings` weight).
        power_iterations: power-method steps per training call (default 1).

    Input shape and output shape: those of the wrapped layer.
    Weights: the wrapped layer's, plus `vector_u` of shape `(1, units)` (non-trainable),
    in Keras's order: kernel, vector_u, then the rest of the wrapped layer's weights.

    Example:
        >>> from nerve.layers.dense import Dense
        >>> sn = SpectralNormalization(Dense(10))
        >>> sn(torch.randn(4, 8), training=True).shape
        torch.Size([4, 10])
    """

    def __init__(self, layer: Any, power_iterations: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            from nerve.saving.serialization import deserialize_object

            layer = deserialize_object(layer)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"SpectralNormalization layer '{self.name}' wraps a nerve layer, e.g. "
                f"SpectralNormalization(Dense(10)). Received: layer={layer!r}"
            )
        if not isinstance(power_iterations, int) or isinstance(power_iterations, bool) or power_iterations <= 0:
            raise ValueError(
                f"SpectralNormalization layer '{self.name}': power_iterations must be a positive integer. "
                f"Received: power_iterations={power_iterations!r}"
            )
        self.layer = layer
        self.power_iterations = power_iterations

    def build(self, input_shape: Shape) -> None:
        self.layer._maybe_build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if not isinstance(kernel, Variable):
            raise ValueError(
                f"SpectralNormalization layer '{self.name}' needs a layer with a 'kernel' or 'embeddings' "
                f"weight, but {type(self.layer).__name__} layer '{self.layer.name}' has neither."
            )
        # The kernel is listed first among this layer's weights, as in Keras; it stays
        # registered in the wrapped layer only.
        self._kernel = kernel
        self._trainable_vars.insert(0, kernel)
        self.vector_u = self.add_weight(
            shape=(1, kernel.shape[-1]), initializer=initializers.TruncatedNormal(stddev=0.02),
            name="vector_u", trainable=False, dtype=kernel.value.dtype,
        )
        self.built = True

    @property
    def kernel(self) -> Variable:
        """The wrapped layer's kernel (or embeddings table)."""
        return self._kernel

    def call(self, inputs: Any, training: bool = False) -> Any:
        if training:
            self._normalize_kernel()
        return self.layer(inputs, training=training)

    @torch.no_grad()
    def _normalize_kernel(self) -> None:
        kernel = self._kernel.value
        u_var = self.vector_u.value
        w = kernel.reshape(-1, kernel.shape[-1])
        u = u_var
        for _ in range(self.power_iterations):
            v = _unit(u @ w.T)
            u = _unit(v @ w)
        sigma = (v @ w) @ u.T  # (1, 1)
        # An all-zero kernel is left as it is (Keras skips the update), without a host sync.
        zero = torch.all(kernel == 0)
        kernel.copy_(torch.where(zero, kernel, kernel / sigma.reshape(())))
        u_var.copy_(torch.where(zero, u_var, u))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        from nerve.saving.serialization import serialize_object

        return {**super().get_config(), "layer": serialize_object(self.layer),
                "power_iterations": self.power_iterations}
