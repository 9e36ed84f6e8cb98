"""Merging layers: combine a list of tensors elementwise (Add, ...) or by concatenation.

Elementwise merges broadcast as Keras does: the batch axis is kept first and
the remaining axes are aligned from the right, so `(None, 3)` merges with
`(None, 4, 3)`, and a size-1 axis stretches to match. Each layer also has a
functional form (`add([a, b])` is `Add()([a, b])`).
"""

from __future__ import annotations

from typing import Any

import torch

from nerve.layers.layer import Layer

__all__ = [
    "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
]

Shape = tuple[int | None, ...]


def _fmt(shapes: Any) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


class _Merge(Layer):
    """Base of the elementwise merging layers; subclasses define `_merge(tensors)`."""

    _exact_inputs: int | None = None  # Subtract takes exactly two

    def _shapes(self, input_shape: Any) -> list[Shape]:
        """Validate that the layer got a list of shapes; return it."""
        kind = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                f"A {kind} layer ('{self.name}') must be called on a list of tensors, e.g. {kind}()([a, b]). "
                f"Received: input of shape {input_shape}"
            )
        shapes = [tuple(s) for s in input_shape]
        if self._exact_inputs is not None and len(shapes) != self._exact_inputs:
            raise ValueError(
                f"A {kind} layer ('{self.name}') must be called on exactly {self._exact_inputs} inputs. "
                f"Received: {len(shapes)} inputs of shapes {_fmt(shapes)}"
            )
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(
                f"Layer '{self.name}' ({kind}) cannot merge tensors with different batch sizes. "
                f"Received: inputs of shapes {_fmt(shapes)}"
            )
        return shapes

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        out: list[int | None] = list(shapes[0][1:])
        for shape in shapes[1:]:
            a, b = out, list(shape[1:])
            if len(a) < len(b):
                a, b = b, a
            merged = a[: len(a) - len(b)]
            for i, j in zip(a[len(a) - len(b):], b):
                if i is None or j is None:
                    merged.append(None)
                elif i == 1 or j == 1 or i == j:
                    merged.append(j if i == 1 else i)
                else:
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) cannot merge inputs of incompatible shapes "
                        f"{_fmt(shapes)}: sizes {i} and {j} differ and neither is 1. Make the shapes equal "
                        "(e.g. with a Dense or Reshape layer) before merging."
                    )
            out = merged
        batches = {s[0] for s in shapes if s} - {None}
        return (batches.pop() if batches else None, *out)

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)
        self.built = True

    def _check_input_shape(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (list, tuple)):
            self._shapes(getattr(inputs, "shape", inputs))
        tensors = list(inputs)
        ranks = [t.dim() for t in tensors]
        top = max(ranks)
        if min(ranks) != top:
            # Align the non-batch axes from the right, keeping the batch axis first.
            tensors = [t.reshape(t.shape[:1] + (1,) * (top - t.dim()) + t.shape[1:]) if t.dim() < top else t
                       for t in tensors]
        return self._merge(tensors)

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


class Add(_Merge):
    """Add a list of tensors elementwise.

    Input: a list of tensors of the same (or broadcastable) shape.
    Output: one tensor of the merged shape.

    Example:
        >>> Add()([torch.ones(2, 3), torch.ones(2, 3)])[0]
        tensor([2., 2., 2.])
    """

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out


class Subtract(_Merge):
    """Subtract the second of two tensors from the first, elementwise.

    Input: a list of exactly two tensors of the same (or broadcastable) shape.
    Output: `inputs[0] - inputs[1]`.

    Example:
        >>> Subtract()([torch.ones(2, 3), torch.ones(2, 3)])[0]
        tensor([0., 0., 0.])
    """

    _exact_inputs = 2

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        if len(tensors) != 2:
            self._shapes([tuple(t.shape) for t in tensors])
        return tensors[0] - tensors[1]


class Multiply(_Merge):
    """Multiply a list of tensors elementwise.

    Input: a list of tensors of the same (or broadcastable) shape.
    Output: their elementwise product.

    Example:
        >>> Multiply()([torch.full((1, 2), 2.0), torch.full((1, 2), 3.0)])
        tensor([[6., 6.]])
    """

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out * t
        return out


class Average(_Merge):
    """Average a list of tensors elementwise.

    Input: a list of tensors of the same (or broadcastable) shape.
    Output: their elementwise mean.

    Example:
        >>> Average()([torch.zeros(1, 2), torch.ones(1, 2)])
        tensor([[0.5000, 0.5000]])
    """

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out / len(tensors)


class Maximum(_Merge):
    """Elementwise maximum of a list of tensors.

    Input: a list of tensors of the same (or broadcastable) shape.
    Output: their elementwise maximum.

    Example:
        >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])])
        tensor([[3., 5.]])
    """

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = torch.maximum(out, t)
        return out


class Minimum(_Merge):
    """Elementwise minimum of a list of tensors.

    Input: a list of tensors of the same (or broadcastable) shape.
    Output: their elementwise minimum.

    Example:
        >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])])
        tensor([[1., 2.]])
    """

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = torch.minimum(out, t)
        return out


class Concatenate(_Merge):
    """Concatenate a list of tensors along `axis`.

    Args:
        axis: the axis to join along (default -1). All other sizes must match.

    Input: a list of tensors of the same rank.
    Output: one tensor whose size on `axis` is the sum of the inputs'.

    Example:
        >>> Concatenate()([torch.ones(2, 3), torch.zeros(2, 4)]).shape
        torch.Size([2, 7])
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"Concatenate layer '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        ranks = {len(s) for s in shapes}
        rank = len(shapes[0])
        problem = None
        if len(ranks) > 1:
            problem = f"their ranks differ ({sorted(ranks)})"
        elif not -rank <= self.axis < rank:
            problem = f"axis {self.axis} is out of range for rank {rank}"
        axis = self.axis % rank if problem is None else 0
        out: list[int | None] = list(shapes[0])
        for d in range(rank if problem is None else 0):
            sizes = [s[d] for s in shapes]
            if d == axis:
                out[d] = None if None in sizes else sum(sizes)
            else:
                known = set(sizes) - {None}
                if len(known) > 1:
                    problem = f"their sizes on axis {d} differ ({sorted(known)})"
                    break
                out[d] = known.pop() if known else None
        if problem is not None:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) needs inputs whose shapes match except on the "
                f"concatenation axis {self.axis}, but {problem}. Received: inputs of shapes {_fmt(shapes)}"
            )
        return tuple(out)

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (list, tuple)):
            self._shapes(getattr(inputs, "shape", inputs))
        return torch.cat(list(inputs), dim=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: `add([a, b])` is `Add()([a, b])`; kwargs go to the layer."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`: `subtract([a, b])` is `a - b`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`: `concatenate([a, b], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
