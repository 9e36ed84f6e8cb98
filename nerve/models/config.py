"""A functional graph as a Keras-3-style config, and back.

Each layer's entry lists its inbound nodes; a node's arguments name the
tensors they consume as `[layer_name, node_index, tensor_index]` ("keras
history"). Rebuilding replays those calls in dependency order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nerve import backend
from nerve.graph.node import KerasTensor
from nerve.layers.input_layer import InputLayer

if TYPE_CHECKING:
    from nerve.models.model import Model

__all__ = ["functional_config", "functional_from_config"]

_TENSOR = "__keras_tensor__"


def functional_config(model: "Model") -> dict[str, Any]:
    """The config of a functional model: its layers with inbound nodes, inputs and outputs."""
    from nerve.saving.serialization import serialize_object

    graph = model._graph
    assert graph is not None
    # Node indices count only the nodes of this graph, so a layer shared with
    # another model still gets indices 0, 1, ... here.
    own_index: dict[int, int] = {}
    per_layer: dict[int, int] = {}
    for t in graph.flat_inputs:
        node = t.node
        if node is not None:
            own_index[id(node)] = 0
    for node in graph.nodes:
        own_index[id(node)] = per_layer.get(id(node.layer), 0)
        per_layer[id(node.layer)] = own_index[id(node)] + 1

    def history(t: KerasTensor) -> list[Any]:
        h = t._history
        assert h is not None
        node = h.layer._inbound_nodes[h.node_index]
        return [h.layer.name, own_index[id(node)], h.tensor_index]

    def encode(value: Any) -> Any:
        if isinstance(value, KerasTensor):
            return {"class_name": _TENSOR, "config": {"shape": list(value.shape), "dtype": value.dtype,
                                                      "keras_history": history(value)}}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        return value

    layers = []
    for layer in graph.layers:
        entry = serialize_object(layer)
        entry["name"] = layer.name
        nodes = [n for n in graph.nodes if n.layer is layer]
        entry["inbound_nodes"] = [{"args": encode(list(n.args)), "kwargs": encode(n.kwargs)} for n in nodes]
        layers.append(entry)

    def ends(structure: Any) -> Any:
        if isinstance(structure, KerasTensor):
            return history(structure)
        if isinstance(structure, dict):
            return {k: ends(v) for k, v in structure.items()}
        return [ends(t) for t in structure]

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": ends(graph.inputs),
        "output_layers": ends(graph.outputs),
    }


def functional_from_config(cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Model":
    """Rebuild a functional model from `functional_config` output (or a Keras 3 config)."""
    from nerve.saving.serialization import deserialize_object

    tensors: dict[tuple[str, int, int], KerasTensor] = {}
    pending: list[tuple[Any, int, dict]] = []
    by_name: dict[str, Any] = {}
    for entry in config.get("layers", []):
        layer = deserialize_object(entry, custom_objects)
        name = entry.get("name", layer.name)
        by_name[name] = layer
        if isinstance(layer, InputLayer):
            tensors[(name, 0, 0)] = layer.output_tensor
        for i, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((layer, i, node if isinstance(node, dict) else {"args": node, "kwargs": {}}))

    def ready(value: Any) -> bool:
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            return tuple(value["config"]["keras_history"]) in tensors
        if isinstance(value, list):
            return all(ready(v) for v in value)
        if isinstance(value, dict):
            return all(ready(v) for v in value.values())
        return True

    def decode(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            return tensors[tuple(value["config"]["keras_history"])]
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        return value

    names = {id(layer): name for name, layer in by_name.items()}
    while pending:
        progress = False
        for item in list(pending):
            layer, index, node = item
            if not (ready(node.get("args", [])) and ready(node.get("kwargs", {}))):
                continue
            args = decode(node.get("args", []))
            kwargs = {k: v for k, v in decode(node.get("kwargs", {})).items() if k != "training"}
            out = layer(*args, **kwargs)
            for t_index, t in enumerate(backend.flatten(out)):
                tensors[(names[id(layer)], index, t_index)] = t
            pending.remove(item)
            progress = True
        if not progress:
            stuck = sorted({names[id(item[0])] for item in pending})
            raise ValueError(
                f"The saved graph cannot be rebuilt: layers {stuck} wait for tensors no layer produces. "
                "The file's config is inconsistent or truncated."
            )

    def resolve(spec: Any) -> Any:
        if isinstance(spec, dict):
            return {k: resolve(v) for k, v in spec.items()}
        if isinstance(spec, (list, tuple)) and len(spec) == 3 and isinstance(spec[0], str):
            key = (spec[0], int(spec[1]), int(spec[2]))
            if key not in tensors:
                raise ValueError(f"The saved config names a model input/output {list(spec)} that its layers do not produce.")
            return tensors[key]
        return [resolve(s) for s in spec]

    inputs = resolve(config["input_layers"])
    outputs = resolve(config["output_layers"])
    model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
    if config.get("trainable") is False:  # True would unfreeze frozen layers
        model.trainable = config["trainable"]
    return model
