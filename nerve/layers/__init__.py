"""Layers with Keras 3's names and arguments."""

from nerve.layers.activation import Activation
from nerve.layers.augmentation import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from nerve.layers.batch_normalization import BatchNormalization
from nerve.layers.conv import Conv1D, Conv2D, Convolution1D, Convolution2D
from nerve.layers.conv_transpose import Conv2DTranspose, Convolution2DTranspose
from nerve.layers.dense import Dense
from nerve.layers.depthwise_conv import DepthwiseConv2D, SeparableConv2D, SeparableConvolution2D
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
from nerve.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from nerve.layers.preprocessing import Normalization, Rescaling
from nerve.layers.reshaping import Flatten, Reshape
from nerve.layers.spatial import Cropping2D, UpSampling2D, ZeroPadding2D
from nerve.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "Activation",
    "Add",
    "AlphaDropout",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Convolution2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GroupNormalization",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Reshape",
    "SeparableConv2D",
    "SeparableConvolution2D",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "SpectralNormalization",
    "Subtract",
    "UnitNormalization",
    "UpSampling2D",
    "ZeroPadding2D",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
