"""Model: a graph of layers (functional API) or a subclass with its own `call`, plus training."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nerve import backend
from nerve.graph.graph import Graph
from nerve.graph.node import KerasTensor
from nerve.layers.input_layer import InputLayer
from nerve.layers.layer import Layer, _flat_shapes
from nerve.training import data_adapter
from nerve.training.trainer import Trainer

__all__ = ["Model"]


class Model(Trainer, Layer):
    """A model: layers wired together, with compile/fit/evaluate/predict.

    Functional API: `Model(inputs, outputs)` from `nerve.Input` and layer calls
    (several inputs and outputs; a layer called twice shares its weights).
    Subclassing: derive from `Model`, create layers in `__init__` and write `call`.

    Args:
        inputs: a KerasTensor from `nerve.Input`, or a list/dict of them.
        outputs: the KerasTensor(s) computed from `inputs`.
        name: the model's name (default "functional", "functional_1", ...).
        trainable: whether training updates its weights (default True).

    Example:
        >>> x = nerve.Input(shape=(28, 28))
        >>> h = nerve.layers.Flatten()(x)
        >>> h = nerve.layers.Dense(64, activation="swish")(h)
        >>> y = nerve.layers.Dense(10, activation="softmax")(h)
        >>> model = nerve.Model(x, y)
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if inputs is not None and outputs is None or outputs is not None and inputs is None:
            raise ValueError(
                "A functional Model needs both inputs and outputs: Model(inputs=x, outputs=y). "
                f"Received: inputs={inputs!r}, outputs={outputs!r}"
            )
        default = "functional" if inputs is not None else backend.to_snake_case(type(self).__name__)
        if type(self).__name__ == "Model" and inputs is None:
            default = "model"
        super().__init__(name=name or backend.unique_name(default), **kwargs)
        self._graph: Graph | None = None
        self.history = None
        if inputs is not None:
            # A single input or output in a list is used as itself, as in Keras.
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
                inputs = inputs[0]
            if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
                outputs = outputs[0]
            self._set_graph(Graph(inputs, outputs))

    # ---------------------------------------------------------------- graph
    def _set_graph(self, graph: Graph) -> None:
        for key in list(self._modules):
            del self._modules[key]
        self._graph = graph
        for layer in graph.layers:
            self.add_module(_module_key(layer.name, self._modules), layer)
        self.built = True
        self._build_shape = backend.map_structure(lambda t: t.shape, graph.inputs)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, InputLayers included for functional models."""
        if self._graph is not None:
            return self._graph.layers
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Return a layer by name or by index in `model.layers`.

        Example:
            >>> model.get_layer("dense_1").units
        """
        if index is not None:
            if name is not None:
                raise ValueError(f"Pass name or index to get_layer, not both. Received: name={name!r}, index={index}")
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model '{self.name}' has {len(layers)} layers; index {index} is out of range.")
            return layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No layer named '{name}' in model '{self.name}'. Its layers are: "
                f"{[layer.name for layer in self.layers]}"
            )
        raise ValueError("get_layer needs a name or an index.")

    @property
    def inputs(self) -> list[KerasTensor] | None:
        return self._graph.flat_inputs if self._graph is not None else None

    @property
    def outputs(self) -> list[KerasTensor] | None:
        return self._graph.flat_outputs if self._graph is not None else None

    @property
    def input(self) -> Any:
        if self._graph is None:
            return super().input
        return self._graph.inputs

    @property
    def output(self) -> Any:
        if self._graph is None:
            return super().output
        return self._graph.outputs

    @property
    def input_shape(self) -> Any:
        if self._graph is None:
            return super().input_shape
        shapes = [t.shape for t in self._graph.flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        if self._graph is None:
            return super().output_shape
        shapes = [t.shape for t in self._graph.flat_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _output_names(self) -> list[str]:
        if self._graph is None:
            return ["output"] if self._n_outputs <= 1 else [f"output_{i + 1}" for i in range(self._n_outputs)]
        return self._graph.output_names

    _n_outputs = 1

    def _output_shapes(self) -> list[Any]:
        if self._graph is None:
            return [None] * len(self._output_names())
        return [t.shape for t in self._graph.flat_outputs]

    # ---------------------------------------------------------------- running
    def _match_inputs(self, x: Any) -> list[Any]:
        """Line up `x` with the model's inputs; add or drop a trailing axis of 1 like Keras.

        `(n, 28, 28)` images fit an `Input((28, 28, 1))`, as `mnist.load_data()` users expect.
        """
        graph = self._graph
        assert graph is not None
        names = sorted(graph.inputs) if isinstance(graph.inputs, dict) else [t.name for t in graph.flat_inputs]
        flat = data_adapter.match_names(x, names, "input", self.name)
        out = []
        for t, kt in zip(flat, graph.flat_inputs):
            if isinstance(t, torch.Tensor):
                if t.dim() == kt.ndim - 1 and kt.shape[-1] == 1:
                    t = t.unsqueeze(-1)
                elif t.dim() == kt.ndim + 1 and t.shape[-1] == 1:
                    t = t.squeeze(-1)
            out.append(t)
        return out

    def _flat_inputs(self, x: Any) -> list[torch.Tensor]:
        """`_match_inputs`, then each input cast to its Input's dtype (uint8 -> float32), per batch."""
        graph = self._graph
        assert graph is not None
        return [t if not isinstance(t, torch.Tensor) or t.dtype == want else t.to(want)
                for t, want in zip(self._match_inputs(x), graph.input_dtypes)]

    def _forward_flat(self, x: Any, training: bool) -> list[torch.Tensor]:
        """Run the model on a batch; returns the outputs as a flat list."""
        if self._graph is not None:
            return self._graph.run(self._flat_inputs(x), training=training)
        floatx = backend.standardize_dtype(backend.floatx())
        x = backend.map_structure(
            lambda t: t.to(floatx) if isinstance(t, torch.Tensor) and not t.is_floating_point() else t, x)
        out = Layer.__call__(self, x, training=training)
        flat = backend.flatten(out)
        self._n_outputs = len(flat)
        return flat

    def _pack_outputs(self, flat: list[Any]) -> Any:
        if self._graph is not None:
            outputs = self._graph.outputs
            if isinstance(outputs, dict):
                return dict(zip(outputs, flat))
            if isinstance(outputs, (list, tuple)):
                return list(flat)
        return flat[0] if len(flat) == 1 else list(flat)

    def call(self, inputs: Any, training: bool = False) -> Any:
        if self._graph is None:
            raise NotImplementedError(
                f"Model '{self.name}' has no graph: create it with Model(inputs, outputs), use "
                "Sequential, or subclass Model and define call()."
            )
        return self._pack_outputs(self._graph.run(self._flat_inputs(inputs), training=training))

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._graph is None:
            return super().compute_output_shape(input_shape)
        shapes = [t.shape for t in self._graph.flat_outputs]
        outputs = self._graph.outputs
        if isinstance(outputs, dict):
            return dict(zip(outputs, shapes))
        return shapes[0] if isinstance(outputs, KerasTensor) else list(shapes)

    def _check_input_shape(self, input_shape: Any) -> None:
        if self._graph is None:
            return
        for kt, shape in zip(self._graph.flat_inputs, _flat_shapes(input_shape)):
            _compare_shape(self, kt, shape)

    def _build_from_data(self, data: Any) -> None:
        """Build a model that has no input shape yet from the first data it sees."""
        if self.built and self._graph is not None:
            return
        if isinstance(data, data_adapter.ArrayData):
            sample = backend.map_structure(lambda t: t[:2], data.x)
        else:
            sample = data.peek()[0]
        self._build_from_sample(sample)

    def _build_from_sample(self, sample: Any) -> None:
        was_training = self.training
        self.eval()
        with torch.no_grad():
            Layer.__call__(self, sample, training=False)
        self.train(was_training)
        self.built = True

    def _check_inputs(self, x: Any) -> None:
        if self._graph is None:
            return
        for kt, t in zip(self._graph.flat_inputs, self._match_inputs(x)):
            _compare_shape(self, kt, tuple(t.shape))

    def _maybe_build(self, input_shape: Any) -> None:
        # A subclassed model's layers build themselves during its first call.
        if not self.built:
            self._build_shape = input_shape
            self.built = True

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model for inputs of `input_shape` by calling it on zeros."""
        if self._graph is not None or input_shape is None:
            self.built = True
            return
        shape = tuple(1 if d is None else d for d in input_shape)
        self._build_from_sample(torch.zeros(shape, device=backend.get_device()))

    # ---------------------------------------------------------------- user API
    def summary(
        self,
        line_length: int | None = None,
        positions: list[float] | None = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Print Keras 3's summary table: layers, output shapes, parameter counts and sizes.

        Args:
            line_length: total width (default 88, or 108 for non-sequential graphs).
            positions: relative column ends (default Keras's).
            print_fn: function called with the whole summary text (default print).
            expand_nested: also list the layers inside nested models.
            show_trainable: add a column telling whether each layer is trainable.
            layer_range: (first, last) layer names to show.
        """
        from nerve.utils.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def get_config(self) -> dict[str, Any]:
        """The model's config: for functional models, the layers and how they connect."""
        if self._graph is not None:
            from nerve.models.config import functional_config

            return functional_config(self)
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Model":
        """Create a model from `get_config()` output (a functional graph is rebuilt)."""
        if "input_layers" in config and "layers" in config:
            from nerve.models.config import functional_from_config

            return functional_from_config(cls, config, custom_objects)
        return cls(**config)

    # ---------------------------------------------------------------- saving
    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True, **kwargs: Any) -> None:
        """Save the whole model (architecture, weights, compile settings, optimizer state).

        Args:
            filepath: a name ending in `.keras`, `.h5` or `.hdf5`.
            overwrite: replace an existing file (default True).
            include_optimizer: also save the optimizer state (default True).

        Example:
            >>> model.save("my_model.h5")
            >>> new_model = nerve.models.load_model("my_model.h5")
        """
        from nerve.saving import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Save the weights only, to `name.weights.h5` (any `.h5` name is accepted)."""
        from nerve.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights from a weights file or a saved model, checked layer by layer.

        Raises:
            ValueError: naming the first layer whose weights do not fit, with both shapes.
        """
        from nerve.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as a JSON string (`nerve.models.model_from_json` rebuilds it)."""
        import json

        from nerve.saving import serialize_object

        return json.dumps(serialize_object(self), **kwargs)

    def to_yaml(self, **kwargs: Any) -> str:
        """The architecture as YAML (`nerve.models.model_from_yaml` reads it back safely)."""
        import json

        import yaml

        return yaml.safe_dump(json.loads(self.to_json()), **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _module_key(name: str, existing: dict) -> str:
    key = name.replace(".", "_")
    base, i = key, 1
    while key in existing:
        key = f"{base}_{i}"
        i += 1
    return key


def _compare_shape(model: Model, kt: KerasTensor, shape: tuple) -> None:
    expected = kt.shape
    ok = len(expected) == len(shape) and all(e is None or e == s for e, s in zip(expected[1:], shape[1:]))
    if ok:
        return
    consumer = None
    for layer in model.layers:
        for node in layer._inbound_nodes:
            if any(t is kt for t in node.input_tensors) and not isinstance(layer, InputLayer):
                consumer = layer
                break
        if consumer is not None:
            break
    where = f"layer '{consumer.name}' ({type(consumer).__name__})" if consumer is not None else f"input '{kt.name}'"
    hint = ""
    if len(shape) > len(expected) and len(expected) == 2:
        hint = " Add a Flatten() layer first, or reshape the data to (n, %d)." % int(np.prod(shape[1:]))
    raise ValueError(
        f"Input '{kt.name}' of model '{model.name}' is incompatible with {where}: expected shape "
        f"{expected}, received data of shape {tuple(shape)}.{hint}"
    )
