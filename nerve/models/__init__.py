"""Models: Sequential, the functional Model, and saving/loading them."""

from nerve.models.model import Model
from nerve.models.sequential import Sequential
from nerve.saving.saving_api import load_model, model_from_json, model_from_yaml, save_model

__all__ = ["Model", "Sequential", "load_model", "model_from_json", "model_from_yaml", "save_model"]
