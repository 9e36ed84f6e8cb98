"""Keras (2 and 3) configs translated into nerve's: Keras-only settings, Keras 2 spellings and links.

nerve's configs follow Keras 3's layout, so a translated config is built by
the ordinary registry and any nerve layer whose arguments match Keras's loads
with no code of its own. The translation:

- drops a Keras-only setting only when its value is known to change nothing
  (`quantization_config=None`, `sparse=False`, DType policies,
  `shared_object_id`, ...: `_HARMLESS`) and raises, naming the layer and the
  setting, for any other setting the nerve layer does not take;
- renames or converts Keras 2 spellings (`batch_input_shape`, `lr`,
  BatchNormalization's `axis=[3]`, ...: `_RENAMES`, `_CONVERT`);
- rewrites Keras 2 functional links `[[["dense", 0, 0, {}]]]` into Keras 3
  nodes `{"args": [...], "kwargs": {...}}`, and moves a Keras 2 Sequential's
  `batch_input_shape` into an InputLayer;
- refuses classes nerve does not have, and `Lambda` layers always: their
  config holds Python bytecode, and nerve never runs code from a file.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable

from nerve.saving.object_registration import get_registered_object
from nerve.saving.serialization import _lookup

__all__ = ["compile_settings", "is_keras_config", "translate_config"]

_TENSOR = "__keras_tensor__"
_CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")
_MODEL_KEYS = {"name", "trainable", "layers", "input_layers", "output_layers", "build_input_shape"}

# Keras-only layer settings nerve may drop, each with the values that make it a no-op.
_HARMLESS: dict[str, Callable[[Any, dict], bool]] = {
    "quantization_config": lambda v, c: v is None,
    "lora_rank": lambda v, c: v is None,
    "lora_alpha": lambda v, c: c.get("lora_rank") is None,
    "sparse": lambda v, c: not v,
    "ragged": lambda v, c: not v,
    "optional": lambda v, c: not v,
    "synchronized": lambda v, c: not v,  # BatchNormalization across replicas
    "fused": lambda v, c: True,  # Keras 2 BatchNormalization kernel choice
    "renorm": lambda v, c: not v,
    "renorm_clipping": lambda v, c: not c.get("renorm"),
    "renorm_momentum": lambda v, c: not c.get("renorm"),
    "virtual_batch_size": lambda v, c: v is None,
    "adjustment": lambda v, c: v is None,
    "input_length": lambda v, c: True,  # Keras 2 Embedding: the shape comes from the input
}
# Keras spellings that nerve's layers take under another name, per class ("*": any class).
_RENAMES: dict[str, dict[str, str]] = {
    "InputLayer": {"batch_input_shape": "batch_shape", "input_shape": "shape"},
}
# Keras 2 values nerve spells otherwise, per class and setting.
_CONVERT: dict[str, dict[str, Callable[[Any], Any]]] = {
    "BatchNormalization": {"axis": lambda v: v[0] if isinstance(v, list) and len(v) == 1 else v},
}
# Keras-only settings inside initializer configs (VarianceScaling's fan axes), dropped when unset.
_INITIALIZER_HARMLESS = ("input_axes", "output_axes")
_OPTIMIZER_HARMLESS: dict[str, Callable[[Any], bool]] = {
    "jit_compile": lambda v: True,
    "is_legacy_optimizer": lambda v: True,
    "decay": lambda v: not v,
}


# ---------------------------------------------------------------- config translation
class _Translator:
    """Turns one Keras model config into one nerve can build; raises on what nerve cannot honour."""

    def __init__(self, custom_objects: dict[str, Any] | None) -> None:
        self.custom_objects = custom_objects

    def entry(self, entry: dict[str, Any], where: str) -> dict[str, Any]:
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            raise ValueError(f"{where}: expected a layer config with a 'class_name'. Received: {entry!r}")
        class_name = entry["class_name"]
        inner = entry.get("config", {})
        name = inner.get("name", entry.get("name", "?")) if isinstance(inner, dict) else entry.get("name", "?")
        label = f"layer '{name}' ({class_name}) in {where}"
        if class_name in _CODE_LAYERS:
            raise ValueError(
                f"The file's {label} is a {class_name} layer, which is not supported: its config holds "
                "Python code, and nerve never runs code from a file. Rebuild the model in code (with a "
                "custom layer in place of the Lambda) and load the weights with model.load_weights(path)."
            )
        try:
            cls = _lookup(entry, self.custom_objects)
        except ValueError as err:
            module = entry.get("module") or "keras.layers"
            raise ValueError(
                f"The file's {label} is a {module}.{class_name}, which nerve does not support. Supported "
                f"layers: {', '.join(_supported())}. ({err})"
            ) from None
        out = {k: v for k, v in entry.items() if k not in ("shared_object_id", "compile_config")}
        from nerve.models.model import Model

        if isinstance(cls, type) and issubclass(cls, Model):
            out["config"] = self.model(class_name, inner, label)
            out.pop("build_config", None)
        else:
            out["config"] = self.layer(cls, class_name, inner, label)
        if "inbound_nodes" in out:
            out["inbound_nodes"] = [_node(n, label) for n in out["inbound_nodes"]]
        return out

    def model(self, class_name: str, config: Any, label: str) -> dict[str, Any]:
        if isinstance(config, list):  # Keras 2.0/2.1 Sequential: the config is the layer list
            config = {"layers": config}
        if not isinstance(config, dict):
            raise ValueError(f"The config of {label} must be a dict. Received: {config!r}")
        config = {k: v for k, v in config.items() if k != "dtype"}
        if config.get("trainable") is True:  # the default; setting it would unfreeze frozen layers
            del config["trainable"]
        unknown = sorted(set(config) - _MODEL_KEYS)
        if unknown:
            raise ValueError(f"The config of {label} has settings nerve does not support: {unknown}.")
        where = f"model '{config.get('name', '?')}'"
        layers = [self.entry(e, where) for e in config.get("layers", [])]
        if class_name == "Sequential" and layers and layers[0]["class_name"] != "InputLayer":
            first = layers[0]["config"]
            shape = first.pop("batch_input_shape", None)
            if shape is not None:  # Keras 2: the first layer carried the input shape
                input_config = {"batch_shape": shape, "name": f"{first.get('name', 'input')}_input"}
                if isinstance(first.get("dtype"), str):
                    input_config["dtype"] = first["dtype"]
                layers.insert(0, {"class_name": "InputLayer", "config": input_config})
        config["layers"] = layers
        if "input_layers" in config:
            config["input_layers"] = _ends(config["input_layers"])
            config["output_layers"] = _ends(config.get("output_layers", []))
        return config

    def layer(self, cls: type, class_name: str, config: Any, label: str) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValueError(f"The config of {label} must be a dict. Received: {config!r}")
        renames = {**_RENAMES.get("*", {}), **_RENAMES.get(class_name, {})}
        config = {renames.get(k, k): v for k, v in config.items()}
        for key, convert in _CONVERT.get(class_name, {}).items():
            if key in config:
                config[key] = convert(config[key])
        accepted = _accepted(cls)
        builtin = cls.__module__.startswith("nerve.")
        out: dict[str, Any] = {}
        for key, value in config.items():
            if key == "dtype":
                value = _dtype_name(value, label)
            if key in accepted or (not builtin and key not in _HARMLESS):
                out[key] = self.value(key, value, label)
            elif key in _HARMLESS and _HARMLESS[key](value, config):
                continue
            else:
                raise ValueError(
                    f"The file's {label} has the setting {key}={value!r}, which nerve's {class_name} does not "
                    "support, so the layer would not compute what it did in Keras."
                )
        return out

    def value(self, key: str, value: Any, label: str) -> Any:
        if key.endswith("_constraint") and value is not None and not _has_constraints():
            raise ValueError(
                f"The file's {label} has {key}={value!r}: nerve has no weight constraints yet. "
                "Rebuild the model in code without the constraint and load the weights."
            )
        if isinstance(value, dict) and "class_name" in value:
            value = {k: v for k, v in value.items() if k != "shared_object_id"}
            if value["class_name"] == "function":  # a plain function, e.g. a custom activation
                return value.get("registered_name") if value.get("registered_name") not in (None, "function") \
                    else value.get("config")
            inner = value.get("config")
            if isinstance(inner, dict):
                for k in _INITIALIZER_HARMLESS:
                    if inner.get(k) is not None:
                        raise ValueError(
                            f"The file's {label} has {key} with {k}={inner[k]!r}, which nerve's initializers do "
                            "not support. Rebuild the model in code and load the weights."
                        )
                value["config"] = {a: b for a, b in inner.items() if a not in _INITIALIZER_HARMLESS}
        return value


def _has_constraints() -> bool:
    """Whether nerve has weight constraints (asked of the loaded package: a file never triggers an import)."""
    import nerve

    return getattr(nerve, "constraints", None) is not None


def _supported() -> list[str]:
    from nerve import layers

    return sorted(n for n in layers.__all__ if isinstance(getattr(layers, n), type) and n not in ("Layer", "Input"))


def _accepted(cls: type) -> set[str]:
    """The keyword arguments a nerve layer class takes, through its `**kwargs` chain."""
    from nerve.layers.layer import _BASE_KWARGS, Layer

    names = set(_BASE_KWARGS)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass is Layer or not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return names


def _dtype_name(value: Any, label: str) -> Any:
    if isinstance(value, dict):  # Keras 3 DTypePolicy / Keras 2 mixed-precision Policy
        value = value.get("config", {}).get("name", "float32")
    if isinstance(value, str) and value.startswith("mixed_"):
        raise ValueError(
            f"The file's {label} uses the mixed-precision policy '{value}', which nerve does not support "
            "as a layer dtype. Rebuild the model in float32 and load the weights."
        )
    return value


def _history(spec: Any) -> dict[str, Any]:
    return {"class_name": _TENSOR, "config": {"shape": None, "dtype": None, "keras_history": list(spec[:3])}}


def _node(node: Any, label: str) -> Any:
    """A Keras 2 node `[[name, node, tensor, kwargs], ...]` as a Keras 3 `{"args", "kwargs"}` node."""
    if isinstance(node, dict):  # Keras 3; `mask=None` (written for model calls) means no mask
        kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if not (k == "mask" and v is None)}
        return {**node, "kwargs": kwargs}
    if not isinstance(node, list) or not all(isinstance(item, list) and len(item) >= 3 for item in node):
        raise ValueError(f"The inbound node of {label} is not in a known Keras format. Received: {node!r}")
    tensors, kwargs = [], {}
    for item in node:
        tensors.append(_history(item))
        extra = item[3] if len(item) > 3 else {}
        kwargs.update({k: v for k, v in (extra or {}).items() if k != "training" and not (k == "mask" and v is None)})
    return {"args": [tensors[0]] if len(tensors) == 1 else [tensors], "kwargs": kwargs}


def _ends(spec: Any) -> Any:
    """Model inputs/outputs: a Keras 2 single `[name, n, t]` stays; lists of them stay lists."""
    if isinstance(spec, dict):
        return {k: _ends(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)) and len(spec) >= 3 and isinstance(spec[0], str):
        return [spec[0], int(spec[1]), int(spec[2])]
    return [_ends(s) for s in spec]


def translate_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Keras (2 or 3) model config as one nerve's `deserialize_object` builds; raises on what it cannot."""
    return _Translator(custom_objects).entry(copy.deepcopy(config), "the model")


def is_keras_config(config: dict[str, Any], metadata: dict[str, Any] | None = None) -> bool:
    """Whether a model config (and the archive's metadata.json) was written by Keras, not nerve."""
    if metadata is not None:
        return "nerve_version" not in metadata
    return "keras_version" in config or str(config.get("module") or "").startswith("keras")


# ---------------------------------------------------------------- compile settings
def _optimizer(spec: Any, custom_objects: dict[str, Any] | None) -> Any:
    if not isinstance(spec, dict):
        return spec
    spec = dict(spec)
    name = str(spec.get("class_name", ""))
    if name.startswith("Custom>") and get_registered_object(name, custom_objects) is None:
        spec["class_name"] = name[len("Custom>"):]  # tf.keras 2.11-2.12 wrote built-ins so
    inner = dict(spec.get("config", {}))
    if "lr" in inner:
        inner.setdefault("learning_rate", inner.pop("lr"))
    for key, harmless in _OPTIMIZER_HARMLESS.items():
        if key in inner:
            if not harmless(inner[key]):
                raise ValueError(f"optimizer setting {key}={inner[key]!r} is not supported by nerve")
            del inner[key]
    return {**spec, "config": inner}


def _loss_or_metric(spec: Any) -> Any:
    if isinstance(spec, list):
        return [_loss_or_metric(s) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _loss_or_metric(v) for k, v in spec.items()}
    if isinstance(spec, dict):
        inner = dict(spec.get("config") or {})
        if spec["class_name"] == "MeanMetricWrapper" and "name" in inner:  # Keras 2 string metric
            return inner["name"]
        if inner.get("reduction") == "auto":  # Keras 2's default reduction
            inner["reduction"] = "sum_over_batch_size"
        return {**spec, "config": inner}
    return spec


def compile_settings(raw: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keras 3's `compile_config` or Keras 2's `training_config` as nerve's compile settings."""
    return {
        "optimizer": _optimizer(raw.get("optimizer", raw.get("optimizer_config")), custom_objects),
        "loss": _loss_or_metric(raw.get("loss")),
        "loss_weights": raw.get("loss_weights"),
        "metrics": _loss_or_metric(raw.get("metrics")),
        "weighted_metrics": _loss_or_metric(raw.get("weighted_metrics")),
    }


