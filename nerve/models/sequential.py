"""Sequential: a stack of layers, turned into the functional graph once its input shape is known."""

from __future__ import annotations

from typing import Any, Iterable

from nerve import backend
from nerve.graph.graph import Graph
from nerve.graph.node import KerasTensor
from nerve.layers.input_layer import InputLayer
from nerve.layers.layer import Layer
from nerve.models.model import Model, _module_key

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers.

    The input shape comes from an `Input`/`InputLayer` at the start, from the
    first layer's `input_shape=`, or, if none is given, from the first data
    passed to `fit`, `evaluate`, `predict` or a call. The stack then becomes a
    functional graph, so Sequential and functional models share one runner.

    Args:
        layers: optional list of layers (an `Input` tensor may come first).
        name: the model's name (default "sequential", "sequential_1", ...).
        trainable: whether training updates its weights (default True).

    Example:
        >>> model = Sequential()
        >>> model.add(Flatten())
        >>> model.add(Dense(64, activation="relu"))
        >>> model.add(Dense(10, activation="softmax"))
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, layers: Iterable[Any] | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name or backend.unique_name("sequential"), **kwargs)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        for layer in layers or ():
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or an `Input` tensor / `InputLayer` as the first item).

        Raises:
            ValueError: for an Input that is not first, or a layer already in the model.
        """
        if isinstance(layer, KerasTensor):
            history = layer._history
            if history is None or not isinstance(history.layer, InputLayer):
                raise ValueError(
                    "Sequential.add() accepts layers and nerve.Input(...) tensors only. "
                    f"Received: {layer!r}"
                )
            layer = history.layer
        if not isinstance(layer, Layer):
            raise TypeError(
                "Sequential.add() expects a layer, e.g. model.add(Dense(10)). "
                f"Received: {layer!r} of type {type(layer).__name__}"
            )
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(
                    f"An Input/InputLayer must come first in a Sequential model; '{self.name}' already "
                    f"has layers {[lay.name for lay in self._layers]}. Received: {layer.name}"
                )
            self._input_layer = layer
        else:
            if any(existing is layer for existing in self._layers):
                raise ValueError(f"Layer '{layer.name}' is already in model '{self.name}'; create a new one.")
            self._layers.append(layer)
            self.add_module(_module_key(layer.name, self._modules), layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError(f"There are no layers in model '{self.name}' to pop.")
        layer = self._layers.pop()
        for key, module in list(self._modules.items()):
            if module is layer:
                del self._modules[key]
        self._graph = None
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, without the InputLayer (as in Keras)."""
        return list(self._layers)

    def _input_batch_shape(self) -> tuple[int | None, ...] | None:
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._layers and self._layers[0]._input_shape_arg is not None:
            return self._layers[0]._input_shape_arg
        first = self._layers[0] if self._layers else None
        graph = getattr(first, "_graph", None)
        if graph is not None and len(graph.flat_inputs) == 1:  # a model used as the first layer
            return graph.flat_inputs[0].shape
        if self._build_shape is not None:
            return self._build_shape
        return None

    def _maybe_rebuild(self) -> None:
        shape = self._input_batch_shape()
        if shape is not None and self._layers:
            self.build(shape)

    def build(self, input_shape: Any = None) -> None:
        """Build the graph for inputs of `input_shape` (batch dimension first)."""
        if input_shape is None:
            input_shape = self._input_batch_shape()
        if input_shape is None:
            raise ValueError(
                f"Cannot build Sequential model '{self.name}' without an input shape: add "
                "nerve.Input(shape=...) first, or pass data to fit/predict."
            )
        input_shape = tuple(input_shape)
        if self._input_layer is None or self._input_layer.batch_shape != input_shape:
            if self._input_layer is None or self._input_layer.batch_shape[1:] != input_shape[1:]:
                self._input_layer = InputLayer(batch_shape=(None,) + input_shape[1:],
                                               name=backend.unique_name("input_layer"))
        x = self._input_layer.output_tensor
        inputs = x
        for layer in self._layers:
            x = layer(x)
        self._graph = Graph(inputs, x)
        self.built = True
        self._build_shape = self._input_layer.batch_shape

    def _maybe_build(self, input_shape: Any) -> None:
        # Called (eagerly or inside another model) before its input shape was known.
        if self._graph is None:
            self.build((None,) + tuple(input_shape[1:]))

    def _build_from_sample(self, sample: Any) -> None:
        if self._graph is None:
            self.build((None,) + tuple(sample.shape[1:]))

    def get_config(self) -> dict[str, Any]:
        """The layers (the InputLayer first, if any) and the build input shape, as in Keras 3."""
        from nerve.saving.serialization import serialize_object

        layers = [serialize_object(self._input_layer)] if self._input_layer is not None else []
        layers += [serialize_object(layer) for layer in self._layers]
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "layers": layers}
        if self._build_shape is not None:
            config["build_input_shape"] = self._build_shape
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Sequential":
        """Create a Sequential model from `get_config()` output."""
        from nerve.saving.serialization import _as_shape, deserialize_object

        model = cls(name=config.get("name"))
        for entry in config.get("layers", []):
            model.add(deserialize_object(entry, custom_objects), rebuild=False)
        shape = config.get("build_input_shape")
        if model._input_batch_shape() is not None:
            model.build()
        elif shape is not None:
            model.build(_as_shape(shape))
        if config.get("trainable") is False:  # True would unfreeze frozen layers
            model.trainable = config["trainable"]
        return model
