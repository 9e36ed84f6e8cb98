"""Embedding: map integer indices to dense vectors, a lookup in a trainable table."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from nerve import initializers, regularizers
from nerve.layers.layer import Layer

__all__ = ["Embedding"]

Shape = tuple[int | None, ...]


class Embedding(Layer):
    """Turn integer indices into dense vectors: `output[..., :] = embeddings[index]`.

    Inputs are integer indices in `[0, input_dim)`; float tensors holding whole
    numbers are accepted and converted. In a model, declare the input as
    integers: `nerve.Input(shape=(maxlen,), dtype="int32")`.

    Args:
        input_dim: size of the vocabulary, i.e. the largest index + 1.
        output_dim: size of each embedding vector.
        embeddings_initializer: default "uniform" (uniform on [-0.05, 0.05]).
        embeddings_regularizer: optional penalty on the table, added to the loss.
        embeddings_constraint: optional callable applied after each update.
        mask_zero: whether index 0 is padding (default False). Stored, and
            `compute_mask` returns the mask, but nerve does not yet pass masks
            on to later layers.
        weights: optional initial table (an array of shape `(input_dim, output_dim)`
            or a list holding it).
        lora_rank, lora_alpha, quantization_config: not supported; must be None.

    Input shape: `(batch, ...)` integers. Output shape: `(batch, ..., output_dim)`.
    Weights: `embeddings` of shape `(input_dim, output_dim)`.

    Example:
        >>> layer = Embedding(1000, 64)
        >>> layer(torch.tensor([[4, 20, 7]])).shape
        torch.Size([1, 3, 64])
    """

    _keep_input_dtype = True

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: the argument `input_length` is deprecated and ignored (as in Keras 3); "
                          "remove it.", UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Embedding layer '{self.name}': {arg} must be a positive integer. Received: {arg}={value!r}"
                )
        for arg, value in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha),
                           ("quantization_config", quantization_config)):
            if value is not None:
                raise NotImplementedError(
                    f"Embedding layer '{self.name}': {arg} is not supported by nerve. Received: {arg}={value!r}"
                )
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        if self.mask_zero:
            warnings.warn(
                f"Embedding layer '{self.name}': mask_zero=True is stored, but nerve does not pass masks to "
                "the following layers yet, so padded steps still count in pooling and losses. Drop padded "
                "steps from the data, or weight them with sample_weight.",
                stacklevel=2,
            )
        self._range_checked = False
        if weights is not None:
            self._maybe_build((None,))
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape: Shape | None = None) -> None:
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer, name="embeddings",
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
        )
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dtype not in (torch.int64, torch.int32):
            inputs = inputs.long()
        if not self._range_checked:
            # One check (a host sync) on the first batch, so a wrong vocabulary
            # size is reported clearly before any device-side failure.
            problem = self._range_problem(inputs)
            if problem:
                raise ValueError(problem)
            self._range_checked = True
        try:
            return F.embedding(inputs, self.embeddings.value)
        except IndexError as err:
            raise ValueError(self._range_problem(inputs) or str(err)) from err

    def _range_problem(self, indices: torch.Tensor) -> str | None:
        """Describe indices outside `[0, input_dim)`, or return None if there are none."""
        if indices.numel() == 0:
            return None
        low, high = int(indices.min()), int(indices.max())
        if low >= 0 and high < self.input_dim:
            return None
        return (
            f"Embedding layer '{self.name}' received indices in [{low}, {high}], but its table has "
            f"input_dim={self.input_dim} rows, so indices must lie in [0, {self.input_dim - 1}]. "
            f"Use Embedding(input_dim={max(high + 1, self.input_dim)}, ...) or fix the data."
        )

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        """The padding mask `inputs != 0` when `mask_zero=True`, else None."""
        return torch.as_tensor(inputs) != 0 if self.mask_zero else None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": None,
            "mask_zero": self.mask_zero,
        }
