"""Saving and loading models: `.keras`, `.h5`/`.hdf5`, weights files, JSON/YAML configs."""

from nerve.saving.file_checks import ModelFileError
from nerve.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    register_nerve_serializable,
)
from nerve.saving.saving_api import load_model, load_weights, model_from_json, model_from_yaml, save_model, save_weights
from nerve.saving.serialization import deserialize_object, serialize_object

__all__ = [
    "CustomObjectScope",
    "ModelFileError",
    "custom_object_scope",
    "deserialize_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_from_json",
    "model_from_yaml",
    "register_keras_serializable",
    "register_nerve_serializable",
    "save_model",
    "save_weights",
    "serialize_object",
]
