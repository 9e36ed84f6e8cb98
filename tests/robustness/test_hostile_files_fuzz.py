"""Hostile and broken model files, fuzzed: a load gives a valid model or nerve's documented error, and does nothing else.

Valid files of every format nerve reads are built once from a small compiled and
trained model: `.keras` (nerve's, and one laid out as Keras 3 writes it, which goes
through the Keras import path), `.h5` (nerve's, and a tf.keras 2 legacy file),
`.weights.h5`, and the JSON and YAML configs. Hypothesis then mutates them:

- bytes: truncation at any length, flipped bytes, overwritten runs, and huge
  declared lengths (2^62, 2^63-1, 2^64-1, 2^40, 2^32 written over every 8-byte
  field holding a small number: HDF5 dataspace dims, heap and object sizes; and
  0xFFFFFFFF-style values over 4-byte fields: zip header sizes and offsets);
- configs: classes, modules and registered names set to os.system,
  subprocess.Popen, builtins.eval, __import__, ...; Keras Lambda layers holding
  marshalled bytecode; "function" entries and strings naming os.system as
  activations, initializers, losses, metrics, optimizers and learning-rate
  schedules; absurd sizes (units and input shapes of 2^62, 2^40, 10^12, -1);
  configs nested thousands deep; a million-value list; arbitrary JSON values over
  arbitrary keys;
- YAML: tags that construct Python objects (!!python/object/apply:os.system,
  !!python/object/new:subprocess.Popen, !!python/name:builtins.eval, ...), and
  alias bombs;
- archives: members named '../evil', absolute and drive paths, duplicated
  config.json, declared sizes that lie (2^62, 2^33, off by one);
- HDF5 structure: external links, soft links, external raw-data storage and
  virtual datasets pointing at another file, filters HDF5 would load as plugins,
  weights of 2^62 elements, strings and groups where weights belong, config
  attributes of the wrong type.

Every example must either load a valid model or raise `nerve.saving.ModelFileError`
(or `IntegrityError` for a sealed file whose bytes changed), naming the file. While
it loads, an audit hook (`sys.addaudithook`) records any import, process, socket,
URL, pickle, marshal, ctypes, code construction, exec/compile, file change or
listing, and any `open` other than a read of the model file itself: none may
happen. A failed `load_weights` must leave the model's weights unchanged.

`test_bombs_and_absurd_shapes_are_refused_before_allocating` measures memory: a
zip member that inflates to 1 GiB, headers declaring 2^62 bytes, configs declaring
2^62-element weights, and a 2^62-element HDF5 weight each stay under 200 MB.

The examples are derandomized (the same on every run: about 4,900, some 20 s on
2 cores); the last test checks and prints how many ran and what each gave
(`pytest -s` shows it). NERVE_FUZZ_SCALE=10 runs ten times as many, drawn afresh.
The audit hook cannot see what libhdf5 does in C (it opens files without Python's
`open`): the HDF5 cases check instead that the other file's data never reaches a
weight.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import copy
import io
import json
import marshal
import os
import resource
import sys
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from typing import Any, ClassVar

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nerve
from nerve.layers import BatchNormalization, Dense
from nerve.saving import ModelFileError
from nerve.saving.integrity import IntegrityError

DOCUMENTED = (ModelFileError, IntegrityError)
OUTCOMES: collections.Counter = collections.Counter()  # (group, outcome) -> examples
# NERVE_FUZZ_SCALE=20 runs 20 times the examples, with fresh random draws each run (a longer campaign);
# by default the examples are derandomized: the same on every run, and CI is deterministic.
SCALE = int(os.environ.get("NERVE_FUZZ_SCALE", "1"))
FUZZ = settings(derandomize=SCALE == 1, deadline=None, database=None, print_blob=SCALE == 1,
                suppress_health_check=list(HealthCheck))


def _examples(count: int) -> int:
    return count * SCALE


# ---------------------------------------------------------------- the audit hook
class _Watch:
    """What the audit hook saw while `active`; installed once per session, a no-op otherwise."""

    active = False
    busy = False
    allowed: frozenset = frozenset()
    events: ClassVar[list] = []


# Events that a load must never cause (prefixes; "open" is handled apart).
_FORBIDDEN = (
    "import", "exec", "compile", "code.__new__", "function.__new__", "marshal.", "pickle.", "ctypes.",
    "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.startfile",
    "os.kill", "os.killpg", "pty.", "socket.", "urllib.", "http.", "ftplib.", "smtplib.", "poplib.", "imaplib.",
    "nntplib.", "telnetlib.", "webbrowser.", "sqlite3.", "shutil.", "tempfile.", "glob.", "os.listdir",
    "os.scandir", "os.walk", "os.fwalk", "os.remove", "os.unlink", "os.rename", "os.replace", "os.rmdir", "os.mkdir",
    "os.chmod", "os.chown", "os.chdir", "os.truncate", "os.symlink", "os.link", "os.utime", "os.putenv",
    "os.unsetenv", "sys.addaudithook", "sys.settrace", "sys.setprofile", "cpython.run_",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _read_of_model_file(args: tuple) -> bool:
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if isinstance(path, int) or path is None:
        return False
    if os.path.realpath(os.fsdecode(path)) not in _Watch.allowed:
        return False
    if isinstance(mode, str):
        return not set(mode) & set("wax+")
    return not (flags or 0) & _WRITE_FLAGS


def _audit(event: str, args: tuple) -> None:
    if not _Watch.active or _Watch.busy:
        return
    _Watch.busy = True
    try:
        if event == "open":
            if not _read_of_model_file(args):
                _Watch.events.append((event, repr(args)[:200]))
        elif event.startswith(_FORBIDDEN):
            _Watch.events.append((event, repr(args)[:200]))
    finally:
        _Watch.busy = False


sys.addaudithook(_audit)  # once: pytest imports this module once per session


@contextlib.contextmanager
def _watched(*paths: str):
    _Watch.events = []
    _Watch.allowed = frozenset(os.path.realpath(p) for p in paths)
    _Watch.active = True
    try:
        yield _Watch.events
    finally:
        _Watch.active = False


def _attempt(group: str, load: Callable[[], Any], path: str | None = None, model: Any = None) -> Any:
    """Run one load under the watch; it must give a model (or None for load_weights) or a documented error."""
    before = [w.copy() for w in model.get_weights()] if model is not None else None
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with _watched(*([path] if path else [])) as events:
            try:
                result = load()
            except DOCUMENTED as err:
                result = err
            except Exception as err:
                raise AssertionError(f"[{group}] {type(err).__module__}.{type(err).__qualname__} escaped instead "
                                     f"of ModelFileError: {str(err)[:500]}") from err
    assert not events, f"[{group}] the load did what no load may do: {events[:5]}"
    if isinstance(result, Exception):
        if path is not None:
            assert os.path.basename(path) in str(result), f"[{group}] the error does not name the file: {result}"
        if before is not None:
            after = model.get_weights()
            assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after)), \
                f"[{group}] a failed load_weights changed the model: {result}"
        OUTCOMES[(group, type(result).__name__)] += 1
    else:
        # A file's model is built (its weights were loaded); a JSON/YAML config may describe an unbuilt one.
        assert result is None or (isinstance(result, nerve.Model) and (result.built or path is None)), \
            f"[{group}] gave {result!r}"
        OUTCOMES[(group, "loaded")] += 1
    return result


# ---------------------------------------------------------------- the valid files
def _model() -> Any:
    model = nerve.Sequential([nerve.Input((4,)), Dense(3, activation="relu"), BatchNormalization(),
                              Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.fit(x, np.eye(2)[np.arange(8) % 2], epochs=1, verbose=0)
    return model


def _unseal(data: bytes) -> bytes:
    """The same file without its SHA-256 seal (as Keras or an attacker writes it), so the parsers see the bytes."""
    if data.startswith(b"PK"):
        return data[:-77] + b"x" * 77  # the zip comment: same length, no seal tag
    return bytes(512) + data[512:]  # the HDF5 user block


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _keras2_h5(path: str, model: Any) -> None:
    """A file laid out as tf.keras 2's model.save('x.h5'), with the model's weights."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    def layer_config(name, units, activation, **extra):
        return {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
                "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None, **extra}
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Dense", "config": layer_config("d1", 3, "relu", batch_input_shape=[None, 4])},
        {"class_name": "Dense", "config": layer_config("d2", 2, "softmax")}]},
        "keras_version": "2.12.0", "backend": "tensorflow"}
    training = {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "loss_weights": None,
                "weighted_metrics": None,
                "optimizer_config": {"class_name": "Adam", "config": {"lr": 0.001, "beta_1": 0.9}}}
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "2.12.0"
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["model_config"] = json.dumps(config).encode("utf8")
        handle.attrs["training_config"] = json.dumps(training).encode("utf8")
        group = handle.create_group("model_weights")
        group.attrs["layer_names"] = np.array([b"d1", b"d2"])
        for name, layer in zip(("d1", "d2"), dense):
            sub = group.create_group(name)
            sub.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            kernel, bias = layer.get_weights()
            sub.create_dataset(f"{name}/kernel:0", data=kernel)
            sub.create_dataset(f"{name}/bias:0", data=bias)


class Corpus:
    """The valid files, their unsealed bytes, the configs, and a model to load weights into."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        model = _model()
        self.model = model
        self.sealed: dict[str, bytes] = {}
        for name in ("nerve.keras", "nerve.h5"):
            model.save(os.path.join(folder, name))
        model.save_weights(os.path.join(folder, "nerve.weights.h5"))
        for name in ("nerve.keras", "nerve.h5", "nerve.weights.h5"):
            with open(os.path.join(folder, name), "rb") as handle:
                self.sealed[name] = handle.read()
        self.files = {name: _unseal(data) for name, data in self.sealed.items()}
        with zipfile.ZipFile(io.BytesIO(self.sealed["nerve.keras"])) as archive:
            self.members = {name: archive.read(name) for name in archive.namelist()}
        self.config = json.loads(self.members["config.json"])
        keras_metadata = json.dumps({"keras_version": "3.5.0", "date_saved": "2024-01-01@00:00:00"}).encode()
        self.files["keras3.keras"] = _zip([("metadata.json", keras_metadata),
                                           ("config.json", self.members["config.json"]),
                                           ("model.weights.h5", self.members["model.weights.h5"])])
        legacy = os.path.join(folder, "keras2.h5")
        _keras2_h5(legacy, model)
        with open(legacy, "rb") as handle:
            self.files["keras2.h5"] = handle.read()
        self.json = model.to_json()
        self.yaml = model.to_yaml()
        self.secret = os.path.join(folder, "secret.bin")  # what a hostile file would like nerve to read
        with open(self.secret, "wb") as handle:
            handle.write(np.arange(64, dtype="<f4").tobytes())
        self.warm_up()

    def path(self, name: str) -> str:
        return os.path.join(self.folder, "case_" + name)

    def write(self, name: str, data: bytes) -> str:
        path = self.path(name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def load_file(self, name: str, data: bytes) -> Callable[[], Any]:
        path = self.write(name, data)
        if name.endswith(".weights.h5"):
            return lambda: self.model.load_weights(path)
        return lambda: nerve.models.load_model(path)

    def warm_up(self) -> None:
        """Load every valid file once, so the lazy imports of a first load happen before anything is watched.

        In a fresh process those are `encodings.cp437` (zipfile's decoder for member names, at the first
        `.keras`) and `nerve.optimizers.schedules` (at the first learning-rate schedule a config names). Both
        are fixed modules of the standard library and nerve, never a name taken from a file.
        """
        import encodings.cp437  # noqa: F401

        from nerve.optimizers import schedules  # noqa: F401

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, data in self.files.items():
                self.load_file(name, data)()
            for name, data in self.sealed.items():
                self.load_file(name, data)()
            nerve.models.model_from_json(self.json)
            nerve.models.model_from_yaml(self.yaml)
            for attempt in (lambda: nerve.models.model_from_json("{"), lambda: nerve.models.model_from_yaml("- [")):
                with contextlib.suppress(ModelFileError):
                    attempt()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(str(tmp_path_factory.mktemp("hostile")))


def test_valid_files_load_under_the_watch(corpus):
    for name, data in corpus.files.items():
        model = _attempt("valid", corpus.load_file(name, data), corpus.path(name))
        assert OUTCOMES[("valid", "loaded")], name
        if model is not None:
            assert [w.shape for w in model.get_weights()[:2]] == [(4, 3), (3,)]
    for name, data in corpus.sealed.items():
        _attempt("valid", corpus.load_file(name, data), corpus.path(name))
    _attempt("valid", lambda: nerve.models.model_from_json(corpus.json))
    _attempt("valid", lambda: nerve.models.model_from_yaml(corpus.yaml))
    assert OUTCOMES[("valid", "loaded")] == len(corpus.files) + len(corpus.sealed) + 2


# ---------------------------------------------------------------- bytes
HUGE8 = [2**62, 2**63 - 1, 2**64 - 1, 2**40, 2**32]
HUGE4 = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000]


def _fields(data: bytes, width: int, most: int) -> list[int]:
    """Offsets of `width`-byte little-endian fields holding 1..`most`: lengths, sizes, dims, offsets."""
    return [i for i in range(len(data) - width) if 0 < int.from_bytes(data[i:i + width], "little") <= most]


def _mutation(data: bytes) -> st.SearchStrategy:
    n = len(data)
    at = st.integers(0, n - 1)
    fields8, fields4 = _fields(data, 8, 4096), _fields(data, 4, 1 << 20)
    return st.one_of(
        at.map(lambda k: ("truncate", k)),
        st.lists(st.tuples(at, st.integers(0, 255)), min_size=1, max_size=8).map(lambda f: ("flip", f)),
        st.tuples(at, st.binary(min_size=1, max_size=64)).map(lambda t: ("overwrite", t)),
        st.lists(st.tuples(st.sampled_from(fields8), st.sampled_from(HUGE8)), min_size=1, max_size=3)
        .map(lambda f: ("huge8", f)),
        st.lists(st.tuples(st.sampled_from(fields4), st.sampled_from(HUGE4)), min_size=1, max_size=3)
        .map(lambda f: ("huge4", f)),
    )


def _apply(data: bytes, mutation: tuple) -> bytes:
    kind, arg = mutation
    out = bytearray(data)
    if kind == "truncate":
        return bytes(out[:arg])
    if kind == "flip":
        for at, value in arg:
            out[at] = value
    elif kind == "overwrite":
        at, chunk = arg
        out[at:at + len(chunk)] = chunk
        out = out[:len(data)]
    else:
        width = 8 if kind == "huge8" else 4
        for at, value in arg:
            out[at:at + width] = value.to_bytes(width, "little")
    return bytes(out)


@pytest.mark.parametrize("name, examples", [("nerve.keras", 380), ("keras3.keras", 230), ("nerve.h5", 560),
                                            ("keras2.h5", 350), ("nerve.weights.h5", 420)])
def test_damaged_bytes(corpus, name, examples):
    plain, sealed = corpus.files[name], corpus.sealed.get(name)
    strategies = {False: _mutation(plain)}
    if sealed is not None:
        strategies[True] = _mutation(sealed)
    group = f"bytes:{name}"

    @settings(FUZZ, max_examples=_examples(examples))
    @given(st.data())
    def run(data):
        use_seal = sealed is not None and data.draw(st.integers(0, 7)) == 0  # mostly unsealed: reach the parsers
        mutation = data.draw(strategies[use_seal])
        mutated = _apply(sealed if use_seal else plain, mutation)
        model = corpus.model if name.endswith(".weights.h5") else None
        _attempt(group, corpus.load_file(name, mutated), corpus.path(name), model)

    run()
    assert sum(v for (g, _), v in OUTCOMES.items() if g == group) >= _examples(examples)


# ---------------------------------------------------------------- configs
HOSTILE_NAMES = [("os", "system"), ("subprocess", "Popen"), ("builtins", "eval"), ("builtins", "exec"),
                 ("builtins", "__import__"), ("importlib", "import_module"), ("posix", "system"),
                 ("pickle", "loads"), ("nerve_hostile_module", "Evil"), ("__main__", "Evil"), ("os.path", "join"),
                 ("keras.layers", "Lambda"), ("keras.layers", "TFOpLambda"), ("nerve.saving.saving_api", "load_model"),
                 ("torch", "load"), ("numpy", "load"), ("ctypes", "CDLL")]
COMMANDS = {"command": "touch /tmp/nerve-pwned", "args": ["touch", "/tmp/nerve-pwned"], "source": "__import__('os')",
            "name": "/tmp/nerve-pwned", "file": "/etc/passwd", "url": "http://127.0.0.1:9/x"}


def _lambda_config() -> dict:
    code = compile("__import__('os').system('touch /tmp/nerve-pwned')", "<file>", "exec")
    raw = base64.b64encode(marshal.dumps(code)).decode()
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "evil", "trainable": True, "dtype": "float32",
                       "function": {"class_name": "__lambda__", "config": {"code": raw, "defaults": None,
                                                                           "closure": None}},
                       "output_shape": None, "arguments": {}}}


def _function_entry(module: str, name: str) -> dict:
    return {"module": module, "class_name": "function", "config": name, "registered_name": f"{module}.{name}"}


json_scalars = st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats(allow_nan=True) | st.text(max_size=12)
json_shallow = st.lists(json_scalars, max_size=4) | st.dictionaries(st.text(max_size=8), json_scalars, max_size=4)
json_values = json_scalars | json_shallow | st.lists(json_shallow, max_size=3) | st.dictionaries(
    st.text(max_size=8), json_shallow, max_size=3)
hostile_name = st.sampled_from(HOSTILE_NAMES)
huge_int = st.sampled_from([2**62, 2**63 - 1, 2**40, 10**12, 2**33, -1, -2**62, 0])
layer_index = st.integers(0, 3)  # InputLayer, Dense, BatchNormalization, Dense
config_key = st.sampled_from(["units", "activation", "kernel_initializer", "bias_initializer", "name", "dtype",
                              "use_bias", "axis", "momentum", "batch_shape", "kernel_regularizer", "trainable",
                              "epsilon", "center", "gamma_initializer", "build_config", "config", "class_name",
                              "module", "registered_name", "inbound_nodes", "layers"])

DEEP = "__nerve_deep__"


def _layers(config: dict) -> list:
    return config["config"]["layers"]


@st.composite
def config_mutation(draw, base: dict) -> tuple[str, dict, int]:
    """(kind, a mutated copy of `base`, depth): depth is how deep to nest for the "deep-" kinds."""
    config = copy.deepcopy(base)
    layers = _layers(config)
    kind = draw(st.sampled_from(["class", "top-class", "lambda", "function", "compile", "huge", "deep-model",
                                 "deep-list", "junk", "drop"]))
    depth = 0
    if kind in ("class", "top-class"):
        module, name = draw(hostile_name)
        entry = config if kind == "top-class" else layers[draw(layer_index)]
        field = draw(st.sampled_from(["both", "registered_name", "class_name"]))
        if field in ("both", "class_name"):
            entry["class_name"] = name if field == "both" else f"{module}.{name}"
            entry["module"] = module
        if field in ("both", "registered_name"):
            entry["registered_name"] = f"{module}>{name}" if draw(st.booleans()) else f"{module}.{name}"
        entry["config"] = {**(entry.get("config") or {}), **COMMANDS}
    elif kind == "lambda":
        layers.insert(draw(st.integers(1, len(layers))), _lambda_config())
    elif kind == "function":
        module, name = draw(hostile_name)
        target = layers[draw(st.sampled_from([1, 3]))]["config"]
        key = draw(st.sampled_from(["activation", "kernel_initializer", "bias_initializer", "kernel_regularizer"]))
        target[key] = draw(st.sampled_from([_function_entry(module, name), f"{module}.{name}", name,
                                            {"class_name": name, "module": module, "config": COMMANDS}]))
    elif kind == "compile":
        module, name = draw(hostile_name)
        compile_config = config.setdefault("compile_config", {"optimizer": {"class_name": "Adam", "config": {}},
                                                              "loss": "mse"})
        where = draw(st.sampled_from(["schedule", "schedule-function", "loss", "metric", "optimizer"]))
        if where == "schedule":
            compile_config["optimizer"]["config"]["learning_rate"] = {
                "module": module, "class_name": name, "config": COMMANDS, "registered_name": None}
        elif where == "schedule-function":
            compile_config["optimizer"]["config"]["learning_rate"] = _function_entry(module, name)
        elif where == "loss":
            compile_config["loss"] = draw(st.sampled_from([_function_entry(module, name), f"{module}.{name}",
                                                           {"module": module, "class_name": name, "config": {}}]))
        elif where == "metric":
            compile_config["metrics"] = [draw(st.sampled_from([_function_entry(module, name), f"{module}.{name}"]))]
        else:
            compile_config["optimizer"] = {"module": module, "class_name": name, "config": COMMANDS}
    elif kind == "huge":
        size = draw(huge_int)
        where = draw(st.sampled_from(["units", "units-2", "batch_shape", "build_config", "model_build", "axis"]))
        if where == "units":
            layers[1]["config"]["units"] = size
        elif where == "units-2":
            layers[3]["config"]["units"] = size
        elif where == "batch_shape":
            layers[0]["config"]["batch_shape"] = [None, size]
        elif where == "build_config":
            layers[1]["build_config"] = {"input_shape": [None, size]}
            layers.pop(0)
            config["config"].pop("build_input_shape", None)
        elif where == "model_build":
            layers.pop(0)
            config["config"]["build_input_shape"] = [draw(st.sampled_from([None, size])), size]
        else:
            layers[2]["config"]["axis"] = size
    elif kind == "deep-model":
        depth = draw(st.sampled_from([40, 200, 1000, 5000]))
    elif kind == "deep-list":
        depth = draw(st.sampled_from([150, 1000, 20000, 200000]))
        layers[draw(layer_index)]["config"][draw(config_key)] = DEEP
    elif kind == "junk":
        for _ in range(draw(st.integers(1, 3))):
            entry = layers[draw(layer_index)] if draw(st.booleans()) else config
            target = entry["config"] if draw(st.booleans()) and isinstance(entry.get("config"), dict) else entry
            target[draw(config_key)] = draw(json_values)
    else:  # drop
        entry = layers[draw(layer_index)]
        target = entry["config"] if draw(st.booleans()) else entry
        keys = sorted(target)
        if keys:
            target.pop(draw(st.sampled_from(keys)))
    return kind, config, depth


def _nest_models(text: str, depth: int) -> str:
    head = '{"module": "nerve.models", "class_name": "Sequential", "config": {"name": "n", "layers": ['
    return head * depth + text + "]}}" * depth


def _render(kind: str, config: dict, depth: int, fmt: str) -> str:
    import yaml

    text = json.dumps(config) if fmt == "json" else yaml.safe_dump(config, default_flow_style=True, width=1 << 30)
    if kind == "deep-model":
        text = _nest_models(json.dumps(config), depth)  # JSON is valid YAML flow style too
    if kind == "deep-list":
        text = text.replace(json.dumps(DEEP) if fmt == "json" else DEEP, "[" * depth + "]" * depth)
    return text


@pytest.mark.parametrize("target, examples", [("nerve.keras", 560), ("keras3.keras", 350), ("nerve.h5", 320),
                                              ("json", 610), ("yaml", 230)])
def test_hostile_configs(corpus, target, examples):
    group = f"config:{target}"
    base = corpus.config if target != "nerve.h5" else {k: v for k, v in corpus.config.items()
                                                      if k != "compile_config"}

    @settings(FUZZ, max_examples=_examples(examples))
    @given(config_mutation(base))
    def run(mutation):
        kind, config, depth = mutation
        if target in ("json", "yaml"):
            text = _render(kind, config, depth, target)
            load = getattr(nerve.models, f"model_from_{target}")
            _attempt(group, lambda: load(text))
            return
        text = _render(kind, config, depth, "json")
        if target.endswith(".keras"):
            members = dict(zip(["metadata.json", "config.json", "model.weights.h5"],
                               [corpus.members["metadata.json"] if target == "nerve.keras" else
                                b'{"keras_version": "3.5.0"}', text.encode(), corpus.members["model.weights.h5"]]))
            data = _zip(list(members.items()))
        else:
            path = corpus.write(target, corpus.files[target])
            with h5py.File(path, "a") as handle:
                handle.attrs["model_config"] = text
                if kind == "compile":
                    handle.attrs["compile_config"] = json.dumps(config["compile_config"])
            with open(path, "rb") as handle:
                data = handle.read()
        _attempt(group, corpus.load_file(target, data), corpus.path(target))

    run()
    outcomes = {o: v for (g, o), v in OUTCOMES.items() if g == group}
    assert sum(outcomes.values()) >= examples


def test_a_million_values_and_a_yaml_alias_bomb_are_refused(corpus):
    wide = json.dumps(corpus.config).replace('"layers": [', '"layers": [' + "0," * 1_100_000, 1)
    result = _attempt("config:size", lambda: nerve.models.model_from_json(wide))
    assert isinstance(result, ModelFileError) and "more than 1000000 values" in str(result)
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}, *a{i - 1}]\n" for i in range(1, 9))
    result = _attempt("config:size", lambda: nerve.models.model_from_yaml(laughs))
    assert isinstance(result, ModelFileError) and "more than 1000000 values" in str(result)


# ---------------------------------------------------------------- YAML tags
YAML_TAGS = [
    "!!python/object/apply:os.system ['touch /tmp/nerve-pwned']",
    "!!python/object/apply:subprocess.Popen [['touch', '/tmp/nerve-pwned']]",
    "!!python/object/new:subprocess.Popen {args: [['touch', '/tmp/nerve-pwned']]}",
    "!!python/object/apply:builtins.eval [\"__import__('os').system('touch /tmp/nerve-pwned')\"]",
    "!!python/object/apply:builtins.exec [\"import os\"]",
    "!!python/name:builtins.eval ''",
    "!!python/name:os.system ''",
    "!!python/module:os ''",
    "!!python/module:nerve_hostile_module ''",
    "!!python/object:nerve.layers.Dense {units: 2}",
    "!!python/object/new:type [Evil, [], {}]",
    "!!python/tuple [1, 2]",
    "!!python/bytes YWJj",
    "!!binary YWJj",
    "!!set {a, b}",
    "!!timestamp 2001-12-14t21:59:43.10-05:00",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['id']",
    "!custom_tag {x: 1}",
]


def test_yaml_tags_that_construct_python_objects(corpus):
    import yaml

    config = copy.deepcopy(corpus.config)
    placeholder = "__nerve_tag__"

    @settings(FUZZ, max_examples=_examples(80))
    @given(st.sampled_from(YAML_TAGS), st.sampled_from(["document", "activation", "config", "class_name", "key"]))
    def run(tag, where):
        if where == "document":
            text = tag
        else:
            mutated = copy.deepcopy(config)
            layer = _layers(mutated)[1]
            if where == "activation":
                layer["config"]["activation"] = placeholder
            elif where == "config":
                layer["config"] = placeholder
            elif where == "class_name":
                layer["class_name"] = placeholder
            else:
                layer["config"]["units"] = placeholder
            text = yaml.safe_dump(mutated, default_flow_style=True, width=1 << 30).replace(placeholder, tag)
        _attempt("yaml-tags", lambda: nerve.models.model_from_yaml(text))

    run()
    assert not os.path.exists("/tmp/nerve-pwned")
    assert sum(v for (g, _), v in OUTCOMES.items() if g == "yaml-tags") >= 60


# ---------------------------------------------------------------- archives
def _lying_zip(members: list[tuple[str, bytes]], lies: dict[str, int]) -> bytes:
    """An archive whose central directory declares other uncompressed sizes for some members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
        for name, size in lies.items():
            archive.getinfo(name).file_size = size
    return buffer.getvalue()


def test_hostile_archives(corpus):
    names = st.sampled_from(["../evil", "../../../../tmp/nerve-pwned", "/etc/passwd", "/tmp/nerve-pwned",
                             "C:\\evil", "..\\evil", "assets/../../evil", "config.json", "model.weights.h5",
                             "metadata.json", "a\x00b"])
    sizes = st.sampled_from([2**62, 2**40, 2**33, 2**32 - 1, 0, 1, -1])

    @settings(FUZZ, max_examples=_examples(350))
    @given(st.sampled_from(["nerve.keras", "keras3.keras"]), st.sampled_from(["extra", "lie", "both"]),
           st.lists(names, min_size=1, max_size=3), st.dictionaries(
               st.sampled_from(["config.json", "model.weights.h5", "metadata.json"]), sizes, min_size=1),
           st.sampled_from(["load_model", "load_weights"]))
    def run(target, kind, extra, lies, how):
        with zipfile.ZipFile(io.BytesIO(corpus.files[target])) as archive:
            members = [(n, archive.read(n)) for n in archive.namelist()]
        if kind in ("extra", "both"):
            members += [(n, b'{"class_name": "Evil"}') for n in extra]
        lies = {k: v for k, v in lies.items() if v >= 0} if kind != "extra" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about duplicate names
            data = _lying_zip(members, lies)
        path = corpus.write(target, data)
        if how == "load_model":
            _attempt("archives", lambda: nerve.models.load_model(path), path)
        else:
            _attempt("archives", lambda: corpus.model.load_weights(path), path, corpus.model)

    run()
    assert sum(v for (g, _), v in OUTCOMES.items() if g == "archives") >= 330


# ---------------------------------------------------------------- HDF5 structure
def _other_file(corpus) -> str:
    path = os.path.join(corpus.folder, "other.h5")
    if not os.path.exists(path):
        with h5py.File(path, "w") as handle:
            handle["vars/0"] = np.full((4, 3), 7.0, "f4")
            handle["vars/1"] = np.zeros(3, "f4")
            handle.attrs["model_config"] = corpus.json
    return path


def _datasets(handle: h5py.File) -> list[str]:
    found: list[str] = []
    handle.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


def _replace(handle: h5py.File, name: str, make: Callable[[h5py.Group, str], Any]) -> None:
    parent, _, leaf = name.rpartition("/")
    group = handle[parent] if parent else handle
    del group[leaf]
    make(group, leaf)


def _h5_attack(kind: str, handle: h5py.File, name: str, corpus) -> None:
    other = _other_file(corpus)
    shape = handle[name].shape
    if kind == "external-link":
        parent = name.rpartition("/")[0]
        if parent:
            _replace(handle, parent, lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(other, "/vars")))
    elif kind == "soft-link":
        _replace(handle, name, lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink("/" + _datasets(handle)[0])))
    elif kind == "external-storage":
        count = int(np.prod(shape)) if shape else 1
        _replace(handle, name, lambda g, leaf: g.create_dataset(
            leaf, shape=shape, dtype="<f4", external=[(corpus.secret, 0, 4 * count)]))
    elif kind == "virtual":
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(other, "vars/0", shape=(4, 3))
        _replace(handle, name, lambda g, leaf: g.create_virtual_dataset(leaf, layout))
    elif kind == "plugin-filter":
        def make(g, leaf):
            plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            plist.set_chunk(tuple(max(d, 1) for d in shape) or (1,))
            plist.set_filter(32004, h5py.h5z.FLAG_OPTIONAL, ())  # LZ4: an HDF5 plugin, loaded from disk
            space = h5py.h5s.create_simple(tuple(shape) or (1,))
            h5py.h5d.create(g.id, leaf.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=plist).close()
        _replace(handle, name, make)
    elif kind == "huge-shape":
        _replace(handle, name, lambda g, leaf: g.create_dataset(
            leaf, shape=(2**62,) + tuple(shape[1:]), dtype="f4", chunks=(1,) + tuple(shape[1:])))
    elif kind == "same-size-huge-dims":
        _replace(handle, name, lambda g, leaf: g.create_dataset(
            leaf, shape=(2**31, 2**31), dtype="f4", chunks=(1, 1)))
    elif kind == "strings":
        _replace(handle, name, lambda g, leaf: g.create_dataset(leaf, data=np.array([b"a", b"b"])))
    elif kind == "vlen":
        _replace(handle, name, lambda g, leaf: g.create_dataset(
            leaf, shape=(2,), dtype=h5py.vlen_dtype(np.dtype("int32"))))
    elif kind == "reference":
        _replace(handle, name, lambda g, leaf: g.create_dataset(
            leaf, data=np.array([handle.ref], dtype=h5py.ref_dtype)))
    elif kind == "group":
        _replace(handle, name, lambda g, leaf: g.create_group(leaf))
    elif kind == "config-type":
        for key in ("model_config", "training_config", "compile_config"):
            if key in handle.attrs:
                handle.attrs[key] = np.arange(3)
    elif kind == "config-vlen":
        for key in ("model_config", "training_config", "compile_config"):
            if key in handle.attrs:
                value = np.empty(1, dtype=object)
                value[0] = np.arange(3, dtype="int32")
                handle.attrs.create(key, value, dtype=h5py.vlen_dtype(np.dtype("int32")))
    elif kind == "layer-names":
        group = handle.get("model_weights", handle)
        group.attrs["layer_names"] = np.array([b"/model_weights/../../etc", b"d1"])
    elif kind == "names-type":
        group = handle.get("model_weights", handle)
        group.attrs["layer_names"] = np.arange(2**12)


H5_ATTACKS = ["external-link", "soft-link", "external-storage", "virtual", "plugin-filter", "huge-shape",
              "same-size-huge-dims", "strings", "vlen", "reference", "group", "config-type", "config-vlen",
              "layer-names", "names-type"]


def test_hostile_hdf5_structure(corpus):
    files = {name: corpus.files[name] for name in ("nerve.h5", "nerve.weights.h5", "keras2.h5")}
    dataset_names = {}
    for name, data in files.items():
        with h5py.File(io.BytesIO(data), "r") as handle:
            dataset_names[name] = _datasets(handle)

    @settings(FUZZ, max_examples=_examples(440))
    @given(st.sampled_from(sorted(files)), st.sampled_from(H5_ATTACKS), st.data())
    def run(target, attack, data):
        name = data.draw(st.sampled_from(dataset_names[target]))
        path = corpus.write(target, files[target])
        with h5py.File(path, "a") as handle:
            _h5_attack(attack, handle, name, corpus)
        with open(path, "rb") as handle:
            mutated = handle.read()
        model = corpus.model if target.endswith(".weights.h5") or data.draw(st.booleans()) else None
        path = corpus.write(target, mutated)
        if model is not None:
            result = _attempt("hdf5", lambda: model.load_weights(path), path, model)
        else:
            result = _attempt("hdf5", lambda: nerve.models.load_model(path), path)
        if attack in ("external-link", "external-storage", "virtual") and not isinstance(result, Exception):
            weights = (model or result).get_weights()
            assert not any(np.array_equal(w.ravel()[:4], [0, 1, 2, 3]) for w in weights), "read the secret file"
            assert not any(np.all(w == 7.0) and w.size > 1 for w in weights), "read the other file"

    run()
    assert sum(v for (g, _), v in OUTCOMES.items() if g == "hdf5") >= 420


# ---------------------------------------------------------------- memory
def _peak_rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets the peak RSS (Linux), so the next reading is this load's own peak
        return True
    except OSError:
        return False


def _measured(load: Callable[[], Any]) -> tuple[Exception, int, int]:
    """The error, the peak RSS growth (bytes, -1 where it cannot be reset) and the traced Python peak."""
    reset = _peak_rss_reset()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            load()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024 if reset else -1
    return info.value, grown, traced


def _deflated_zeros(size: int) -> bytes:
    """Raw deflate data that inflates to `size` zero bytes: one literal, then 258-byte matches at distance 1
    (fixed Huffman, 13 bits each: 6.5 MB per GiB), built in milliseconds from a repeated 13-byte period."""
    out, acc, width = bytearray(), 0, 0

    def put(value: int, bits: int, huffman: bool = False) -> None:
        nonlocal acc, width
        for i in (range(bits - 1, -1, -1) if huffman else range(bits)):  # Huffman codes go most significant first
            acc |= ((value >> i) & 1) << width
            width += 1
            if width == 8:
                out.append(acc)
                acc = width = 0

    def match() -> None:
        put(0xC5, 8, True)  # length 258: symbol 285
        put(0, 5, True)  # distance 1: code 0

    matches, literals = divmod(size - 1, 258)
    put(1, 1)  # the last block
    put(1, 2)  # fixed Huffman codes
    put(0x30, 8, True)  # literal 0
    if matches:
        match()  # 3 + 8 + 13 bits: byte-aligned
        head, out = out, bytearray()
        for _ in range(8):
            match()  # 8 x 13 bits = 13 bytes, the period
        period, out = bytes(out), head
        repeats, rest = divmod(matches - 1, 8)
        out += period * repeats
        for _ in range(rest):
            match()
    for _ in range(literals):
        put(0x30, 8, True)
    put(0, 7, True)  # end of block
    if width:
        out.append(acc)
    return bytes(out)


def _raw_zip(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip of (name, method, stored bytes, crc, uncompressed size) members, data written as given."""
    import struct

    body, directory = bytearray(), bytearray()
    for name, method, data, crc, size in members:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size,
                            len(encoded), 0) + encoded + data
        directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data),
                                 size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)


def _bomb_archive(corpus, size: int) -> bytes:
    """A .keras whose model.weights.h5 inflates to `size` zero bytes, with a valid CRC: a real zip bomb."""
    import zlib

    crc, chunk = 0, bytes(1 << 24)
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    stored = [(n, 0, corpus.members[n], zlib.crc32(corpus.members[n]), len(corpus.members[n]))
              for n in ("metadata.json", "config.json")]
    return _raw_zip(stored + [("model.weights.h5", zipfile.ZIP_DEFLATED, _deflated_zeros(size), crc, size)])


def test_bombs_and_absurd_shapes_are_refused_before_allocating(corpus, tmp_path):
    limit = 200 * 1024 * 1024
    bomb = _bomb_archive(corpus, 1 << 30)
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        info = archive.getinfo("model.weights.h5")
        assert info.file_size == 1 << 30 and info.compress_size < 7 << 20
        with archive.open(info) as member:  # it is a real bomb: the first 64 MiB inflate as declared
            assert member.read(1 << 26) == bytes(1 << 26)
    cases: dict[str, Callable[[], Any]] = {}

    def keras_file(name, members, lies=None):
        path = str(tmp_path / name)
        with open(path, "wb") as handle:
            handle.write(_lying_zip(members, lies or {}))
        return path

    meta = corpus.members["metadata.json"]
    bomb_path = str(tmp_path / "bomb.keras")
    with open(bomb_path, "wb") as handle:
        handle.write(bomb)
    cases["zip member inflating to 1 GiB (load_model)"] = lambda: nerve.models.load_model(bomb_path)
    cases["zip member inflating to 1 GiB (load_weights)"] = lambda: corpus.model.load_weights(bomb_path)
    lied = keras_file("lie.keras", [("metadata.json", meta), ("config.json", corpus.members["config.json"]),
                                     ("model.weights.h5", corpus.members["model.weights.h5"])],
                      {"config.json": 2**62, "model.weights.h5": 2**62})
    cases["zip headers declaring 2^62 bytes"] = lambda: nerve.models.load_model(lied)
    lied_10g = keras_file("lie10g.keras", [("metadata.json", meta), ("config.json", corpus.members["config.json"]),
                                           ("model.weights.h5", corpus.members["model.weights.h5"])],
                          {"model.weights.h5": 10 << 30})
    cases["a 20 kB weights member declaring 10 GiB"] = lambda: nerve.models.load_model(lied_10g)
    config = copy.deepcopy(corpus.config)
    _layers(config)[0]["config"]["batch_shape"] = [None, 2**62]
    cases["input shape [None, 2^62] in a .keras config"] = lambda: nerve.models.load_model(keras_file(
        "shape.keras", [("metadata.json", meta), ("config.json", json.dumps(config).encode()),
                        ("model.weights.h5", corpus.members["model.weights.h5"])]))
    units = copy.deepcopy(corpus.config)
    _layers(units)[1]["config"]["units"] = 2**28  # 1 GiB of float32: under the per-tensor cap, over the file
    cases["units=2^28 in a .keras config with 20 kB of weights"] = lambda: nerve.models.load_model(keras_file(
        "units.keras", [("metadata.json", meta), ("config.json", json.dumps(units).encode()),
                        ("model.weights.h5", corpus.members["model.weights.h5"])]))
    huge_json = copy.deepcopy(corpus.config)
    _layers(huge_json)[1]["config"]["units"] = 2**62
    cases["units=2^62 in a JSON config"] = lambda: nerve.models.model_from_json(json.dumps(huge_json))
    h5_path = str(tmp_path / "huge.weights.h5")
    with open(h5_path, "wb") as handle:
        handle.write(corpus.files["nerve.weights.h5"])
    with h5py.File(h5_path, "a") as handle:
        kernel = _datasets(handle)[0]
        _h5_attack("huge-shape", handle, kernel, corpus)
    cases["a weight of 2^62 x 3 elements in a .weights.h5"] = lambda: corpus.model.load_weights(h5_path)

    report = []
    for label, load in cases.items():
        error, grown, traced = _measured(load)
        report.append(f"{label}: refused ({str(error)[:90]}...); peak RSS +{grown / 2**20:.1f} MiB, "
                      f"Python peak {traced / 2**20:.1f} MiB")
        assert grown < limit and traced < limit, report[-1]
    print("\n" + "\n".join(report))


# ---------------------------------------------------------------- the count
def test_zz_every_fuzz_case_was_refused_with_a_documented_error_or_loaded(corpus):
    fuzz = {k: v for k, v in OUTCOMES.items() if k[0] != "valid"}
    total = sum(fuzz.values())
    by_outcome = collections.Counter()
    for (_, outcome), count in fuzz.items():
        by_outcome[outcome] += count
    print(f"\n{total} fuzz cases run: " + ", ".join(f"{v} {k}" for k, v in sorted(by_outcome.items())))
    for group in sorted({g for g, _ in fuzz}):
        print(f"  {group}: " + ", ".join(f"{v} {o}" for (g, o), v in sorted(fuzz.items()) if g == group))
    if total:  # 0 when this test runs alone
        assert set(by_outcome) <= {"loaded", "ModelFileError", "IntegrityError"}
        assert total >= 4800
