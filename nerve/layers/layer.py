"""The Layer base class: Keras's lifecycle on a torch.nn.Module.

Every layer follows one lifecycle: `__init__` validates and stores arguments,
`build(input_shape)` creates weights with `add_weight`, `call(inputs)` does the
math on torch tensors, and `get_config()` returns what `__init__` needs.

A Layer is a `torch.nn.Module`: its weights are registered `torch.nn.Parameter`s
(in Keras's layout, e.g. a Dense kernel is `(in, out)`), so `.parameters()`,
`.to(device)`, `state_dict()`, DDP and `torch.compile` all work on nerve models.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Iterable

import numpy as np
import torch

from nerve import backend, initializers, regularizers
from nerve.backend import Variable
from nerve.graph.node import KerasTensor, Node

__all__ = ["Layer"]

Shape = tuple[int | None, ...]

_BASE_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "autocast", "weights")


class _CallContext:
    """Carries `training` from an outer call to layers called inside it."""

    training: bool = False


_CONTEXT = _CallContext()


def _shape_of(x: Any) -> Any:
    return backend.map_structure(lambda t: tuple(t.shape), x)


class Layer(torch.nn.Module):
    """Base class of all layers.

    Args:
        name: the layer's name; by default the snake-cased class name made
            unique per session (`dense`, `dense_1`, ...).
        trainable: whether its weights are updated by training (default True).
        dtype: the dtype of its weights (default `backend.floatx()`).
        activity_regularizer: optional penalty on the layer's output.
        input_shape: the shape of one sample, for the first layer of a
            `Sequential` model (Keras 2 style, accepted as in Keras 3).

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.w.value
    """

    # Layers that take integer inputs (e.g. embeddings) set this to keep their dtype.
    _keep_input_dtype = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # As in Keras, calling `layer.build(shape)` directly marks the layer built,
        # so the next call does not build (and create weights) again.
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is None or getattr(build, "_marks_built", False):
            return

        @functools.wraps(build)
        def build_and_mark(self: "Layer", *args: Any, **kw: Any) -> Any:
            result = build(self, *args, **kw)
            self.built = True
            if args and self._build_shape is None:
                self._build_shape = args[0]
            return result

        build_and_mark._marks_built = True  # type: ignore[attr-defined]
        cls.build = build_and_mark  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        unknown = [k for k in kwargs if k not in _BASE_KWARGS]
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s) {unknown}. "
                f"Received: {', '.join(f'{k}={kwargs[k]!r}' for k in unknown)}"
            )
        super().__init__()
        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = backend.standardize_dtype(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self._trainable_vars: list[Variable] = []
        self._non_trainable_vars: list[Variable] = []
        self._weight_regularizers: list[tuple[Variable, Any]] = []
        self._inbound_nodes: list[Node] = []
        self._build_shape: Any = None
        self._activity_losses: list[torch.Tensor] = []
        params = inspect.signature(self.call).parameters
        self._call_has_training = "training" in params
        positional = [n for n, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        # `layer(x, True)`: index of `training` among the call's positional arguments, if there.
        self._training_position = positional.index("training") if "training" in positional else None
        input_shape = kwargs.get("input_shape") or kwargs.get("batch_input_shape")
        if kwargs.get("input_dim") is not None:
            input_shape = (kwargs["input_dim"],)
        if input_shape is not None:
            if "batch_input_shape" in kwargs:
                self._input_shape_arg = tuple(input_shape)
            else:
                self._input_shape_arg = (kwargs.get("batch_size"),) + tuple(input_shape)
        else:
            self._input_shape_arg = None

    # ------------------------------------------------------------ attributes
    def __setattr__(self, name: str, value: Any) -> None:
        if "_modules" not in self.__dict__ or name.startswith("_"):
            super().__setattr__(name, value)
            return
        if isinstance(value, Variable):
            if name not in self._parameters:
                self._track_variable(name, value)
            # The Parameter is registered under the same name; the attribute gives the Variable.
            object.__setattr__(self, name, value)
            return
        if type(value) is list:
            value = _TrackedList(self, name, value)
        elif type(value) is dict:
            value = _TrackedDict(self, name, value)
        elif type(value) is tuple:
            for i, item in enumerate(value):
                if isinstance(item, Layer):
                    self.add_module(f"{name}_{i}", item)
        super().__setattr__(name, value)

    def _track_variable(self, name: str, var: Variable) -> None:
        """Adopt a Variable assigned as an attribute (`self.w = nerve.Variable(...)`), as Keras does."""
        if any(var is v for v in self._trainable_vars + self._non_trainable_vars):
            return
        tensor = var.value
        if tensor.is_floating_point() and not isinstance(tensor, torch.nn.Parameter):
            tensor = torch.nn.Parameter(tensor.detach(), requires_grad=bool(var.trainable and self._trainable))
            var._value = tensor
        if isinstance(tensor, torch.nn.Parameter):
            self.register_parameter(name, tensor)
        var.path = f"{self.name}/{var.name}"
        (self._trainable_vars if var.trainable else self._non_trainable_vars).append(var)
        self.built = True

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights, e.g. `"float32"`."""
        return str(self._dtype).replace("torch.", "")

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights. Setting it applies to sublayers."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for v in self._trainable_vars:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self) -> list["Layer"]:
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    @property
    def layers(self) -> list["Layer"]:
        """The layers this layer is made of (empty for simple layers)."""
        return self._sublayers()

    # ------------------------------------------------------------ weights
    def add_weight(
        self,
        shape: Iterable[int] | None = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Variable:
        """Create a weight, register it as a Parameter and return its Variable.

        Args:
            shape: the weight's shape in Keras's layout (default `()`).
            initializer: a name, Initializer or callable (default
                "glorot_uniform" for floats, as in Keras; "zeros" if 1-D bias-like
                weights pass "zeros" explicitly).
            dtype: the weight's dtype (default the layer's).
            trainable: whether optimizers update it (default True).
            regularizer: optional penalty added to the loss.
            constraint: optional callable applied after each optimizer step.
            name: the short name, e.g. "kernel".
        """
        shape = tuple(int(s) for s in (shape or ()))
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        dtype = backend.standardize_dtype(dtype) if dtype is not None else self._dtype
        value = init(shape, dtype=dtype) if callable(init) else None
        if not isinstance(value, torch.Tensor):
            value = backend.convert_to_tensor(value, dtype=dtype, device=torch.device("cpu"))
        if tuple(value.shape) != shape:
            raise ValueError(
                f"Initializer of weight '{name}' in layer '{self.name}' returned shape "
                f"{tuple(value.shape)}, expected {shape}."
            )
        name = name or f"variable_{len(self._trainable_vars) + len(self._non_trainable_vars)}"
        if self.__dict__.get(name, 0) is None:
            del self.__dict__[name]  # e.g. `self.bias = None` set before building
        attr = name
        i = 1
        while attr in self._parameters or attr in self._modules:
            attr = f"{name}_{i}"
            i += 1
        param = torch.nn.Parameter(
            value.to(backend.get_device()), requires_grad=bool(trainable and self._trainable)
        )
        self.register_parameter(attr, param)
        var = Variable(param, name=name, trainable=bool(trainable and self._trainable), path=f"{self.name}/{name}")
        var.constraint = constraint
        (self._trainable_vars if trainable else self._non_trainable_vars).append(var)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._weight_regularizers.append((var, reg))
        return var

    @property
    def weights(self) -> list[Variable]:
        """All weights: own trainable, own non-trainable, then sublayers' (Keras's order)."""
        out: list[Variable] = []
        seen: set[int] = set()
        for v in self._trainable_vars + self._non_trainable_vars:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        """Weights that training updates."""
        return [v for v in self.weights if v.trainable] if self.trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """Weights that training leaves alone (e.g. frozen layers, moving statistics)."""
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """Return the weights as numpy arrays, in Keras's order and layout."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Set the weights from a list of arrays, as returned by `get_weights()`.

        Raises:
            ValueError: if the number of arrays or any shape differs; the
                message names the layer, the weight and both shapes.
        """
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expects {len(own)} weight arrays "
                f"({[v.path for v in own]}), but received {len(weights)}."
            )
        for var, value in zip(own, weights):
            shape = tuple(np.shape(value))
            if shape != var.shape:
                raise ValueError(
                    f"Weight '{var.path}' of layer '{self.name}' has shape {var.shape}, "
                    f"but the array given for it has shape {shape}."
                )
        for var, value in zip(own, weights):
            var.assign(value)

    def count_params(self) -> int:
        """Total number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no weights to count. "
                "Call it on data or build it with `layer.build(input_shape)` first."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization penalties of this layer and its sublayers, as tensors."""
        out = [reg(var.value) for var, reg in self._weight_regularizers]
        out.extend(self._activity_losses)
        for layer in self._sublayers():
            out.extend(layer.losses)
        return out

    # ------------------------------------------------------------ lifecycle
    def build(self, input_shape: Any) -> None:
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation on torch tensors (override in subclasses)."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for `input_shape`; by default found by running `call` on zeros.

        Unknown sizes (None) are tried at two values; output sizes that follow
        them are reported as None.
        """
        def run(size: int) -> tuple[Any, list[tuple[int, ...]]]:
            def dummy(shape: Shape) -> torch.Tensor:
                return torch.zeros([size if d is None else d for d in shape], dtype=self._dtype,
                                   device=self._device())

            with torch.no_grad():
                out = self.call(_map_shapes(dummy, input_shape))
            return out, [tuple(t.shape) for t in backend.flatten(out)]

        was_training = self.training
        self.eval()
        try:
            out, first = run(2)
            has_unknown = any(d is None for shape in _flat_shapes(input_shape) for d in shape)
            second = run(3)[1] if has_unknown else first
        finally:
            self.train(was_training)
        resolved = iter([tuple(None if a != b else a for a, b in zip(s1, s2)) for s1, s2 in zip(first, second)])
        return backend.map_structure(lambda _: next(resolved), out)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return backend.get_device()

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        self._build_shape = input_shape
        arg = input_shape
        if isinstance(input_shape, tuple) and _is_shape(input_shape):
            arg = tuple(input_shape)
        self.build(arg)
        self.built = True

    def _check_input_shape(self, input_shape: Any) -> None:
        """Raise a ValueError if `input_shape` does not fit the built layer (override)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            if "inputs" in kwargs:
                args = (kwargs.pop("inputs"),)
            else:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
        inputs = args[0]
        if any(isinstance(t, KerasTensor) for t in backend.flatten(inputs)):
            return self._symbolic_call(args, kwargs)
        pos = self._training_position
        if pos is not None and len(args) > pos:
            kwargs["training"] = args[pos]
            args = args[:pos] + args[pos + 1:]
        training = kwargs.pop("training", None)
        if training is None:
            training = _CONTEXT.training
        # Arrays and lists become tensors of the layer's dtype, as Keras converts them.
        inputs = backend.map_structure(
            lambda t: t if isinstance(t, torch.Tensor) else backend.convert_to_tensor(
                t, dtype=None if self._keep_input_dtype else self._dtype), inputs
        )
        if not self.built:
            self._maybe_build(_shape_of(inputs))
        outer = _CONTEXT.training
        _CONTEXT.training = bool(training)
        try:
            return self._run(inputs, args[1:], kwargs, bool(training))
        finally:
            _CONTEXT.training = outer

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """torch.nn.Module entry point; same as calling the layer."""
        return self.__call__(*args, **kwargs)

    def _run(self, inputs: Any, args: tuple, kwargs: dict, training: bool) -> Any:
        """Run `call` on concrete tensors of an already built layer (the hot path)."""
        if self._call_has_training:
            kwargs = {**kwargs, "training": training}
        try:
            out = self.call(inputs, *args, **kwargs)
        except RuntimeError as err:
            if any(word in str(err) for word in ("shape", "size", "elements", "dimension")):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) could not process its input: "
                    f"it was built for input shape {_any_batch(self._build_shape)}, and received input of "
                    f"shape {_shape_of(inputs)}. Give it data shaped like the data it was built on, or "
                    f"create a new layer for the new shape. ({err})"
                ) from err
            raise
        if self.activity_regularizer is not None and training:
            self._activity_losses = [self.activity_regularizer(t) / t.shape[0] for t in backend.flatten(out)]
        return out

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        inputs = args[0]
        input_shape = backend.map_structure(
            lambda t: t.shape if isinstance(t, KerasTensor) else tuple(t.shape), inputs
        )
        if not self.built:
            self._maybe_build(input_shape)
        self._check_input_shape(input_shape)
        try:
            out_shape = self.compute_output_shape(input_shape)
        except (RuntimeError, ValueError) as err:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot take input of shape {input_shape}"
                + (f"; it was built for {self._build_shape}" if self._build_shape is not None else "")
                + f". ({err})"
            ) from err
        outputs = _map_shapes(
            lambda shape: KerasTensor(shape, dtype=self.dtype, name=self.name), out_shape
        )
        Node(self, args, kwargs, outputs)
        return outputs

    # ------------------------------------------------------------ graph info
    def _node_attr(self, attr: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input, so it has no {attr}."
            )
        node = self._inbound_nodes[0]
        if attr == "input":
            return node.args[0]
        return node.outputs

    @property
    def input(self) -> Any:
        """The symbolic input of the layer's first call."""
        return self._node_attr("input")

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's first call."""
        return self._node_attr("output")

    @property
    def input_shape(self) -> Any:
        """The input shape the layer was built for, batch dimension first."""
        if self._build_shape is not None:
            return self._build_shape
        return backend.map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        """The output shape of the layer's first call, batch dimension first."""
        if self._inbound_nodes:
            return backend.map_structure(lambda t: t.shape, self.output)
        if self._build_shape is not None:
            return self.compute_output_shape(self._build_shape)
        raise AttributeError(f"Layer '{self.name}' is not built, so it has no output shape.")

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The arguments that recreate this layer (without its weights)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        """Create a layer from the output of `get_config()` (Keras 3 configs included)."""
        config = dict(config)
        dtype = config.get("dtype")
        if isinstance(dtype, dict):  # Keras 3 writes a DTypePolicy config
            config["dtype"] = dtype.get("config", {}).get("name", "float32")
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    def __repr__(self) -> str:
        if not self._modules:
            return f"<{type(self).__name__} name={self.name}, built={self.built}>"
        return super().__repr__()


class _TrackedList(list):
    """A list attribute of a layer: layers appended to it become its sublayers."""

    def __init__(self, owner: "Layer", name: str, items: Any = ()) -> None:
        super().__init__()
        self._owner, self._name, self._count = owner, name, 0
        self.extend(items)

    def _track(self, value: Any) -> None:
        if isinstance(value, Layer):
            self._owner.add_module(f"{self._name}_{self._count}", value)
            self._count += 1

    def append(self, value: Any) -> None:
        super().append(value)
        self._track(value)

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    def insert(self, index: Any, value: Any) -> None:
        super().insert(index, value)
        self._track(value)

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        for item in value if isinstance(index, slice) else [value]:
            self._track(item)

    def __iadd__(self, values: Any) -> "_TrackedList":
        self.extend(values)
        return self


class _TrackedDict(dict):
    """A dict attribute of a layer: layers stored in it become its sublayers."""

    def __init__(self, owner: "Layer", name: str, items: Any = ()) -> None:
        super().__init__()
        self._owner, self._name = owner, name
        self.update(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if isinstance(value, Layer):
            self._owner.add_module(f"{self._name}_{key}".replace(".", "_"), value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


def _any_batch(shapes: Any) -> Any:
    """A built shape with its batch axis shown as None (layers built from data record a sample's size)."""
    try:
        return _map_shapes(lambda s: (None,) + tuple(s[1:]) if len(s) else s, shapes)
    except TypeError:
        return shapes


def _is_shape(x: Any) -> bool:
    return isinstance(x, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in x)


def _flat_shapes(shapes: Any) -> list[tuple]:
    if _is_shape(shapes):
        return [shapes]
    if isinstance(shapes, dict):
        return [s for v in shapes.values() for s in _flat_shapes(v)]
    return [s for v in shapes for s in _flat_shapes(v)]


def _map_shapes(fn: Any, shapes: Any) -> Any:
    if _is_shape(shapes):
        return fn(shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    raise TypeError(f"Not a shape: {shapes!r}")
