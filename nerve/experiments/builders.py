"""Ready-made networks of the course notes, as `build` functions for `compare` and `nerve compare`.

They are module-level functions (not lambdas), so `compare(..., n_jobs=2)` can
send them to worker processes; bind the data's shape with `functools.partial`.
"""

from __future__ import annotations

from collections.abc import Sequence

from nerve import layers
from nerve.layers import Input
from nerve.models.sequential import Sequential

__all__ = ["mlp", "small_cnn"]

SEED0_UNITS = (64, 128, 256, 128, 64)


def mlp(
    activation: str = "relu",
    *,
    input_shape: Sequence[int] = (28, 28),
    num_classes: int = 10,
    units: Sequence[int] = SEED0_UNITS,
    dropout: float = 0.0,
) -> Sequential:
    """Seed 0's network: Flatten, Dense layers of `units`, softmax output.

    Args:
        activation: activation of the hidden layers (default "relu").
        input_shape: shape of one sample (default (28, 28)).
        num_classes: output units (default 10).
        units: hidden layer sizes (default seed 0's 64-128-256-128-64).
        dropout: Dropout rate after each hidden layer; 0 adds none (default 0.0).

    Example:
        >>> model = mlp("sigmoid", input_shape=(8, 8))
    """
    model = Sequential(name=f"mlp_{activation}")
    model.add(Input(shape=tuple(input_shape)))
    model.add(layers.Flatten())
    for n in units:
        model.add(layers.Dense(int(n), activation=activation))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


def small_cnn(
    activation: str = "relu",
    *,
    input_shape: Sequence[int] = (28, 28),
    num_classes: int = 10,
    filters: Sequence[int] = (32, 64),
    dropout: float = 0.5,
) -> Sequential:
    """The course notes' small CNN: (Conv 3x3 + MaxPool) per entry of `filters`, Flatten, Dropout, softmax.

    A 2-D `input_shape` gets a channel axis of 1 (grey images). Images smaller
    than 8x8 pool only while they are at least 2 pixels wide.

    Args:
        activation: activation of the convolutions (default "relu").
        input_shape: shape of one image, (h, w) or (h, w, channels) (default (28, 28)).
        num_classes: output units (default 10).
        filters: filters of each convolution block (default (32, 64)).
        dropout: Dropout rate before the output layer (default 0.5).

    Example:
        >>> model = small_cnn(input_shape=(28, 28))
    """
    shape = tuple(input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    model = Sequential(name=f"cnn_{activation}")
    model.add(Input(shape=shape))
    size = min(shape[0], shape[1])
    for f in filters:
        model.add(layers.Conv2D(int(f), (3, 3), padding="same", activation=activation))
        if size >= 4:
            model.add(layers.MaxPooling2D((2, 2)))
            size //= 2
    model.add(layers.Flatten())
    if dropout:
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model
