"""`nerve.applications.vgg16`: Keras's module path for VGG16 and its preprocessing."""

from nerve.applications.vgg import VGG16, preprocess_input

__all__ = ["VGG16", "preprocess_input"]
