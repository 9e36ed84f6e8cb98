"""Ready-made models: `VGG16` and `ResNet50` as in `keras.applications`, ResNet18/34, LeNet5 and small nets.

Every builder returns a functional `nerve.Model` made of nerve layers, with
Keras's arguments (`include_top`, `weights`, `input_tensor`, `input_shape`,
`pooling`, `classes`, `classifier_activation`). `VGG16` and `ResNet50` have
Keras's exact layer names, so `weights="imagenet"` loads Keras's published
ImageNet weights (downloaded once, MD5-verified, into `~/.nerve/models`;
files in `~/.keras/models` are reused).

Example:
    >>> import nerve as keras
    >>> base = keras.applications.ResNet50(include_top=False, weights="imagenet", input_shape=(96, 96, 3))
    >>> model = keras.applications.LeNet5(input_shape=(28, 28, 1), activation="relu")
"""

from nerve.applications import resnet50, vgg16
from nerve.applications._weights import PretrainedWeightsNotFoundError
from nerve.applications.lenet import LeNet5
from nerve.applications.resnet import ResNet18, ResNet34, ResNet50, SmallResNet
from nerve.applications.vgg import VGG16, SmallVGG, VGGStyle, preprocess_input

__all__ = [
    "LeNet5",
    "PretrainedWeightsNotFoundError",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "SmallResNet",
    "SmallVGG",
    "VGG16",
    "VGGStyle",
    "preprocess_input",
    "resnet50",
    "vgg16",
]
