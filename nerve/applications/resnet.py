"""Residual networks: ResNet50 as `keras.applications.ResNet50`, ResNet18/34 and a small ResNet in the same scheme.

Every network is built functionally from Conv2D, BatchNormalization,
Activation and Add. Layers are named as in Keras's ResNet50 —
`conv{stage}_block{i}_{j}_conv`, `..._bn`, `..._relu`, `_0_conv`/`_0_bn` for
the projection shortcut, `_add` and `_out` — so Keras's published ResNet50
weights load by name, and ResNet18/34 follow the same pattern.
"""

from __future__ import annotations

from typing import Any, Callable

from nerve.applications import _builder
from nerve.applications.vgg import preprocess_input

__all__ = ["ResNet18", "ResNet34", "ResNet50", "SmallResNet", "preprocess_input"]

_EPSILON = 1.001e-5  # Keras's ResNet batch normalization epsilon
_AXIS = _builder.CHANNEL_AXIS


def _conv_bn(x: Any, filters: int, kernel: int, name: str, strides: int = 1, padding: str = "valid",
             relu: bool = True) -> Any:
    """Conv2D `name_conv`, BatchNormalization `name_bn` and, if `relu`, Activation `name_relu`."""
    from nerve.layers.activation import Activation
    from nerve.layers.batch_normalization import BatchNormalization
    from nerve.layers.conv import Conv2D

    x = Conv2D(filters, kernel, strides=strides, padding=padding, name=f"{name}_conv")(x)
    x = BatchNormalization(axis=_AXIS, epsilon=_EPSILON, name=f"{name}_bn")(x)
    return Activation("relu", name=f"{name}_relu")(x) if relu else x


def _merge(x: Any, shortcut: Any, name: str) -> Any:
    from nerve.layers.activation import Activation
    from nerve.layers.merging import Add

    x = Add(name=f"{name}_add")([shortcut, x])
    return Activation("relu", name=f"{name}_out")(x)


def bottleneck_block(x: Any, filters: int, stride: int, conv_shortcut: bool, name: str) -> Any:
    """1x1 (stride `stride`), 3x3, 1x1 to `4 * filters`, plus the (projected) input: Keras's ResNet50 block."""
    shortcut = _conv_bn(x, 4 * filters, 1, f"{name}_0", strides=stride, relu=False) if conv_shortcut else x
    x = _conv_bn(x, filters, 1, f"{name}_1", strides=stride)
    x = _conv_bn(x, filters, 3, f"{name}_2", padding="same")
    x = _conv_bn(x, 4 * filters, 1, f"{name}_3", relu=False)
    return _merge(x, shortcut, name)


def basic_block(x: Any, filters: int, stride: int, conv_shortcut: bool, name: str) -> Any:
    """3x3 (stride `stride`), 3x3, plus the (projected) input: the block of ResNet18/34.

    A strided 3x3 convolution pads one pixel on every side first (`name_1_pad`),
    as the original ResNet (and torchvision) do, rather than Keras's asymmetric "same".
    """
    from nerve.layers.spatial import ZeroPadding2D

    shortcut = _conv_bn(x, filters, 1, f"{name}_0", strides=stride, relu=False) if conv_shortcut else x
    if stride > 1:
        x = ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_1_pad")(x)
        x = _conv_bn(x, filters, 3, f"{name}_1", strides=stride)
    else:
        x = _conv_bn(x, filters, 3, f"{name}_1", padding="same")
    x = _conv_bn(x, filters, 3, f"{name}_2", padding="same", relu=False)
    return _merge(x, shortcut, name)


def _stack(x: Any, block: Callable[..., Any], filters: int, blocks: int, stride: int, name: str,
           expansion: int) -> Any:
    """`blocks` residual blocks `name_block1` ...; the first projects the shortcut when shapes change."""
    channels = x.shape[_AXIS]
    project = stride != 1 or channels != filters * expansion
    x = block(x, filters, stride, project, f"{name}_block1")
    for i in range(2, blocks + 1):
        x = block(x, filters, 1, False, f"{name}_block{i}")
    return x


def _imagenet_stem(x: Any) -> Any:
    """7x7/2 convolution and 3x3/2 max pooling (`conv1_*`, `pool1_*`), as Keras's ResNet50."""
    from nerve.layers.pooling import MaxPooling2D
    from nerve.layers.spatial import ZeroPadding2D

    x = ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = _conv_bn(x, 64, 7, "conv1", strides=2)
    x = ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    return MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _resnet(model: str, name: str, stacks: tuple[int, ...], bottleneck: bool, include_top: bool, weights: Any,
            input_tensor: Any, input_shape: Any, pooling: str | None, classes: int,
            classifier_activation: Any, pretrained: str | None) -> Any:
    _builder.check_arguments(model, weights, include_top, classes, classifier_activation, pooling,
                             pretrained=pretrained is not None)
    shape = _builder.image_input_shape(model, input_shape, default_size=224, min_size=32,
                                       include_top=include_top, weights=weights)
    path = _builder.weights_file(weights, pretrained, include_top)
    inputs, sources = _builder.model_input(model, input_tensor, shape)
    x = _imagenet_stem(inputs)
    block, expansion = (bottleneck_block, 4) if bottleneck else (basic_block, 1)
    for i, (filters, blocks) in enumerate(zip((64, 128, 256, 512), stacks)):
        x = _stack(x, block, filters, blocks, 1 if i == 0 else 2, f"conv{i + 2}", expansion)
    x = _builder.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                 classifier_activation=classifier_activation, pool_names=("avg_pool", "max_pool"))
    built = _builder.make_model(inputs, sources, x, name)
    return _builder.load_weights_argument(built, weights, path)


_SHARED_ARGS = """
    Args:
        include_top: keep `avg_pool` and the `predictions` layer (default True).
        weights: None (random initialization, the default){imagenet} or the
            path of a weights file to load.
        input_tensor: optional symbolic tensor (e.g. `nerve.Input(...)`) to use as the image input.
        input_shape: shape of one image `(height, width, channels)`, at least
            32x32; default `(224, 224, 3)`, or `(None, None, 3)` without the top.
        pooling: without the top, None (4-D output), "avg" (`avg_pool`) or "max" (`max_pool`).
        classes: number of classes with the top (default 1000).
        classifier_activation: activation of `predictions` (default "softmax"; None gives logits).
        name: the model's name.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, classes)` with the top; `(batch, h/32, w/32, {channels})`, or
    `(batch, {channels})` with `pooling`, without it.
"""

_IMAGENET = (""", "imagenet"
            (Keras's published ImageNet weights, downloaded once into
            `~/.nerve/models`; preprocess images with `preprocess_input`),""")


def ResNet50(  # noqa: N802 - Keras's name
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50",
) -> Any:
    return _resnet("ResNet50", name, (3, 4, 6, 3), True, include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, "resnet50")


def ResNet18(  # noqa: N802 - named like the Keras builders
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet18",
) -> Any:
    return _resnet("ResNet18", name, (2, 2, 2, 2), False, include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, None)


def ResNet34(  # noqa: N802 - named like the Keras builders
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, ...] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet34",
) -> Any:
    return _resnet("ResNet34", name, (3, 4, 6, 3), False, include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, None)


ResNet50.__doc__ = """ResNet50 (He et al., 2015), layer for layer as `keras.applications.ResNet50`.

    A 7x7 stem (`conv1_pad` ... `pool1_pool`), then 3, 4, 6 and 3 bottleneck
    blocks (`conv2_block1_1_conv` ... `conv5_block3_out`). Names, structure,
    weight shapes and BatchNormalization epsilon (1.001e-5) are Keras's.
""" + _SHARED_ARGS.format(imagenet=_IMAGENET, channels=2048) + """
    Example:
        >>> base = ResNet50(include_top=False, weights="imagenet", input_shape=(96, 96, 3), pooling="avg")
"""

ResNet18.__doc__ = """ResNet18 (He et al., 2015): 2, 2, 2 and 2 basic blocks (two 3x3 convolutions each).

    Keras has no ResNet18; this one has ResNet50's stem and naming scheme
    (`conv2_block1_1_conv` ...), Conv2D with bias as Keras's ResNets, and
    symmetric padding before strided 3x3 convolutions (`_1_pad`).
""" + _SHARED_ARGS.format(imagenet="", channels=512) + """
    Example:
        >>> model = ResNet18(input_shape=(64, 64, 3), classes=10)
"""

ResNet34.__doc__ = """ResNet34 (He et al., 2015): 3, 4, 6 and 3 basic blocks, in ResNet18's scheme.
""" + _SHARED_ARGS.format(imagenet="", channels=512) + """
    Example:
        >>> model = ResNet34(include_top=False, input_shape=(128, 128, 3), pooling="avg")
"""


def SmallResNet(  # noqa: N802 - named like the Keras builders
    input_shape: tuple[int | None, ...] = (28, 28, 1),
    classes: int = 10,
    include_top: bool = True,
    weights: str | None = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    *,
    blocks: tuple[int, ...] = (2, 2),
    filters: tuple[int, ...] = (16, 32),
    bottleneck: bool = False,
    classifier_activation: Any = "softmax",
    name: str = "small_resnet",
) -> Any:
    """A small residual network for MNIST- or digits-sized images, in ResNet50's naming scheme.

    A 3x3 stem (`conv1_conv`, `conv1_bn`, `conv1_relu`, no pooling), then one
    stage per entry of `blocks` (`conv2_*`, `conv3_*`, ...), the first at stride 1,
    the others halving height and width; then `avg_pool` and `predictions`.

    Args:
        input_shape: shape of one image (default `(28, 28, 1)`).
        classes: number of classes (default 10).
        include_top: keep `avg_pool` and `predictions` (default True).
        weights: None (default) or the path of weights saved with `model.save_weights`.
        input_tensor: optional symbolic tensor to use as the input.
        pooling: without the top, None, "avg" or "max".
        blocks: residual blocks per stage (default `(2, 2)`).
        filters: filters of each stage (default `(16, 32)`; the stem uses the first).
        bottleneck: use ResNet50's bottleneck blocks (output `4 * filters`) instead of basic blocks.
        classifier_activation: activation of `predictions` (default "softmax").
        name: the model's name (default "small_resnet").

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, classes)` with the top.

    Example:
        >>> model = SmallResNet(input_shape=(8, 8, 1), classes=10)
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    _builder.check_arguments("SmallResNet", weights, include_top, classes, classifier_activation, pooling,
                             pretrained=False)
    if not blocks or len(blocks) != len(filters) or any(int(b) < 1 for b in blocks) or any(int(f) < 1 for f in filters):
        raise ValueError(
            "SmallResNet: `blocks` and `filters` must be non-empty tuples of positive integers of the same "
            f"length (one entry per stage). Received: blocks={blocks!r}, filters={filters!r}"
        )
    path = _builder.weights_file(weights, None, include_top)
    inputs, sources = _builder.model_input("SmallResNet", input_tensor, tuple(input_shape))
    x = _conv_bn(inputs, filters[0], 3, "conv1", padding="same")
    block, expansion = (bottleneck_block, 4) if bottleneck else (basic_block, 1)
    for i, (f, n) in enumerate(zip(filters, blocks)):
        x = _stack(x, block, f, n, 1 if i == 0 else 2, f"conv{i + 2}", expansion)
    x = _builder.classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                                 classifier_activation=classifier_activation, pool_names=("avg_pool", "max_pool"))
    model = _builder.make_model(inputs, sources, x, name)
    return _builder.load_weights_argument(model, weights, path)
