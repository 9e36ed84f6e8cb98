"""LeNet-5 (LeCun et al., 1998): the classic convolutional network for 32x32 digit images."""

from __future__ import annotations

from typing import Any

from nerve.applications import _builder

__all__ = ["LeNet5"]


def LeNet5(  # noqa: N802 - named like the Keras builders
    input_shape: tuple[int | None, ...] = (32, 32, 1),
    classes: int = 10,
    include_top: bool = True,
    weights: str | None = None,
    activation: Any = "tanh",
    input_tensor: Any = None,
    pooling: str | None = None,
    classifier_activation: Any = "softmax",
    name: str = "lenet5",
) -> Any:
    """LeNet-5: two 5x5 convolutions with average pooling, then three dense layers.

    Layers: `conv1` (6 filters, 5x5, valid), `pool1` (2x2 average), `conv2`
    (16 filters, 5x5, valid), `pool2`, then with the top `flatten`, `fc1`
    (120 units), `fc2` (84 units) and `predictions`. With the default 32x32x1
    input and 10 classes it has 61,706 parameters. For 28x28 MNIST images pass
    `input_shape=(28, 28, 1)` (the feature map shrinks to 4x4), or pad them to 32x32.

    Args:
        input_shape: shape of one image (default `(32, 32, 1)`); at least 16x16.
        classes: number of classes (default 10).
        include_top: keep the dense layers (default True).
        weights: None (random initialization, the default) or the path of
            weights saved with `model.save_weights` / `model.save`.
        activation: activation of the convolutions and hidden dense layers
            (default "tanh", as the original; "relu" trains faster).
        input_tensor: optional symbolic tensor to use as the input.
        pooling: without the top, None (4-D output), "avg" or "max".
        classifier_activation: activation of `predictions` (default "softmax").
        name: the model's name (default "lenet5").

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, classes)`
    with the top; `(batch, 5, 5, 16)` for 32x32 inputs without it.

    Example:
        >>> model = LeNet5(input_shape=(28, 28, 1), activation="relu")
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    _builder.check_arguments("LeNet5", weights, include_top, classes, classifier_activation, pooling,
                             pretrained=False)
    from nerve.layers.conv import Conv2D
    from nerve.layers.dense import Dense
    from nerve.layers.pooling import AveragePooling2D
    from nerve.layers.reshaping import Flatten

    path = _builder.weights_file(weights, None, include_top)
    inputs, sources = _builder.model_input("LeNet5", input_tensor, tuple(input_shape))
    x = Conv2D(6, 5, activation=activation, name="conv1")(inputs)
    x = AveragePooling2D(2, name="pool1")(x)
    x = Conv2D(16, 5, activation=activation, name="conv2")(x)
    x = AveragePooling2D(2, name="pool2")(x)
    if include_top:
        x = Flatten(name="flatten")(x)
        x = Dense(120, activation=activation, name="fc1")(x)
        x = Dense(84, activation=activation, name="fc2")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _builder.classifier_head(x, include_top=False, pooling=pooling, classes=classes,
                                     classifier_activation=classifier_activation)
    model = _builder.make_model(inputs, sources, x, name)
    return _builder.load_weights_argument(model, weights, path)
