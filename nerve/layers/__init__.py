"""Layers with Keras 3's names and arguments."""

from nerve.layers.activation import Activation
from nerve.layers.augmentation import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from nerve.layers.batch_normalization import BatchNormalization
from nerve.layers.dense import Dense
from nerve.layers.dropout import Dropout
from nerve.layers.embedding import Embedding
from nerve.layers.input_layer import Input, InputLayer
from nerve.layers.layer import Layer
from nerve.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from nerve.layers.noise import (
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from nerve.layers.normalization import GroupNormalization, LayerNormalization, UnitNormalization
from nerve.layers.preprocessing import Normalization, Rescaling
from nerve.layers.reshaping import Flatten, Reshape
from nerve.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "Activation",
    "AlphaDropout",
    "GaussianDropout",
    "GaussianNoise",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Add",
    "Average",
    "BatchNormalization",
    "Concatenate",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GroupNormalization",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "Rescaling",
    "Reshape",
    "SpectralNormalization",
    "Subtract",
    "UnitNormalization",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
