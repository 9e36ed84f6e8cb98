"""The functional graph runner: the one place where a graph of layers is executed.

`Graph(inputs, outputs)` walks back from the outputs to the inputs once, sorts
the layer calls, and compiles them into a flat plan of slot reads and writes.
Running the plan is a loop over that list with no graph logic per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import torch

from nerve import backend
from nerve.graph.node import KerasTensor, Node

if TYPE_CHECKING:
    from nerve.layers.layer import Layer

__all__ = ["Graph"]


class _Step:
    __slots__ = ("layer", "node", "in_slots", "out_slots", "fast", "build_args")

    def __init__(self, node: Node, slot_of: dict[int, int]) -> None:
        self.layer = node.layer
        self.node = node
        self.in_slots = [slot_of[id(t)] for t in node.input_tensors]
        self.out_slots = [slot_of[id(t)] for t in node.output_tensors]
        # The common case, `layer(x)`, skips rebuilding the argument structure.
        self.fast = (
            len(node.args) == 1 and isinstance(node.args[0], KerasTensor) and not node.kwargs
        )
        self.build_args = None if self.fast else _arg_builder(node.args, node.kwargs, slot_of)


def _arg_builder(args: tuple, kwargs: dict, slot_of: dict[int, int]) -> Callable[[list], tuple[tuple, dict]]:
    def fill(structure: Any, values: list) -> Any:
        return backend.map_structure(
            lambda leaf: values[slot_of[id(leaf)]] if isinstance(leaf, KerasTensor) else leaf, structure
        )

    return lambda values: (fill(args, values), fill(kwargs, values))


class Graph:
    """A directed acyclic graph of layer calls between symbolic inputs and outputs.

    Args:
        inputs: a KerasTensor, or a list/dict of them, from `nerve.Input`.
        outputs: a KerasTensor, or a list/dict of them, computed from `inputs`.
    """

    def __init__(self, inputs: Any, outputs: Any) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.flat_inputs: list[KerasTensor] = backend.flatten(inputs)
        self.flat_outputs: list[KerasTensor] = backend.flatten(outputs)
        for t in self.flat_inputs + self.flat_outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    "Model inputs and outputs must be symbolic tensors made with nerve.Input(...) "
                    f"and layer calls. Received: {t!r} of type {type(t).__name__}"
                )
        self.nodes = self._sort_nodes()
        self._layers: list[Layer] | None = None
        self.input_dtypes = [backend.standardize_dtype(t.dtype) for t in self.flat_inputs]
        self._compile()
        # Outputs are named by dict key, else by the layer that produced them (Keras's rule).
        self.output_names: list[str] = (
            list(outputs) if isinstance(outputs, dict)
            else [t._history.layer.name for t in self.flat_outputs]  # type: ignore[union-attr]
        )

    def _sort_nodes(self) -> list[Node]:
        input_ids = {id(t) for t in self.flat_inputs}
        order: list[Node] = []
        state: dict[int, int] = {}  # 1 = visiting, 2 = done

        def visit(tensor: KerasTensor, path: list[str]) -> None:
            if id(tensor) in input_ids:
                return
            node = tensor.node
            if node is None or node.is_input:
                names = [t.name for t in self.flat_inputs]
                raise ValueError(
                    f"Output tensor {tensor!r} cannot be computed from the model's inputs {names}: "
                    f"it depends on an Input that was not passed to Model(inputs=...). "
                    f"Path: {' <- '.join(path) or tensor.name}"
                )
            mark = state.get(id(node))
            if mark == 2:
                return
            if mark == 1:
                raise ValueError(f"The graph has a cycle through layer '{node.layer.name}'.")
            state[id(node)] = 1
            for parent in node.input_tensors:
                visit(parent, path + [node.layer.name])
            state[id(node)] = 2
            order.append(node)

        for out in self.flat_outputs:
            visit(out, [])
        return order

    def _compile(self) -> None:
        slot_of: dict[int, int] = {}
        for t in self.flat_inputs:
            slot_of.setdefault(id(t), len(slot_of))
        for node in self.nodes:
            for t in node.output_tensors:
                slot_of.setdefault(id(t), len(slot_of))
        self.num_slots = len(slot_of)
        self.plan = [_Step(node, slot_of) for node in self.nodes]
        self.input_slots = [slot_of[id(t)] for t in self.flat_inputs]
        self.output_slots = [slot_of[id(t)] for t in self.flat_outputs]
        # Free each intermediate value after its last use, to keep memory flat.
        last_use: dict[int, int] = {}
        for i, step in enumerate(self.plan):
            for s in step.in_slots:
                last_use[s] = i
        keep = set(self.output_slots)
        self.release = [[s for s in step.in_slots if last_use.get(s) == i and s not in keep]
                        for i, step in enumerate(self.plan)]

    @property
    def layers(self) -> list["Layer"]:
        """Every layer once, in Keras's order: by decreasing depth, then by traversal order."""
        if self._layers is None:
            self._layers = self._order_layers()
        return self._layers

    def _order_layers(self) -> list["Layer"]:
        input_ids = {id(t) for t in self.flat_inputs}
        first_seen: dict[int, int] = {}
        post: list[Node] = []
        finished: set[int] = set()

        def visit(tensor: KerasTensor) -> None:
            node = tensor.node
            if node is None or id(node) in finished:
                return
            if id(tensor) in input_ids and not node.is_input:
                finished.add(id(node))
                return
            first_seen.setdefault(id(node.layer), len(first_seen))
            if not node.is_input:
                for parent in node.input_tensors:
                    visit(parent)
            finished.add(id(node))
            post.append(node)

        for out in self.flat_outputs:
            visit(out)
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        layers: dict[int, Layer] = {}
        in_graph = {id(n) for n in post}
        for node in reversed(post):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = node_depth[id(node)] = depth
            layers[id(node.layer)] = node.layer
            for parent in node.parent_nodes:
                if id(parent) in in_graph:
                    node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for t in self.flat_inputs:  # inputs that no output uses still belong to the model
            if t._history is not None and id(t._history.layer) not in layer_depth:
                layer_depth[id(t._history.layer)] = 0
                first_seen[id(t._history.layer)] = -1
                layers[id(t._history.layer)] = t._history.layer
        return sorted(layers.values(), key=lambda lay: (-layer_depth[id(lay)], first_seen[id(lay)]))

    def run(self, flat_inputs: list[torch.Tensor], training: bool = False) -> list[torch.Tensor]:
        """Execute the plan on concrete tensors; returns the flat outputs."""
        values: list[Any] = [None] * self.num_slots
        for slot, value in zip(self.input_slots, flat_inputs):
            values[slot] = value
        for step, release in zip(self.plan, self.release):
            layer = step.layer
            if step.fast:
                out = layer._run(values[step.in_slots[0]], (), {}, training)
            else:
                args, kwargs = step.build_args(values)
                out = layer._run(args[0], args[1:], kwargs, training)
            if len(step.out_slots) == 1:
                values[step.out_slots[0]] = out
            else:
                for slot, value in zip(step.out_slots, backend.flatten(out)):
                    values[slot] = value
            for slot in release:
                values[slot] = None
        return [values[s] for s in self.output_slots]
