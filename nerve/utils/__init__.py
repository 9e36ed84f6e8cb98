"""Utilities with keras.utils's names."""

from nerve.backend import set_random_seed
from nerve.utils.numerical import normalize, to_categorical
from nerve.utils.progbar import Progbar

__all__ = ["Progbar", "normalize", "set_random_seed", "to_categorical"]
