"""InputLayer and `Input()`: where a functional graph starts."""

from __future__ import annotations

from typing import Any

from nerve import backend
from nerve.graph.node import KerasTensor, Node
from nerve.layers.layer import Layer

__all__ = ["Input", "InputLayer"]


class InputLayer(Layer):
    """The entry point of a model: holds the shape of one batch of input.

    Args:
        shape: shape of one sample, without the batch dimension, e.g. `(28, 28)`.
        batch_size: optional fixed batch size (default None: any).
        dtype: the input's dtype (default `backend.floatx()`).
        batch_shape: full shape including the batch dimension (instead of `shape`).
        name: the layer's name (default `input_layer`, `input_layer_1`, ...).
        input_shape: Keras 2 spelling of `shape`, accepted.

    Example:
        >>> model = nerve.Sequential([nerve.layers.InputLayer(shape=(8,)), nerve.layers.Dense(1)])
    """

    def __init__(
        self,
        shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        batch_shape: tuple[int | None, ...] | None = None,
        input_tensor: Any = None,
        optional: bool = False,
        ragged: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if shape is None:
            shape = kwargs.pop("input_shape", None)
        if batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape", None)
        if sparse or ragged:
            raise ValueError(
                f"nerve does not support sparse or ragged inputs yet. Received: sparse={sparse}, ragged={ragged}"
            )
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "Give InputLayer either `shape` or `batch_shape`, not both. "
                f"Received: shape={shape}, batch_shape={batch_shape}"
            )
        if shape is None and batch_shape is None:
            raise ValueError(
                "InputLayer needs the shape of one sample, e.g. InputLayer(shape=(28, 28)). "
                "Received: shape=None"
            )
        if batch_shape is None:
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        for d in batch_shape[1:]:
            if d is not None and (not isinstance(d, int) or d < 0):
                raise ValueError(f"Input dimensions must be non-negative integers or None. Received: shape={shape}")
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype, **kwargs)
        self.batch_shape = tuple(batch_shape)
        self._input_dtype = dtype or backend.floatx()
        self.optional = optional
        self.built = True
        self._build_shape = self.batch_shape
        tensor = KerasTensor(self.batch_shape, dtype=str(self._input_dtype), name=self.name)
        Node(self, (), {}, tensor)
        self.output_tensor = tensor

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        return self.batch_shape

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": self.batch_shape, "dtype": str(self._input_dtype), "name": self.name}


def Input(  # noqa: N802 - Keras's name
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> KerasTensor:
    """Create a symbolic input for the functional API (or the first item of a Sequential).

    Args:
        shape: shape of one sample without the batch dimension, e.g. `(784,)`.
        batch_size: optional fixed batch size.
        dtype: the input's dtype (default `backend.floatx()`).
        batch_shape: full shape including the batch dimension (instead of `shape`).
        name: the input's name; dict inputs to `fit`/`predict` use it as key.

    Example:
        >>> x = nerve.Input(shape=(8,))
        >>> y = nerve.layers.Dense(1)(x)
        >>> model = nerve.Model(x, y)
    """
    layer = InputLayer(
        shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
        batch_shape=batch_shape, name=name, optional=optional,
    )
    return layer.output_tensor
