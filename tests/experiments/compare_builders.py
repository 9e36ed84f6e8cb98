"""Module-level model builders for compare() tests (worker processes import them by name)."""

from __future__ import annotations

import nerve as keras


def seed0_mlp(activation: str = "relu", units: int = 32) -> keras.Model:
    """Seed 0's MLP shape, small: Flatten-units-units-10 on 8x8 digits."""
    return keras.Sequential([
        keras.Input((8, 8)),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation=activation),
        keras.layers.Dense(units, activation=activation),
        keras.layers.Dense(10, activation="softmax"),
    ])


def compiled_mlp(activation: str = "relu") -> keras.Model:
    """The same network, compiled inside build (SGD), as many tutorials do."""
    model = seed0_mlp(activation)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
