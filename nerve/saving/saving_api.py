"""save_model / load_model / weights files: `.keras`, `.h5`/`.hdf5` and `.weights.h5`.

- `.keras`: a zip with `config.json`, `metadata.json` and `model.weights.h5`,
  as Keras 3 writes it.
- `.h5`/`.hdf5`: one HDF5 file with the same config and compile settings as
  attributes and the weights and optimizer state as groups (the seeds save
  checkpoints as `.hdf5`; Keras 3 refuses that name, nerve does not).
- weights only: any `.h5` name (`.weights.h5` as Keras 3 prefers, or seed 3's
  `my_model_weights.h5`).

Every file is written atomically. Loading reads JSON (never pickle), looks
classes up only in nerve's registry, and names the file in every error.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import zipfile
from typing import Any

import h5py

from nerve.saving import integrity, keras_import
from nerve.saving.atomic import atomic_path
from nerve.saving.file_checks import (
    MAX_CONFIG_BYTES,
    ModelFileError,
    allocation_budget,
    allocation_guard,
    as_file_error,
    check_archive,
    check_config,
    check_h5,
    checked_optimizer_config,
    open_h5,
    open_member,
    read_member,
    read_text_attr,
    safe_yaml,
)
from nerve.saving.serialization import deserialize_object, serialize_object
from nerve.saving.weights_io import read_optimizer, read_weights, write_optimizer, write_weights
from nerve.version import __version__

__all__ = ["load_model", "load_weights", "model_from_json", "model_from_yaml", "save_model", "save_weights"]

_ZIP_MAGIC = b"PK\x03\x04"
_H5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_CONFIG_BYTES = MAX_CONFIG_BYTES
_FileError = ModelFileError  # every refusal of a file: nerve.saving.ModelFileError


def _kind(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise FileNotFoundError(f"No model file at '{path}'. Check the path (cwd is {os.getcwd()}).") from None
    except IsADirectoryError:
        raise _FileError(
            f"'{path}' is a folder. nerve loads '.keras' and '.h5' files; TensorFlow SavedModel folders "
            "are not supported."
        ) from None
    if head.startswith(_ZIP_MAGIC):
        return "keras"
    if head == _H5_MAGIC or _h5_after_userblock(path):
        return "h5"
    raise _FileError(
        f"'{path}' is neither a '.keras' zip nor an HDF5 file (it starts with {head!r}); it may be "
        "truncated, corrupted or of another format."
    )


def _h5_after_userblock(path: str) -> bool:
    """HDF5 with a user block (nerve's sealed files): the signature sits at 512, 1024, 2048..."""
    with open(path, "rb") as handle:
        for offset in (512, 1024, 2048, 4096):
            handle.seek(offset)
            if handle.read(8) == _H5_MAGIC:
                return True
    return False


def _checked_kind(path: str) -> str:
    """The file's format, after checking its SHA-256 seal if it has one."""
    kind = _kind(path)
    integrity.verify(path)
    return kind


# ---------------------------------------------------------------- compile settings
def _serialize_spec(spec: Any) -> Any:
    from nerve import losses, metrics
    from nerve.saving.object_registration import get_registered_name

    if spec is None or isinstance(spec, (str, int, float, bool)):
        return spec
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(s) for s in spec]
    if isinstance(spec, dict):
        return {k: _serialize_spec(v) for k, v in spec.items()}
    if isinstance(spec, losses.Loss):
        return losses.serialize(spec)
    if isinstance(spec, metrics.Metric):
        return metrics.serialize(spec)
    return get_registered_name(spec)


def _compile_config(model: Any) -> dict[str, Any] | None:
    if not getattr(model, "compiled", False):
        return None
    from nerve import optimizers

    args = model._compile_args
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serialize_spec(args["loss"]),
        "loss_weights": _serialize_spec(args["loss_weights"]),
        "metrics": _serialize_spec(args["metrics"]),
        "weighted_metrics": _serialize_spec(args["weighted_metrics"]),
    }


def _resolve_spec(spec: Any, custom_objects: dict[str, Any] | None) -> Any:
    from nerve.saving.object_registration import get_registered_object

    if isinstance(spec, str):
        found = get_registered_object(spec, custom_objects)
        return found if found is not None else spec
    if isinstance(spec, list):
        return [_resolve_spec(s, custom_objects) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _resolve_spec(v, custom_objects) for k, v in spec.items()}
    return spec


def _compile_from_config(model: Any, config: dict[str, Any], custom_objects: dict[str, Any] | None) -> None:
    from nerve import losses, metrics, optimizers

    def metric_spec(spec: Any) -> Any:
        if isinstance(spec, dict) and "class_name" in spec:
            return metrics.deserialize(spec)
        if isinstance(spec, list):
            return [metric_spec(s) for s in spec]
        if isinstance(spec, dict):
            return {k: metric_spec(v) for k, v in spec.items()}
        return _resolve_spec(spec, custom_objects)

    def loss_spec(spec: Any) -> Any:
        if isinstance(spec, dict) and "class_name" in spec:
            return losses.deserialize(spec)
        if isinstance(spec, list):
            return [loss_spec(s) for s in spec]
        if isinstance(spec, dict):
            return {k: loss_spec(v) for k, v in spec.items()}
        return _resolve_spec(spec, custom_objects)

    model.compile(
        optimizer=optimizers.deserialize(checked_optimizer_config(config["optimizer"], custom_objects,
                                                                  "The compile settings")),
        loss=loss_spec(config.get("loss")),
        loss_weights=config.get("loss_weights"),
        metrics=metric_spec(config.get("metrics")),
        weighted_metrics=metric_spec(config.get("weighted_metrics")),
    )


# ---------------------------------------------------------------- save
def _model_json(model: Any) -> dict[str, Any]:
    config = serialize_object(model)
    config["compile_config"] = _compile_config(model)
    return config


def _check_savable(model: Any) -> None:
    from nerve.models.model import Model

    if getattr(model, "_graph", None) is None and type(model).get_config is Model.get_config and \
            type(model).__name__ != "Sequential":
        raise NotImplementedError(
            f"Model '{model.name}' is a subclassed model without get_config(), so its architecture cannot "
            "be saved. Save its weights with model.save_weights('model.weights.h5') and rebuild the model "
            "in code, or implement get_config()/from_config() and register the class."
        )
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet; fit or call it on data before saving it.")


def _write_h5(handle: h5py.File, model: Any, include_optimizer: bool, config: dict | None) -> None:
    handle.attrs["nerve_version"] = __version__
    if config is not None:
        handle.attrs["model_config"] = json.dumps({k: v for k, v in config.items() if k != "compile_config"})
        if config.get("compile_config") is not None:
            handle.attrs["compile_config"] = json.dumps(config["compile_config"])
    write_weights(handle, model)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(model, "_optimizer_params", None) is not None:
        write_optimizer(handle, optimizer)


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True,
               include_optimizer: bool = True) -> None:
    """Save architecture, weights, compile settings and optimizer state to `.keras` or `.h5`.

    Args:
        model: the model to save.
        filepath: a path ending in `.keras`, `.h5` or `.hdf5`.
        overwrite: replace an existing file (default True).
        include_optimizer: also save the optimizer state, to resume training exactly (default True).

    Example:
        >>> model.save("best.keras")
        >>> model.save("dm_15_0.97.hdf5")
    """
    path = os.fspath(filepath)
    _check_savable(model)
    config = _model_json(model)
    if path.endswith(".keras"):
        weights = io.BytesIO()
        with h5py.File(weights, "w") as handle:
            _write_h5(handle, model, include_optimizer, None)
        metadata = {"nerve_version": __version__, "keras_version": "3 (nerve)",
                    "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
        with atomic_path(path, overwrite, seal=True) as tmp:
            with zipfile.ZipFile(tmp, "w") as archive:
                archive.comment = integrity.ZIP_COMMENT  # room for the SHA-256 seal
                archive.writestr("metadata.json", json.dumps(metadata))
                archive.writestr("config.json", json.dumps(config))
                archive.writestr("model.weights.h5", weights.getvalue())
    elif path.endswith((".h5", ".hdf5")):
        with atomic_path(path, overwrite, seal=True) as tmp:
            with h5py.File(tmp, "w", userblock_size=integrity.H5_USERBLOCK) as handle:
                _write_h5(handle, model, include_optimizer, config)
    else:
        raise ValueError(
            f"Cannot tell the format from '{path}': use a name ending in '.keras' (zip, Keras 3's format) or "
            "'.h5'/'.hdf5' (HDF5). For weights only, use model.save_weights('name.weights.h5')."
        )


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save only the weights, to an HDF5 file (any name ending in `.h5`/`.hdf5`)."""
    path = os.fspath(filepath)
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            f"save_weights writes HDF5: give a name ending in '.weights.h5' (or '.h5'). Received: filepath='{path}'"
        )
    if not model.built:
        raise ValueError(f"Model '{model.name}' has no weights yet; fit or call it on data before saving weights.")
    with atomic_path(path, overwrite, seal=True) as tmp:
        with h5py.File(tmp, "w", userblock_size=integrity.H5_USERBLOCK) as handle:
            handle.attrs["nerve_version"] = __version__
            write_weights(handle, model)


# ---------------------------------------------------------------- load
def _open_h5(source: Any, path: str) -> h5py.File:
    try:
        handle = open_h5(source)
    except Exception as err:  # noqa: BLE001 (OSError mostly; h5py raises others for some damaged headers)
        raise _FileError(f"'{path}' cannot be read as HDF5: {err}. The file may be truncated or corrupted.",
                         path) from None
    try:
        check_h5(handle, f"'{path}'", path)
    except BaseException:
        handle.close()
        raise
    return handle


def _read_json(raw: bytes | str, path: str, what: str) -> dict[str, Any]:
    if len(raw) > _MAX_CONFIG_BYTES:
        raise _FileError(f"'{path}': the {what} is {len(raw)} bytes, over the {_MAX_CONFIG_BYTES}-byte limit.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise _FileError(f"'{path}': the {what} is not valid JSON ({err}).") from None
    if not isinstance(value, dict):
        raise _FileError(f"'{path}': the {what} must be a JSON object.")
    check_config(value, f"'{path}': the {what}", path)
    return value


def _open_archive(path: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as err:
        raise _FileError(f"'{path}' is not a valid '.keras' zip: {err}", path) from None
    try:
        check_archive(archive, path)
    except BaseException:
        archive.close()
        raise
    return archive


def _read_archive(path: str, stack: contextlib.ExitStack) -> tuple[dict[str, Any], Any, int, dict[str, Any] | None]:
    """config.json, metadata.json and a file over model.weights.h5 (closed by `stack`) of a `.keras` zip, with the
    weights' size; each member is checked before it is read."""
    with _open_archive(path) as archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            raise _FileError(f"'{path}' has no config.json: it is not a saved model.", path)
        config = _read_json(read_member(archive, "config.json", path, _MAX_CONFIG_BYTES), path, "config.json")
        metadata = _read_json(read_member(archive, "metadata.json", path, _MAX_CONFIG_BYTES), path,
                              "metadata.json") if "metadata.json" in names else None
        weights, size = open_member(archive, "model.weights.h5", path) if "model.weights.h5" in names else (None, 0)
        if weights is not None:
            stack.callback(weights.close)
    return config, weights, size, metadata


def _build_for_weights(model: Any) -> None:
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has no input shape, so its weights do not exist yet. Build it first "
            "(call it on data or give its first layer an input shape), then load the weights."
        )


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True) -> Any:
    """Load a model saved by `model.save` (`.keras` or `.h5`/`.hdf5`).

    Args:
        filepath: the file to read.
        custom_objects: {name: class or function} for your own layers, losses, ...
        compile: also restore the compile settings and optimizer state (default True).
        safe_mode: accepted for Keras compatibility; nerve never runs code from a file.

    Raises:
        ModelFileError: the file is truncated, corrupted, hostile or not a model (see nerve.saving.file_checks).
        FileNotFoundError: there is no file at `filepath`.

    Example:
        >>> best_model = nerve.models.load_model("dm_15_0.97.hdf5")
    """
    path = os.fspath(filepath)
    kind = _checked_kind(path)
    try:
        if kind == "keras":
            with contextlib.ExitStack() as stack:
                config, weights, size, metadata = _read_archive(path, stack)
                budget = allocation_budget(size)
                if keras_import.is_keras_config(config, metadata):  # written by Keras, not nerve
                    return keras_import.load_keras_archive(config, weights, custom_objects, compile, path, budget)
                with allocation_guard(budget, f"'{path}'", path):
                    model = deserialize_object(config, custom_objects)
                if compile and config.get("compile_config"):
                    _compile_from_config(model, config["compile_config"], custom_objects)
                if weights is not None:
                    with _open_h5(weights, path) as handle:
                        _load_state(model, handle, compile)
                return model
        with _open_h5(path, path) as handle:
            budget = allocation_budget(os.path.getsize(path))
            if keras_import.is_legacy_h5(handle):  # tf.keras 2.x / Keras 3 legacy HDF5
                return keras_import.load_legacy_h5(handle, custom_objects, compile, path, budget)
            raw = read_text_attr(handle, "model_config", f"'{path}'")
            if raw is None:
                raise _FileError(
                    f"'{path}' holds weights only (no model config). Rebuild the model in code and call "
                    "model.load_weights(path)."
                )
            config = _read_json(raw, path, "model config")
            with allocation_guard(budget, f"'{path}'", path):
                model = deserialize_object(config, custom_objects)
            raw = read_text_attr(handle, "compile_config", f"'{path}'") if compile else None
            if raw is not None:
                _compile_from_config(model, _read_json(raw, path, "compile config"), custom_objects)
            _load_state(model, handle, compile)
            return model
    except Warning:
        raise
    except Exception as err:  # anything else a damaged or hostile file provokes: one type, naming the file
        raise as_file_error(err, f"'{path}'", path) from err


def _load_state(model: Any, handle: h5py.File, compile: bool) -> None:
    read_weights(handle, model, strict=True)
    if compile and getattr(model, "compiled", False) and "optimizer" in handle:
        model._prepare_optimizer()
        read_optimizer(handle, model.optimizer)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load weights saved by `save_weights` or `save` into `model`, checked layer by layer.

    Raises ModelFileError (and changes no weight) if the file is damaged, hostile, or does not fit the model.
    """
    path = os.fspath(filepath)
    _build_for_weights(model)
    kind = _checked_kind(path)
    try:
        if kind == "keras":
            with _open_archive(path) as archive:
                if "model.weights.h5" not in archive.namelist():
                    raise _FileError(f"'{path}' holds no model.weights.h5.", path)
                data, _ = open_member(archive, "model.weights.h5", path)
            with data, _open_h5(data, path) as handle:
                read_weights(handle, model, skip_mismatch)
            return
        with _open_h5(path, path) as handle:
            if keras_import.is_legacy_h5(handle):
                keras_import.load_legacy_weights(handle, model, skip_mismatch)
            else:
                read_weights(handle, model, skip_mismatch)
    except Warning:
        raise
    except Exception as err:
        raise as_file_error(err, f"'{path}' into model '{model.name}'", path, "Cannot load weights from") from err


def _from_string(text: Any, what: str, parse: Any, custom_objects: dict[str, Any] | None) -> Any:
    where = f"the {what} config"
    try:
        if not isinstance(text, (str, bytes)):
            raise ModelFileError(f"model_from_{what.lower()} expects a string. Received: {type(text).__name__}")
        if len(text) > _MAX_CONFIG_BYTES:
            raise ModelFileError(f"The {what} string is {len(text)} bytes, over the {_MAX_CONFIG_BYTES}-byte limit.")
        config = parse(text)
        if not isinstance(config, dict):
            raise ModelFileError(f"The {what} string does not describe a model config (a mapping was expected).")
        check_config(config, f"The {what} string")
        if keras_import.is_keras_config(config):
            config = keras_import.translate_config(config, custom_objects)
        with allocation_guard(allocation_budget(None), f"The {what} config", None):
            return deserialize_object(config, custom_objects)
    except Warning:
        raise
    except Exception as err:
        raise as_file_error(err, where, None, "Cannot build a model from") from err


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model (architecture only, new weights) from `model.to_json()`; ModelFileError if it cannot."""
    return _from_string(json_string, "JSON", json.loads, custom_objects)


def model_from_yaml(yaml_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model from `model.to_yaml()`; parsed with yaml's SafeLoader (no code runs); ModelFileError if it cannot."""
    return _from_string(yaml_string, "YAML", safe_yaml, custom_objects)
