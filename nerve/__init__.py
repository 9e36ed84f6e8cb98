"""nerve: Keras-style deep learning on a PyTorch engine.

Write the code of the Keras tutorials — `Sequential`, `compile`, `fit` — and it
runs on PyTorch. Change only the import: `import nerve as keras`.

Example:
    >>> import nerve as keras
    >>> model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

from nerve import (
    activations,
    applications,
    backend,
    callbacks,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
    utils,
)
from nerve.backend import Variable
from nerve.layers import Input, Layer
from nerve.models import Model, Sequential
from nerve.version import __version__

__all__ = [
    "Input",
    "Layer",
    "Model",
    "Sequential",
    "Variable",
    "__version__",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "datasets",
    "distribution",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
]
