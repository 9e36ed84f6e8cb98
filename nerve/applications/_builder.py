"""What every model builder shares: argument checks, the input, the classifier head, the weights.

Each builder (`VGG16`, `ResNet50`, `LeNet5`, ...) only stacks its own layers
between `model_input` and `classifier_head`, then hands the model to
`load_weights_argument` (the file having been found by `weights_file` before
any layer was made), so the rules for `weights`, `input_shape`,
`input_tensor`, `include_top`, `pooling` and `classes` are written once, with
Keras 3's semantics and messages that say how to fix the call.
"""

from __future__ import annotations

import os
from typing import Any

from nerve import activations, backend
from nerve.graph.node import KerasTensor
from nerve.layers.dense import Dense
from nerve.layers.input_layer import Input
from nerve.layers.reshaping import Flatten

Shape = tuple[int | None, ...]

#: Channel axis of the images: nerve's applications are channels-last, like Keras's default.
CHANNEL_AXIS = 3


def check_arguments(
    model: str,
    weights: Any,
    include_top: bool,
    classes: int,
    classifier_activation: Any,
    pooling: str | None,
    *,
    pretrained: bool,
    pretrained_classes: int = 1000,
) -> None:
    """Validate the arguments every builder takes; `pretrained` says whether 'imagenet' exists for it."""
    if weights == "imagenet" and not pretrained:
        raise ValueError(
            f"{model} has no published ImageNet weights. Use weights=None (random initialization) or the "
            f"path to a weights file saved with model.save_weights(...). Received: weights='imagenet'"
        )
    if not (weights in (None, "imagenet") or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        options = "None (random initialization), 'imagenet' (pre-trained on ImageNet), " if pretrained else \
            "None (random initialization) "
        raise ValueError(
            f"{model}: the `weights` argument should be {options}or the path to an existing weights file. "
            f"Received: weights={weights!r}" + (" (no such file)" if isinstance(weights, str) else "")
        )
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"{model}: `classes` must be a positive integer. Received: classes={classes!r}")
    if weights == "imagenet" and include_top and classes != pretrained_classes:
        raise ValueError(
            f"{model}: with weights='imagenet' and include_top=True, `classes` must be {pretrained_classes} "
            f"(the ImageNet classes). For another number of classes use include_top=False and add your own "
            f"head. Received: classes={classes}"
        )
    if weights == "imagenet" and include_top and activations.get(classifier_activation) not in (
            activations.get("softmax"), activations.get(None)):
        raise ValueError(
            f"{model}: with pre-trained weights and include_top=True, `classifier_activation` must be None "
            f"or 'softmax'. Received: classifier_activation={classifier_activation!r}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(
            f"{model}: `pooling` must be None, 'avg' or 'max' (used when include_top=False). "
            f"Received: pooling={pooling!r}"
        )


def image_input_shape(
    model: str,
    input_shape: Any,
    *,
    default_size: int,
    min_size: int,
    include_top: bool,
    weights: Any,
    channels: int = 3,
) -> Shape:
    """The shape of one image (h, w, c), checked as Keras's applications check it."""
    default = (default_size, default_size, channels)
    if weights == "imagenet" and include_top:
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError(
                f"{model}: with include_top=True and weights='imagenet', `input_shape` must be {default} "
                f"(the classifier was trained on that size). Use include_top=False for other sizes. "
                f"Received: input_shape={input_shape}"
            )
        return default
    if input_shape is None:
        return default if include_top else (None, None, channels)
    shape = tuple(input_shape)
    if len(shape) != 3 or any(d is not None and (isinstance(d, bool) or not isinstance(d, int)) for d in shape):
        raise ValueError(
            f"{model}: `input_shape` must be a tuple of three integers (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    if weights == "imagenet" and shape[-1] != channels:
        raise ValueError(
            f"{model}: the ImageNet weights take {channels}-channel images. Received: input_shape={input_shape}"
        )
    if any(d is not None and d < min_size for d in shape[:2]):
        raise ValueError(
            f"{model}: the input must be at least {min_size}x{min_size} pixels. Received: input_shape={input_shape}"
        )
    if include_top and None in shape:
        raise ValueError(
            f"{model}: with include_top=True the classifier needs a static `input_shape`. "
            f"Received: input_shape={input_shape}"
        )
    return shape


def model_input(model: str, input_tensor: Any, shape: Shape) -> tuple[KerasTensor, Any]:
    """(tensor the layers start from, inputs of the Model): a new Input, or `input_tensor`'s graph."""
    if input_tensor is None:
        return Input(shape=shape), None
    if not isinstance(input_tensor, KerasTensor):
        raise TypeError(
            f"{model}: `input_tensor` must be a symbolic tensor, e.g. nerve.Input(shape=(224, 224, 3)) or the "
            f"output of a layer called on one. Received: input_tensor of type {type(input_tensor).__name__}"
        )
    return input_tensor, _source_inputs(input_tensor)


def _source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The Input tensors that `tensor` is computed from (Keras's get_source_inputs)."""
    found: list[KerasTensor] = []
    stack, seen = [tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if node is None or node.is_input:
            if not any(t is f for f in found):
                found.append(t)
        else:
            stack.extend(reversed(node.input_tensors))
    return found


def classifier_head(
    x: Any,
    *,
    include_top: bool,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    flatten: bool = False,
    pool_names: tuple[str | None, str | None] = (None, None),
    hidden: tuple[tuple[str, int], ...] = (),
) -> Any:
    """The top: pooling (or Flatten and hidden Dense layers) then `predictions`; or pooling only without top."""
    from nerve.layers.pooling import GlobalAveragePooling2D, GlobalMaxPooling2D

    def pool(kind: str) -> Any:
        # Keras's default names, spelled out: nerve's snake-casing of "Pooling2D" differs ("pooling2_d").
        if kind == "avg":
            return GlobalAveragePooling2D(name=pool_names[0] or backend.unique_name("global_average_pooling2d"))(x)
        return GlobalMaxPooling2D(name=pool_names[1] or backend.unique_name("global_max_pooling2d"))(x)

    if not include_top:
        return pool(pooling) if pooling else x
    if flatten:
        x = Flatten(name="flatten")(x)
    else:
        x = pool("avg")  # as in Keras, `pooling` only applies without the top
    for name, units in hidden:
        x = Dense(units, activation="relu", name=name)(x)
    return Dense(classes, activation=classifier_activation, name="predictions")(x)


def make_model(inputs: KerasTensor, sources: Any, outputs: Any, name: str) -> Any:
    """The functional model from the input (or `input_tensor`'s sources) to `outputs`."""
    from nerve.models.model import Model

    return Model(inputs if sources is None else (sources[0] if len(sources) == 1 else sources), outputs, name=name)


def weights_file(weights: Any, arch: str | None, include_top: bool) -> str | None:
    """The file `weights` names: None, Keras's ImageNet file for `arch` (fetched now, before building), or the path.

    Builders call it before creating any layer, so a missing download fails fast.
    """
    if weights is None:
        return None
    if weights == "imagenet":
        from nerve.applications import _weights

        assert arch is not None
        return _weights.fetch(arch, include_top)
    return os.fspath(weights)


def load_weights_argument(model: Any, weights: Any, path: str | None) -> Any:
    """Load `path` (from `weights_file`) into the built model: Keras's legacy file for 'imagenet', else load_weights."""
    if path is None:
        return model
    if weights == "imagenet":
        from nerve.applications import _weights

        _weights.load_pretrained(model, path)
    else:
        model.load_weights(path)
    return model
