"""VGG16 with Keras's layer names (so Keras's ImageNet weights load), and a small VGG-style net for digits."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nerve.applications import _builder
from nerve.graph.node import KerasTensor
from nerve.layers.layer import Layer
from nerve.saving.object_registration import register_nerve_serializable

__all__ = ["SmallVGG", "VGG16", "VGGStyle", "preprocess_input"]

# (filters, convolutions) of VGG16's five blocks.
_VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
# Mean pixel (B, G, R) of ImageNet, subtracted by the "caffe" preprocessing of VGG16 and ResNet50.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def VGG16(  # noqa: N802 - Keras's name
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg16",
) -> Any:
    """VGG16 (Simonyan & Zisserman, 2014), layer for layer as `keras.applications.VGG16`.

    Thirteen 3x3 `relu` convolutions in five blocks (`block1_conv1` ...
    `block5_pool`), then `flatten`, `fc1`, `fc2` (4096 units each) and
    `predictions`. Layer names and weight shapes are Keras's, so Keras's
    published weights and weights saved from `keras.applications.VGG16` load.

    Args:
        include_top: keep the three dense layers at the top (default True).
        weights: None (random initialization, the default), "imagenet"
            (Keras's published ImageNet weights, downloaded once into
            `~/.nerve/models`; see `nerve.applications._weights`), or the path
            of a weights file to load.
        input_tensor: optional symbolic tensor (e.g. `nerve.Input(...)`) to
            use as the image input.
        input_shape: shape of one image `(height, width, channels)`, at least
            32x32; default `(224, 224, 3)`, or `(None, None, 3)` without the top.
        pooling: without the top, None (4-D output), "avg" or "max" (global
            pooling to a 2-D output).
        classes: number of classes with the top (default 1000; must be 1000
            with weights="imagenet").
        classifier_activation: activation of `predictions` (default "softmax";
            None gives logits).
        name: the model's name (default "vgg16").

    Input shape: `(batch, height, width, channels)`, pixels preprocessed with
    `preprocess_input` for the ImageNet weights. Output shape: `(batch, classes)`
    with the top; `(batch, h/32, w/32, 512)` or `(batch, 512)` with `pooling` without it.

    Example:
        >>> base = VGG16(include_top=False, weights="imagenet", input_shape=(64, 64, 3), pooling="avg")
        >>> base.trainable = False
    """
    _builder.check_arguments("VGG16", weights, include_top, classes, classifier_activation, pooling,
                             pretrained=True)
    from nerve.layers.conv import Conv2D
    from nerve.layers.pooling import MaxPooling2D

    shape = _builder.image_input_shape("VGG16", input_shape, default_size=224, min_size=32,
                                       include_top=include_top, weights=weights)
    path = _builder.weights_file(weights, "vgg16", include_top)
    inputs, sources = _builder.model_input("VGG16", input_tensor, shape)
    x = inputs
    for b, (filters, convs) in enumerate(_VGG16_BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{b}_conv{c}")(x)
        x = MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)
    x = _builder.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                 classifier_activation=classifier_activation, flatten=True,
                                 hidden=(("fc1", 4096), ("fc2", 4096)))
    model = _builder.make_model(inputs, sources, x, name)
    return _builder.load_weights_argument(model, weights, path)


def VGGStyle(  # noqa: N802 - named like the Keras builders
    input_shape: tuple[int | None, ...] = (28, 28, 1),
    classes: int = 10,
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    *,
    blocks: tuple[int, ...] = (32, 64),
    convs_per_block: int = 2,
    dense_units: int | None = 128,
    dropout: float = 0.0,
    batch_norm: bool = False,
    classifier_activation: Any = "softmax",
    name: str = "vgg_style",
) -> Any:
    """A small VGG-style network for MNIST- or digits-sized images.

    Each block is `convs_per_block` 3x3 `same` convolutions (`block{i}_conv{j}`,
    with `block{i}_bn{j}` before the `relu` if `batch_norm`), a 2x2 max pooling
    (`block{i}_pool`) and, if `dropout > 0`, a Dropout (`block{i}_dropout`).
    The top is `flatten`, `fc1` (`dense_units` relu units, skipped if None),
    `fc1_dropout` (if `dropout > 0`) and `predictions`.

    Args:
        input_shape: shape of one image (default `(28, 28, 1)`); each block
            halves height and width, so inputs need at least `2**len(blocks)` pixels a side.
        classes: number of classes (default 10).
        include_top: keep the dense layers (default True).
        weights: None (default) or the path of weights saved with `model.save_weights`.
        input_tensor: optional symbolic tensor to use as the input.
        pooling: without the top, None, "avg" or "max".
        blocks: filters of each block (default `(32, 64)`).
        convs_per_block: convolutions per block (default 2).
        dense_units: units of `fc1` (default 128; None for no hidden dense layer).
        dropout: dropout rate after each block and after `fc1` (default 0.0: none).
        batch_norm: batch-normalize each convolution (default False).
        classifier_activation: activation of `predictions` (default "softmax").
        name: the model's name (default "vgg_style").

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, classes)`
    with the top; the last block's feature map (or its pooling) without it.

    Example:
        >>> model = VGGStyle(input_shape=(8, 8, 1), classes=10, dropout=0.25)
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    _builder.check_arguments("VGGStyle", weights, include_top, classes, classifier_activation, pooling,
                             pretrained=False)
    if not blocks or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in blocks):
        raise ValueError(f"VGGStyle: `blocks` must be a non-empty tuple of positive filter counts. "
                         f"Received: blocks={blocks!r}")
    if isinstance(convs_per_block, bool) or not isinstance(convs_per_block, int) or convs_per_block < 1:
        raise ValueError(f"VGGStyle: `convs_per_block` must be a positive integer. "
                         f"Received: convs_per_block={convs_per_block!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"VGGStyle: `dropout` must be in [0, 1). Received: dropout={dropout!r}")
    from nerve.layers.activation import Activation
    from nerve.layers.batch_normalization import BatchNormalization
    from nerve.layers.conv import Conv2D
    from nerve.layers.dropout import Dropout
    from nerve.layers.pooling import MaxPooling2D

    path = _builder.weights_file(weights, None, include_top)
    inputs, sources = _builder.model_input("VGGStyle", input_tensor, tuple(input_shape))
    x = inputs
    for b, filters in enumerate(blocks, start=1):
        for c in range(1, convs_per_block + 1):
            if batch_norm:
                x = Conv2D(filters, 3, padding="same", name=f"block{b}_conv{c}")(x)
                x = BatchNormalization(axis=_builder.CHANNEL_AXIS, name=f"block{b}_bn{c}")(x)
                x = Activation("relu", name=f"block{b}_relu{c}")(x)
            else:
                x = Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
        x = MaxPooling2D(2, name=f"block{b}_pool")(x)
        if dropout:
            x = Dropout(dropout, name=f"block{b}_dropout")(x)
    if include_top:
        from nerve.layers.dense import Dense
        from nerve.layers.reshaping import Flatten

        x = Flatten(name="flatten")(x)
        if dense_units:
            x = Dense(dense_units, activation="relu", name="fc1")(x)
            if dropout:
                x = Dropout(dropout, name="fc1_dropout")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _builder.classifier_head(x, include_top=False, pooling=pooling, classes=classes,
                                     classifier_activation=classifier_activation)
    model = _builder.make_model(inputs, sources, x, name)
    return _builder.load_weights_argument(model, weights, path)


#: The default VGG-style network for digits and MNIST (`VGGStyle` with its defaults).
SmallVGG = VGGStyle


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Prepare RGB images (0-255) for the ImageNet weights of VGG16 and ResNet50 ("caffe" mode).

    Flips RGB to BGR and subtracts ImageNet's mean pixel, without scaling, as
    `keras.applications.vgg16.preprocess_input`. The input is not modified.

    Args:
        x: images as a numpy array or torch tensor, `(..., height, width, 3)`
            (or `(..., 3, height, width)` with data_format="channels_first").
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        A float array (or tensor) of the same shape.

    Example:
        >>> preds = model.predict(preprocess_input(images))
    """
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first'. Received: {data_format!r}")
    if isinstance(x, KerasTensor):  # inside a functional model: a layer that saves with the model
        return CaffePreprocess(data_format=data_format)(x)
    axis = -1 if data_format == "channels_last" else (0 if np.ndim(x) == 3 else 1)
    shape = [1] * np.ndim(x)
    shape[axis] = 3
    if isinstance(x, torch.Tensor):
        x = x if x.is_floating_point() else x.float()
        mean = torch.tensor(_CAFFE_MEAN_BGR, dtype=x.dtype, device=x.device).reshape(shape)
        return x.flip(axis) - mean
    x = np.asarray(x)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype("float32")
    return np.flip(x, axis) - np.asarray(_CAFFE_MEAN_BGR, dtype=x.dtype).reshape(shape)


@register_nerve_serializable(package="nerve")
class CaffePreprocess(Layer):
    """`preprocess_input` as a layer, for `preprocess_input(keras_input)` in functional models.

    Args:
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, data_format: str = "channels_last", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return preprocess_input(inputs, data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
