"""What a model file can make nerve do while it loads: nothing but fail with `ModelFileError`.

Every `.keras`, `.h5`/`.hdf5`, weights, JSON and YAML file is untrusted input.
Loading one:

- unpickles, imports and runs nothing it names: classes come from nerve's
  registry only (see `serialization`), a learning-rate schedule or function
  named in the compile settings is looked up the same way and never imported
  (`checked_optimizer_config`), and YAML is read by PyYAML's SafeLoader, which
  builds no Python object from a tag (`safe_yaml`);
- follows no path inside it: zip member names are never used as paths (and
  absolute or `..` names are refused: `check_archive`); HDF5 external links,
  soft links, external raw-data files and virtual datasets are refused before
  anything is read, and so are filters HDF5 would load as plugins (`check_h5`);
- refuses sizes before allocating them: configs over `MAX_CONFIG_BYTES`, nested
  deeper than `MAX_CONFIG_DEPTH` or with more than `MAX_CONFIG_NODES` values
  (`check_config`); zip members over their limit, or compressed more than
  `MAX_COMPRESSION_RATIO` to 1 (`read_member`); the weights member is read in
  place, never inflated into memory whole (`open_member`); HDF5 attributes of
  the wrong type or size, and strings whose heap records do not match what
  they declare (`read_text_attr`: libhdf5 would allocate the declared length,
  or loop forever on a damaged heap); and, while the model is built from its
  config, any tensor over `MAX_TENSOR_ELEMENTS` or weights adding up to more
  than the file could hold (`allocation_guard`);
- reports every problem as `ModelFileError` (a `ValueError`), naming the file.

The limits are module attributes; a program that loads bigger models may raise
them (`nerve.saving.file_checks.MAX_MODEL_ELEMENTS = 2**33`).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import zipfile
from collections.abc import Iterator
from typing import Any

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_NODES",
    "MAX_MODEL_ELEMENTS",
    "MAX_TENSOR_ELEMENTS",
    "ModelFileError",
]

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # config.json, metadata.json, an HDF5 config attribute, a JSON/YAML string
MAX_CONFIG_DEPTH = 128  # nested lists/dicts; a Keras functional config nests about 15 deep per model level
MAX_CONFIG_NODES = 1_000_000  # values in one config (YAML aliases count each time they are reached)
MAX_COMPRESSION_RATIO = 100  # a zip member may decompress to at most 100x its stored size ...
COMPRESSION_FLOOR = 16 * 1024 * 1024  # ... once it is over 16 MiB (deflate can reach about 1000x)
MAX_H5_OBJECTS = 1_000_000  # links in one HDF5 file
MAX_ATTRIBUTE_ITEMS = 1_000_000  # strings in one HDF5 attribute (e.g. Keras 2's layer_names)
MAX_TENSOR_ELEMENTS = 2**30  # one tensor created while a model is built from its config (4 GiB of float32)
MAX_MODEL_ELEMENTS = 2**31  # all tensors created while a model is built from a JSON/YAML config
ALLOCATION_FLOOR = 2**24  # elements allowed beyond the stored weights' bytes when a file is loaded

_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# The filters compiled into h5py's HDF5 (deflate, shuffle, fletcher32, nbit, scale-offset) and h5py's lzf. For any
# other filter id (szip included, which h5py's wheels lack), HDF5 searches its plugin folders for a library to load.
_H5_FILTERS = {1, 2, 3, 5, 6, 32000}


class ModelFileError(ValueError):
    """A model, weights or config file that nerve refuses to load.

    Raised for every file that is truncated, corrupted, of another format,
    hostile (it names code, points outside itself, or declares sizes it cannot
    hold) or that does not fit the model it is loaded into. The message names
    the file and what is wrong; `path` is the file's path (None for a JSON or
    YAML string). A subclass of ValueError.

    Example:
        >>> try:
        ...     nerve.models.load_model("downloaded.keras")
        ... except nerve.saving.ModelFileError as err:
        ...     print(err)
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def as_file_error(err: Exception, where: str, path: str | None, action: str = "Cannot load") -> ModelFileError:
    """`err`, raised while reading `where`, as a ModelFileError (ModelFileErrors pass through)."""
    if isinstance(err, ModelFileError) and (err.path is not None or path is None or path in str(err)):
        if err.path is None:
            err.path = path
        return err
    detail = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
    if isinstance(err, RecursionError):
        detail = f"it is nested too deeply to read ({err})"
    elif isinstance(err, MemoryError):
        detail = "it declares more data than fits in memory"
    return ModelFileError(f"{action} {where}: {detail}", path)


# ---------------------------------------------------------------- configs
_JSON_SCALARS = (str, int, float, bool, type(None))


def check_config(value: Any, where: str, path: str | None = None) -> None:
    """Refuse a parsed config that is too deep, too big, or holds anything but JSON values.

    Walks without recursion and counts every value reached, so YAML aliases
    that repeat a subtree millions of times are refused as well.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_CONFIG_NODES:
            raise ModelFileError(f"{where} holds more than {MAX_CONFIG_NODES} values; nerve refuses configs that "
                                 "big (or YAML aliases that repeat a part that often).", path)
        if isinstance(item, _JSON_SCALARS):
            continue
        if depth > MAX_CONFIG_DEPTH:
            raise ModelFileError(f"{where} is nested more than {MAX_CONFIG_DEPTH} levels deep; no model config is.",
                                 path)
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ModelFileError(f"{where} has a key that is not a string: {key!r}.", path)
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
        else:
            raise ModelFileError(f"{where} holds a {type(item).__name__} ({str(item)[:80]!r}); a model config holds "
                                 "only JSON values (objects, lists, strings, numbers, booleans, null).", path)


_YAML_LOADER: Any = None


def safe_yaml(text: str | bytes) -> Any:
    """Parse YAML with PyYAML's SafeLoader (plain data only: tags that build Python objects are refused), nested
    at most `MAX_CONFIG_DEPTH` deep: PyYAML's scanner takes time quadratic in the nesting of `[`/`{`, and its
    composer recurses once per level."""
    global _YAML_LOADER
    if _YAML_LOADER is None:
        import yaml

        class Loader(yaml.SafeLoader):
            depth = 0

            def fetch_flow_collection_start(self, token_class: Any) -> None:
                if self.flow_level >= MAX_CONFIG_DEPTH:
                    raise ModelFileError(f"The YAML string is nested more than {MAX_CONFIG_DEPTH} levels deep; no "
                                         "model config is.")
                super().fetch_flow_collection_start(token_class)

            def compose_node(self, parent: Any, index: Any) -> Any:
                self.depth += 1
                try:
                    if self.depth > MAX_CONFIG_DEPTH + 1:
                        raise ModelFileError(f"The YAML string is nested more than {MAX_CONFIG_DEPTH} levels deep; "
                                             "no model config is.")
                    return super().compose_node(parent, index)
                finally:
                    self.depth -= 1

        _YAML_LOADER = Loader
    loader = _YAML_LOADER(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def checked_optimizer_config(spec: Any, custom_objects: dict[str, Any] | None, where: str) -> Any:
    """The optimizer config with a learning-rate schedule given as a dict replaced by the schedule itself.

    The schedule (or function) is looked up only in `custom_objects`, the
    registered objects and nerve's own schedules; the optimizer's own
    deserializer would import the module a file names.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        return spec
    rate = spec["config"].get("learning_rate")
    if not isinstance(rate, dict):
        return spec
    return {**spec, "config": {**spec["config"], "learning_rate": _schedule(rate, custom_objects, where)}}


def _schedule(config: dict[str, Any], custom_objects: dict[str, Any] | None, where: str) -> Any:
    from nerve.optimizers import schedules
    from nerve.saving.object_registration import get_registered_object

    class_name = config.get("class_name")
    inner = config.get("config")
    if class_name == "function":
        names = [n for n in (config.get("registered_name"), inner) if isinstance(n, str) and n != "function"]
        for name in names:
            found = get_registered_object(name, custom_objects)
            if callable(found):
                return found
        raise ModelFileError(
            f"{where} names the learning-rate function {inner!r} (module {config.get('module')!r}), which is not a "
            "registered object; nerve never imports functions named by a file. Pass it in custom_objects="
            f"{{{str(inner)!r}: fn}}."
        )
    found = None
    for name in (config.get("registered_name"), class_name):
        if found is None and isinstance(name, str):
            found = get_registered_object(name, custom_objects)
    if found is None and isinstance(class_name, str) and class_name in schedules.__all__:
        candidate = getattr(schedules, class_name)
        if isinstance(candidate, type) and issubclass(candidate, schedules.LearningRateSchedule):
            found = candidate
    if found is None:
        raise ModelFileError(
            f"{where} names the learning-rate schedule {config.get('module')!r}.{class_name!r}, which is neither one "
            "of nerve's schedules nor a registered object; nerve never imports classes named by a file. Pass the "
            "class in custom_objects."
        )
    if not isinstance(inner, dict):
        raise ModelFileError(f"{where}: the config of learning-rate schedule {class_name!r} must be a dict.")
    return found.from_config(dict(inner)) if hasattr(found, "from_config") else found(**inner)


# ---------------------------------------------------------------- zip archives
def check_archive(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse member names that are paths out of the archive, and names that appear twice."""
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts or "\0" in name:
            raise ModelFileError(
                f"'{path}' has a member named {name!r}, a path that points out of the archive. No saved model has "
                "one; nerve refuses the file (it never extracts members, but such a name marks a crafted archive).",
                path)
        if name in seen:
            raise ModelFileError(f"'{path}' has two members named {name!r}; nerve refuses ambiguous archives.", path)
        seen.add(name)


def read_member(archive: zipfile.ZipFile, name: str, path: str, limit: int | None = None) -> bytes:
    """Read one zip member after checking its declared sizes against `limit`, the archive and the ratio limit."""
    info = archive.getinfo(name)
    _check_member(archive, info, path, limit)
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ModelFileError(f"'{path}': member {name!r} holds {len(data)} bytes, not the {info.file_size} its "
                             "header declares.", path)
    return data


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limit: int | None) -> None:
    name = info.filename
    size = os.path.getsize(path) if isinstance(path, str) and os.path.isfile(path) else None
    if info.compress_type not in _ZIP_METHODS:
        raise ModelFileError(f"'{path}': member {name!r} uses zip compression method {info.compress_type}, which "
                             "nerve does not read.", path)
    if info.flag_bits & 0x1:
        raise ModelFileError(f"'{path}': member {name!r} is encrypted.", path)
    if size is not None and info.compress_size > size:
        raise ModelFileError(f"'{path}': member {name!r} declares {info.compress_size} stored bytes, more than the "
                             f"whole file ({size} bytes); the file is truncated or crafted.", path)
    if limit is not None and info.file_size > limit:
        raise ModelFileError(f"'{path}': member {name!r} declares {info.file_size} bytes, over nerve's "
                             f"{limit}-byte limit for it.", path)
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise ModelFileError(f"'{path}': member {name!r} is stored uncompressed but declares {info.file_size} bytes "
                             f"in {info.compress_size}; the file is corrupted or crafted.", path)
    if info.file_size > COMPRESSION_FLOOR and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise ModelFileError(
            f"'{path}': member {name!r} would decompress from {info.compress_size} to {info.file_size} bytes "
            f"(over {MAX_COMPRESSION_RATIO}x): a decompression bomb, or a crafted header. nerve refuses it before "
            "decompressing.", path)


def open_member(archive: zipfile.ZipFile, name: str, path: str) -> tuple[Any, int]:
    """A seekable file over one member (the weights), read in place, and its size; the caller closes it.

    The member's sizes are checked as `read_member` checks them and its CRC is
    verified in one streaming pass, so a member of any size costs no more memory
    than the datasets actually read from it. A stored member (as nerve and Keras
    write `model.weights.h5`) is read straight from the archive file; a
    compressed one is inflated as it is read, or in memory when small.
    """
    info = archive.getinfo(name)
    if info.file_size <= COMPRESSION_FLOOR:
        return io.BytesIO(read_member(archive, name, path)), info.file_size
    _check_member(archive, info, path, None)
    with archive.open(info) as member:  # zipfile checks the CRC and the size at the end
        while member.read(1 << 22):
            pass
    if info.compress_type != zipfile.ZIP_STORED:
        return archive.open(info), info.file_size
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ModelFileError(f"'{path}': member {name!r} has no valid local header.", path)
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    if start + info.file_size > os.path.getsize(path):
        raise ModelFileError(f"'{path}': member {name!r} runs past the end of the file; it is truncated.", path)
    return _Window(path, start, info.file_size), info.file_size


class _Window(io.RawIOBase):
    """A read-only, seekable view of `size` bytes of the file at `path`, from `start`."""

    def __init__(self, path: str, start: int, size: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._start, self._size, self._pos = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        if not count:
            return 0
        self._file.seek(self._start + self._pos)
        got = self._file.readinto(memoryview(buffer)[:count]) or 0
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


# ---------------------------------------------------------------- HDF5
def check_h5(handle: Any, where: str, path: str | None) -> None:
    """Refuse an HDF5 file with links or storage that point outside it, or filters HDF5 would load as plugins.

    Walks every link (without following soft or external ones) before anything
    else in the file is opened.
    """
    import h5py

    names: list[tuple[bytes, int]] = []

    def visit(name: bytes, info: Any) -> Any:
        names.append((name, info.type))
        return True if len(names) > MAX_H5_OBJECTS else None

    handle.id.links.visit(visit, info=True)
    if len(names) > MAX_H5_OBJECTS:
        raise ModelFileError(f"{where} holds more than {MAX_H5_OBJECTS} HDF5 objects; nerve refuses it.", path)
    for name, kind in names:
        text = name.decode("utf8", "replace")
        if kind != h5py.h5l.TYPE_HARD:
            what = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link to another file"}
            raise ModelFileError(
                f"{where} has {what.get(kind, 'a user-defined link')} at '{text}'. nerve follows no path or link "
                "out of a model file, and no saved model has one.", path)
        if h5py.h5o.get_info(handle.id, name).type != h5py.h5o.TYPE_DATASET:
            continue
        dataset = h5py.h5d.open(handle.id, name)
        plist = dataset.get_create_plist()
        if plist.get_layout() == h5py.h5d.VIRTUAL:
            raise ModelFileError(f"{where}: the dataset '{text}' is a virtual dataset, which maps data from other "
                                 "files; nerve refuses it.", path)
        if plist.get_external_count():
            raise ModelFileError(f"{where}: the dataset '{text}' keeps its data in an external file named inside the "
                                 "file; nerve reads no file but the one it was given.", path)
        for i in range(plist.get_nfilters()):
            code = plist.get_filter(i)[0]
            if code not in _H5_FILTERS:
                raise ModelFileError(f"{where}: the dataset '{text}' uses HDF5 filter {code}, which would be loaded "
                                     "as a plugin; nerve reads only HDF5's built-in filters.", path)


_SOURCES: dict[int, Any] = {}  # HDF5 file number -> weak reference to the file object it was opened from


def open_h5(source: Any) -> Any:
    """`h5py.File(source, "r")`, remembering a file object source so its bytes can be checked (h5py keeps no
    reference a caller can reach)."""
    import weakref

    import h5py

    handle = h5py.File(source, "r")
    if not isinstance(source, (str, bytes, os.PathLike)):
        for number in [n for n, ref in list(_SOURCES.items()) if ref() is None]:
            del _SOURCES[number]
        _SOURCES[h5py.h5o.get_info(handle.id).fileno] = weakref.ref(source)
    return handle


class _RawFile:
    """Bytes of the HDF5 file behind an open h5py object, read at file addresses (relative to the base address)."""

    def __init__(self, obj: Any, where: str) -> None:
        import h5py

        self.where = where
        self._own = obj.file.driver != "fileobj"
        if self._own:
            source = obj.file.filename
        else:
            ref = _SOURCES.get(h5py.h5o.get_info(obj.id).fileno)
            source = ref() if ref is not None else None
            if source is None:
                raise ModelFileError(f"{where}: the HDF5 file was opened from a file object that nerve did not "
                                     "open (use nerve.saving.file_checks.open_h5), so its strings cannot be checked "
                                     "before they are read.")
        self._handle = open(source, "rb") if self._own else source  # noqa: SIM115 (closed by close())
        self.total = self._handle.seek(0, 2)
        self.base = next((at for at in [0] + [512 << i for i in range(max(self.total.bit_length() - 9, 0))]
                          if self.read(at, 8, absolute=True) == b"\x89HDF\r\n\x1a\n"), None)
        if self.base is None:
            self.fail("no HDF5 signature")
        version = self.read(self.base + 8, 1, absolute=True)[0]
        sizes = self.read(self.base + (13 if version < 2 else 9), 2, absolute=True)
        if sizes != b"\x08\x08":
            self.fail(f"file addresses of {sizes[0]} bytes and lengths of {sizes[1]} (nerve reads 8-byte ones)")

    def read(self, at: int, count: int, absolute: bool = False) -> bytes:
        at = at if absolute else at + self.base
        if at < 0 or count < 0 or at + count > self.total:
            self.fail(f"a structure at byte {at} runs past the end of the file")
        self._handle.seek(at)
        return self._handle.read(count)

    def fail(self, what: str) -> None:
        raise ModelFileError(f"{self.where}: {what}; the file is corrupted or crafted.")

    def close(self) -> None:
        if self._own:
            self._handle.close()


def _header_messages(raw: _RawFile, address: int) -> Iterator[tuple[int, int, int]]:
    """(type, offset of its data, size) of every message in the object header at `address`, through continuations."""
    chunks: list[tuple[int, int, int]] = []  # (start of messages, end, header version)
    first = raw.read(address, 16)
    if first[:4] == b"OHDR":
        flags = first[5]
        at = address + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x3)
        size = int.from_bytes(raw.read(at, width), "little")
        chunks.append((at + width, at + width + size, 2))  # a 4-byte checksum follows the messages
        creation_order = bool(flags & 0x4)
    elif first[0] == 1:
        chunks.append((address + 16, address + 16 + int.from_bytes(first[8:12], "little"), 1))
        creation_order = False
    else:
        raw.fail(f"an object header of unknown version {first[0]} at address {address}")
    done = 0
    while done < len(chunks):
        at, end, version = chunks[done]
        done += 1
        if done > 1000:
            raw.fail("more than 1000 object header continuations")
        step = 8 if version == 1 else 4 + (2 if creation_order else 0)
        while at + step <= end:
            head = raw.read(at, step)
            if version == 1:
                kind, size = int.from_bytes(head[:2], "little"), int.from_bytes(head[2:4], "little")
            else:
                kind, size = head[0], int.from_bytes(head[1:3], "little")
            data = at + step
            if data + size > end:
                raw.fail(f"an object header message at address {at} overruns its chunk")
            if kind == 0x10:  # continuation: another chunk of messages elsewhere
                body = raw.read(data, 16)
                offset, length = int.from_bytes(body[:8], "little"), int.from_bytes(body[8:], "little")
                if version == 1:
                    chunks.append((offset, offset + length, 1))
                else:
                    if raw.read(offset, 4) != b"OCHK":
                        raw.fail(f"an object header continuation at address {offset} has no signature")
                    chunks.append((offset + 4, offset + length - 4, 2))
            yield kind, data, size
            at = data + size


def _attribute_data(raw: _RawFile, address: int, name: str) -> tuple[int, int]:
    """(offset, size) of the raw data of attribute `name` in the object header at `address`."""
    wanted = name.encode("utf8")
    for kind, data, size in _header_messages(raw, address):
        if kind != 0x0C or size < 8:
            continue
        head = raw.read(data, min(size, 9))
        version = head[0]
        name_size, type_size, space_size = (int.from_bytes(head[i:i + 2], "little") for i in (2, 4, 6))
        if version == 1:
            def pad(n: int) -> int:
                return (n + 7) // 8 * 8
            start, parts = 8, (pad(name_size), pad(type_size), pad(space_size))
        else:
            start, parts = (8 if version == 2 else 9), (name_size, type_size, space_size)
        if raw.read(data + start, name_size).rstrip(b"\0") != wanted:
            continue
        offset = start + sum(parts)
        if offset > size:
            raw.fail(f"the attribute '{name}' at address {data} overruns its message")
        return data + offset, size - offset
    raise ModelFileError(f"{raw.where}: the attribute '{name}' is not in its object's header. nerve reads text "
                         "attributes only from there (compact storage, where h5py and Keras write them), not from "
                         "dense attribute storage.")


def _heap_record_size(raw: _RawFile, collection: int, index: int, cache: dict) -> int:
    """The size of record `index` of the global heap collection at `collection`, walking and checking the records."""
    if collection not in cache:
        if raw.read(collection, 8) != b"GCOL\x01\x00\x00\x00":
            raw.fail(f"a string refers to address {collection}, which holds no global heap")
        size = int.from_bytes(raw.read(collection + 8, 8), "little")
        end, at, records = collection + size, collection + 16, {}
        if size < 16 or end + raw.base > raw.total:
            raw.fail(f"the global heap at address {collection} declares {size} bytes, past the end of the file")
        while at + 16 <= end:
            header = raw.read(at, 16)
            number, length = int.from_bytes(header[:2], "little"), int.from_bytes(header[8:16], "little")
            need = 16 + (length + 7) // 8 * 8 if number else length
            if need <= 0 or need > end - at:  # libhdf5 would loop forever (0) or read out of bounds
                raw.fail(f"the global heap at address {collection} has a damaged record at address {at} (index "
                         f"{number}, size {length})")
            if number:
                records[number] = length
            at += need
        cache[collection] = records
    records = cache[collection]
    if index not in records:
        raw.fail(f"a string refers to record {index} of the global heap at address {collection}, which has none")
    return records[index]


def _check_references(obj: Any, name: str, count: int, where: str) -> None:
    """Check every variable-length string of attribute `name` against the heap record it refers to, before libhdf5
    reads it: libhdf5 allocates and zeroes the length a reference declares (4 GiB for a 4-byte change) before it
    looks at the record, loops forever on a record of size 0, and reads past records that overrun their heap."""
    import h5py

    raw = _RawFile(obj, where)
    try:
        offset, size = _attribute_data(raw, h5py.h5o.get_info(obj.id).addr, name)
        if size < 16 * count:
            raw.fail(f"the attribute '{name}' holds {size} bytes for {count} strings")
        cache: dict = {}
        for i in range(count):
            reference = raw.read(offset + 16 * i, 16)
            declared = int.from_bytes(reference[:4], "little")
            collection, index = int.from_bytes(reference[4:12], "little"), int.from_bytes(reference[12:], "little")
            if collection == 0:
                continue  # a null string: libhdf5 reads nothing
            stored = _heap_record_size(raw, collection, index, cache)
            if declared > stored:
                raw.fail(f"a string of attribute '{name}' declares {declared} bytes, but its heap record holds "
                         f"{stored} (libhdf5 would allocate the declared length)")
    finally:
        raw.close()


def read_text_attr(obj: Any, name: str, where: str) -> str | None:
    """A scalar string attribute of an HDF5 object (None if absent), checked before it is read."""
    values = _read_strings(obj, name, where, scalar=True)
    return None if values is None else values[0]


def read_names_attr(obj: Any, name: str, where: str) -> list[str]:
    """A list-of-strings attribute (Keras 2's `layer_names`, `weight_names`), [] if absent."""
    values = _read_strings(obj, name, where, scalar=False)
    return [] if values is None else values


def _read_strings(obj: Any, name: str, where: str, scalar: bool) -> list[str] | None:
    import h5py
    import numpy as np

    if name not in obj.attrs:
        return None
    attr = h5py.h5a.open(obj.id, name.encode())
    kind = attr.get_type()
    if not scalar and attr.shape is not None and 0 in attr.shape:
        return []  # Keras writes an empty name list as an empty float array
    if not isinstance(kind, h5py.h5t.TypeStringID):
        raise ModelFileError(f"{where}: the attribute '{name}' of '{obj.name}' is not text (HDF5 type class "
                             f"{kind.get_class()}); the file is corrupted or crafted.")
    shape = attr.shape
    count = math.prod(shape) if shape else 1
    if count > MAX_ATTRIBUTE_ITEMS or (scalar and count != 1):
        raise ModelFileError(f"{where}: the attribute '{name}' of '{obj.name}' has shape {shape}; "
                             f"{'one string' if scalar else 'a list of names'} was expected.")
    if not kind.is_variable_str() and count * kind.get_size() > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{where}: the attribute '{name}' of '{obj.name}' declares "
                             f"{count * kind.get_size()} bytes, over the {MAX_CONFIG_BYTES}-byte limit.")
    if kind.is_variable_str():
        _check_references(obj, name, count, where)
    raw = obj.attrs[name]
    items = np.asarray(raw, dtype=object).reshape(-1).tolist()
    out = []
    total = 0
    for item in items:
        text = item.decode("utf8") if isinstance(item, bytes) else item
        if not isinstance(text, str):
            raise ModelFileError(f"{where}: the attribute '{name}' of '{obj.name}' holds {type(text).__name__}, "
                                 "not text.")
        total += len(text)
        if total > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{where}: the attribute '{name}' of '{obj.name}' is over the "
                                 f"{MAX_CONFIG_BYTES}-byte limit.")
        out.append(text)
    return out


def numeric_dataset(data: Any, where: str) -> Any:
    """`data` if it is an HDF5 dataset of numbers (integers, floats, booleans); raises otherwise."""
    import h5py

    if not isinstance(data, h5py.Dataset):
        raise ModelFileError(f"{where}: '{getattr(data, 'name', data)}' should be a dataset of weights, and is a "
                             f"{type(data).__name__}.")
    kind = data.id.get_type().get_class()
    if kind not in (h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.ENUM) or data.dtype.kind not in "fiub":
        raise ModelFileError(f"Weight '{data.name}' is stored with dtype {data.dtype}; only numbers are loaded.")
    return data


def indexed_datasets(group: Any, where: str) -> list[Any]:
    """The datasets `0`, `1`, ... of a `vars` group, in order (any other member is refused)."""
    if group is None:
        return []
    keys = list(group.keys())
    if sorted(keys) != sorted(str(i) for i in range(len(keys))):
        raise ModelFileError(f"{where}: '{group.name}' should hold datasets named 0..{len(keys) - 1}, and holds "
                             f"{sorted(keys)[:10]}.")
    return [numeric_dataset(group[str(i)], where) for i in range(len(keys))]


# ---------------------------------------------------------------- building a model from a config
def allocation_budget(stored_bytes: int | None) -> int:
    """How many tensor elements building a model may create: what a file of `stored_bytes` of weights can fill.

    Every weight a model has is in its file, so the weights it builds cannot
    outnumber the file's bytes; `ALLOCATION_FLOOR` leaves room for the small
    tensors a build makes. Without a file (a JSON or YAML config), `MAX_MODEL_ELEMENTS`.
    """
    if stored_bytes is None:
        return MAX_MODEL_ELEMENTS
    return min(MAX_MODEL_ELEMENTS, ALLOCATION_FLOOR + max(int(stored_bytes), 0))


def _size(args: tuple, kwargs: dict, first: int = 0) -> Any:
    if "size" in kwargs:
        return kwargs["size"]
    rest = args[first:]
    if len(rest) == 1 and not isinstance(rest[0], int):
        return rest[0]
    return rest


def _sized(position: int) -> Any:
    return lambda args, kwargs: kwargs["size"] if "size" in kwargs else (
        args[position] if len(args) > position else None)


def _arange(args: tuple, kwargs: dict) -> Any:
    values = [*args[:3]]
    if len(values) == 1:
        values = [0, values[0], 1]
    elif len(values) == 2:
        values = [values[0], values[1], kwargs.get("step", 1)]
    if "end" in kwargs:
        values = [kwargs.get("start", 0), kwargs["end"], kwargs.get("step", 1)]
    start, end, step = (float(v) for v in values)
    return (max(math.ceil((end - start) / step), 0),) if step else None


def _randint(args: tuple, kwargs: dict) -> Any:
    if "size" in kwargs:
        return kwargs["size"]
    sizes = [a for a in args if isinstance(a, (tuple, list)) or type(a).__name__ == "Size"]
    return sizes[0] if sizes else None


def _factories() -> dict[Any, Any]:
    import torch

    table: dict[Any, Any] = {}
    for fn in (torch.empty, torch.zeros, torch.ones, torch.rand, torch.randn):
        table[fn] = lambda a, k: _size(a, k)
    for method in (torch.Tensor.new_empty, torch.Tensor.new_zeros, torch.Tensor.new_ones):
        table[method] = lambda a, k: _size(a, k, 1)
    table[torch.Tensor.new_full] = _sized(1)
    table[torch.full] = _sized(0)
    table[torch.empty_strided] = _sized(0)
    table[torch.randint] = _randint
    table[torch.arange] = _arange
    table[torch.eye] = lambda a, k: (a[0], a[1] if len(a) > 1 and isinstance(a[1], int) else a[0])
    table[torch.linspace] = lambda a, k: (k.get("steps", a[2] if len(a) > 2 else None),)
    table[torch.logspace] = table[torch.linspace]
    table[torch.randperm] = lambda a, k: (a[0],)
    table[torch.Tensor.repeat] = lambda a, k: (a[0].numel(), *_size(a, k, 1))
    return table


_FACTORY_TABLE: dict[Any, Any] | None = None


def _elements(shape: Any) -> int | None:
    try:
        dims = [int(d) for d in (shape if isinstance(shape, (tuple, list)) or type(shape).__name__ == "Size"
                                 else [shape])]
    except (TypeError, ValueError, OverflowError):
        return None
    if any(d < 0 for d in dims):
        return -1
    return math.prod(dims)


@contextlib.contextmanager
def allocation_guard(budget: int, where: str, path: str | None) -> Iterator[None]:
    """While the block runs, refuse (before allocating) any tensor over `MAX_TENSOR_ELEMENTS`, and tensors
    adding up to more than `budget` elements: what building a model from a config may allocate."""
    from torch.overrides import TorchFunctionMode

    global _FACTORY_TABLE
    if _FACTORY_TABLE is None:
        _FACTORY_TABLE = _factories()
    table = _FACTORY_TABLE
    left = [budget]

    class Guard(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            kwargs = kwargs or {}
            sizer = table.get(func)
            if sizer is not None:
                try:
                    count = _elements(sizer(args, kwargs))
                except (TypeError, ValueError, IndexError, KeyError, OverflowError, ZeroDivisionError):
                    count = None
                if count is not None:
                    name = getattr(func, "__name__", "tensor")
                    if count < 0:
                        raise ModelFileError(f"{where} asks for a tensor with a negative size "
                                             f"({name}{tuple(args)[:3]}).", path)
                    if count > MAX_TENSOR_ELEMENTS:
                        raise ModelFileError(
                            f"{where} asks for a tensor of {count} elements, over nerve's limit of "
                            f"{MAX_TENSOR_ELEMENTS} (its shapes are absurd or crafted); refused before allocating.",
                            path)
                    if count > left[0]:
                        raise ModelFileError(
                            f"{where} builds a model with more weights than the file holds ({budget} elements at "
                            "most); its config declares shapes that its weights do not have. Refused before "
                            "allocating.", path)
                    left[0] -= count
            return func(*args, **kwargs)

    with Guard():
        yield
