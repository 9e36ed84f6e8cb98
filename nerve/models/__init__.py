"""Models: Sequential, the functional Model, and (later) saving and loading."""

from nerve.models.model import Model
from nerve.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
