"""Symbolic tensors and the nodes that connect layers into a graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from nerve import backend

if TYPE_CHECKING:
    from nerve.layers.layer import Layer

__all__ = ["KerasTensor", "Node"]


class _History(NamedTuple):
    layer: "Layer"
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: a shape and dtype flowing through the functional API.

    `nerve.Input(shape=(8,))` returns one; calling a layer on it returns another,
    and `nerve.Model(inputs, outputs)` turns the recorded calls into a graph.

    Args:
        shape: the full shape, with `None` for unknown sizes (the batch first).
        dtype: the element type name (default `backend.floatx()`).
        name: an optional name (an Input's name is used for dict inputs).
    """

    def __init__(self, shape: tuple[int | None, ...], dtype: str | None = None, name: str | None = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype or backend.floatx()
        self.name = name
        self._history: _History | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self) -> "Node | None":
        if self._history is None:
            return None
        return self._history.layer._inbound_nodes[self._history.node_index]

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self) -> int:
        raise TypeError(
            "A symbolic tensor has no length: its batch size is unknown until data flows. "
            f"Received: a KerasTensor of shape {self.shape}"
        )

    def __bool__(self) -> bool:
        raise TypeError("A symbolic tensor has no truth value; use it as a layer input.")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A symbolic tensor (from nerve.Input or a layer called on one) holds no data. "
            "Build a nerve.Model(inputs, outputs) and call model.predict(x) to get values."
        )


class Node:
    """One call of a layer inside a graph: which tensors went in, which came out."""

    def __init__(self, layer: "Layer", args: tuple, kwargs: dict, outputs: Any) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.input_tensors: list[KerasTensor] = [
            t for t in backend.flatten((args, kwargs)) if isinstance(t, KerasTensor)
        ]
        self.outputs = outputs
        self.output_tensors: list[KerasTensor] = [t for t in backend.flatten(outputs)]
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, tensor in enumerate(self.output_tensors):
            tensor._history = _History(layer, node_index, i)

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]

    @property
    def is_input(self) -> bool:
        return not self.input_tensors
