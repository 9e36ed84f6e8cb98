"""The workloads' models in Keras 3's public API, built with `keras` = nerve or Keras 3 alike.

Written as a user writes them (Sequential for the MLP and CNN, the functional API for the
ResNet), with Keras's default initializers; nothing here is specific to one library.
"""

from __future__ import annotations

from typing import Any

MLP_UNITS = (64, 128, 256, 128, 64)


def mlp(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [keras.Input(shape=(28, 28)), layers.Flatten()]
        + [layers.Dense(units, activation="relu") for units in MLP_UNITS]
        + [layers.Dense(10, activation="softmax")]
    )


def cnn(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


RESNET_STAGES = ((16, 1), (32, 2), (64, 2))


def resnet(keras: Any) -> Any:
    """Conv16-BN-ReLU stem, one basic residual block per stage (projection shortcut when the shape changes).

    BatchNormalization's momentum is 0.9 (Keras's default 0.99 leaves the moving statistics near their
    initial values after the ~150 steps of this workload, and validation accuracy at chance for every peer).
    """
    layers = keras.layers

    def bn() -> Any:
        return layers.BatchNormalization(momentum=0.9)
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    x = layers.Activation("relu")(bn()(x))
    channels = 16
    for filters, stride in RESNET_STAGES:
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        y = layers.Activation("relu")(bn()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = bn()(y)
        shortcut = x
        if stride != 1 or filters != channels:
            shortcut = bn()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
        x = layers.Activation("relu")(layers.Add()([y, shortcut]))
        channels = filters
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def tiny(keras: Any, features: int) -> Any:
    return keras.Sequential([keras.Input(shape=(features,)), keras.layers.Dense(10, activation="softmax")])


def build(keras: Any, workload: str, features: int = 0) -> Any:
    """The model of a workload (the predict workload uses the MLP)."""
    if workload in ("mlp", "predict"):
        return mlp(keras)
    if workload == "cnn":
        return cnn(keras)
    if workload == "resnet":
        return resnet(keras)
    if workload == "overhead":
        return tiny(keras, features)
    raise ValueError(f"Unknown workload. Received: workload={workload!r}")
