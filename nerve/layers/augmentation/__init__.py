"""Image augmentation layers, active only in training (as in Keras 3)."""

from nerve.layers.augmentation.random_contrast import RandomContrast
from nerve.layers.augmentation.random_flip import RandomFlip
from nerve.layers.augmentation.random_rotation import RandomRotation
from nerve.layers.augmentation.random_translation import RandomTranslation
from nerve.layers.augmentation.random_zoom import RandomZoom

__all__ = ["RandomContrast", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
