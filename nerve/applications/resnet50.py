"""`nerve.applications.resnet50`: Keras's module path for ResNet50 and its preprocessing."""

from nerve.applications.resnet import ResNet50, preprocess_input

__all__ = ["ResNet50", "preprocess_input"]
