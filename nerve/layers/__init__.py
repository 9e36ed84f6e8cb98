"""Layers with Keras 3's names and arguments."""

from nerve.layers.activation import Activation
from nerve.layers.dense import Dense
from nerve.layers.dropout import Dropout
from nerve.layers.input_layer import Input, InputLayer
from nerve.layers.layer import Layer
from nerve.layers.reshaping import Flatten, Reshape

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "Reshape"]
