"""Readers for the on-disk dataset formats: IDX, Keras ``.npz`` and CIFAR-10 binary.

Every reader validates what it reads before trusting it:

* IDX: magic number, element type code and number of dimensions are checked,
  and the size the header declares is compared with the real size of the file
  before any data is read (a gzip file is bounded by deflate's maximum
  compression ratio). Data is read in chunks, so a lying header can never make
  the reader allocate more than the file really holds.
* ``.npz``: always opened with ``allow_pickle=False``; object arrays are refused.
* CIFAR-10 binary tarballs are *read* member by member straight from the
  archive; nothing is ever extracted to disk, so paths stored in the archive are
  never followed.

Only numpy and the standard library are imported here.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from typing import BinaryIO

import numpy as np

from nerve.datasets._errors import DatasetFormatError

__all__ = [
    "load_idx",
    "load_idx_pair",
    "load_npz",
    "load_cifar10_binary",
    "load_cifar10_batch_files",
    "shuffle_split",
]

# IDX element types: code -> big-endian numpy dtype.
_IDX_TYPES: dict[int, str] = {
    0x08: ">u1",  # unsigned byte
    0x09: ">i1",  # signed byte
    0x0B: ">i2",  # short
    0x0C: ">i4",  # int
    0x0D: ">f4",  # float
    0x0E: ">f8",  # double
}
_IDX_MAX_DIMS = 16
# Deflate cannot compress better than about 1032:1; a gzip stream of N bytes
# therefore never expands to more than ~1032 * N bytes.
_GZIP_MAX_RATIO = 1032
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CHUNK = 1 << 20


def _read_exact(stream: BinaryIO, n: int, path: str, what: str) -> bytes:
    """Read exactly ``n`` bytes or raise a clear truncation error."""
    data = _read_upto(stream, n, path)
    if len(data) != n:
        raise DatasetFormatError(
            f"{path}: file is truncated while reading the {what} "
            f"(wanted {n} bytes, got {len(data)})."
        )
    return bytes(data)


def _read_upto(stream: BinaryIO, n: int, path: str) -> bytearray:
    """Read up to ``n`` bytes in chunks (memory grows only with real data)."""
    buf = bytearray()
    try:
        while len(buf) < n:
            chunk = stream.read(min(_CHUNK, n - len(buf)))
            if not chunk:
                break
            buf += chunk
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetFormatError(f"{path}: corrupt or truncated gzip data ({exc}).") from exc
    return buf


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (the MNIST file format), gzip-compressed or not.

    Args:
        path: The ``.idx*-ubyte`` file, optionally gzip-compressed (detected
            from the content, not the name).

    Returns:
        A numpy array with the shape declared in the file and its element type
        in native byte order (``uint8`` for MNIST images and labels).

    Raises:
        DatasetFormatError: bad magic number, unknown type code, a declared size
            that does not fit the file, truncated data or trailing bytes.

    Example:
        >>> images = load_idx("t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype
        ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    file_size = os.path.getsize(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
        try:
            return _read_idx_stream(stream, path, file_size, compressed)
        finally:
            if compressed:
                stream.close()


def _read_idx_stream(stream: BinaryIO, path: str, file_size: int, compressed: bool) -> np.ndarray:
    head = _read_exact(stream, 4, path, "IDX magic number")
    if head[0] != 0 or head[1] != 0:
        raise DatasetFormatError(
            f"{path}: not an IDX file (magic number starts with "
            f"{head[:2].hex()}, expected 0000)."
        )
    type_code, ndim = head[2], head[3]
    if type_code not in _IDX_TYPES:
        raise DatasetFormatError(
            f"{path}: unknown IDX element type code 0x{type_code:02x} "
            f"(known: {', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})."
        )
    if not 1 <= ndim <= _IDX_MAX_DIMS:
        raise DatasetFormatError(
            f"{path}: IDX header declares {ndim} dimensions (expected 1 to {_IDX_MAX_DIMS})."
        )
    dims = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, path, "IDX dimensions"))
    dtype = np.dtype(_IDX_TYPES[type_code])
    nbytes = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    header_size = 4 + 4 * ndim
    total = header_size + nbytes
    shape_txt = "x".join(str(d) for d in dims)
    if not compressed and total != file_size:
        if total > file_size:
            raise DatasetFormatError(
                f"{path}: IDX header declares {shape_txt} {dtype.name} values "
                f"({total} bytes with the header) but the file has only "
                f"{file_size} bytes (truncated or corrupt)."
            )
        raise DatasetFormatError(
            f"{path}: IDX file has {file_size - total} unexpected trailing bytes "
            f"after {shape_txt} {dtype.name} values."
        )
    if compressed and total > file_size * _GZIP_MAX_RATIO:
        raise DatasetFormatError(
            f"{path}: IDX header declares {shape_txt} {dtype.name} values "
            f"({total} bytes) but a {file_size}-byte gzip file cannot hold more "
            f"than about {file_size * _GZIP_MAX_RATIO} bytes (corrupt header)."
        )
    data = _read_upto(stream, nbytes, path)
    if len(data) != nbytes:
        raise DatasetFormatError(
            f"{path}: IDX data is truncated: header declares {shape_txt} "
            f"{dtype.name} values ({nbytes} bytes) but only {len(data)} bytes follow."
        )
    if _read_upto(stream, 1, path):
        raise DatasetFormatError(f"{path}: IDX file has unexpected trailing data.")
    array = np.frombuffer(data, dtype=dtype).reshape(dims)
    if dtype.itemsize > 1:
        return array.astype(dtype.newbyteorder("="))
    return array.view(dtype.newbyteorder("="))


def load_npz(path: str | os.PathLike[str], keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Read the named arrays from a ``.npz`` archive without ever unpickling.

    Args:
        path: The ``.npz`` file.
        keys: Names of the arrays that must be present.

    Returns:
        A dict mapping each requested name to its array (fully loaded).

    Example:
        >>> arrays = load_npz("mnist.npz", ["x_test", "y_test"])  # doctest: +SKIP
    """
    path = os.fspath(path)
    keys = list(keys)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic not in (_ZIP_MAGIC, _EMPTY_ZIP_MAGIC):
        raise DatasetFormatError(f"{path}: not an .npz archive (no zip signature).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in keys if k not in archive.files]
            if missing:
                raise DatasetFormatError(
                    f"{path}: .npz archive lacks array(s) {missing}; it holds {sorted(archive.files)}."
                )
            return {k: np.asarray(archive[k]) for k in keys}
    except DatasetFormatError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        # np.load raises ValueError for object (pickled) arrays and bad headers,
        # zipfile.BadZipFile (an Exception) is handled below.
        raise DatasetFormatError(f"{path}: cannot read .npz archive: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile, zlib.error and friends
        raise DatasetFormatError(f"{path}: corrupt .npz archive: {exc}") from exc


# --------------------------------------------------------------------------- #
# CIFAR-10, binary version: records of 1 label byte + 3072 bytes (CHW, 32x32x3)
# --------------------------------------------------------------------------- #
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch.bin"
_CIFAR_RECORD = 1 + 3 * 32 * 32
_CIFAR_MAX_BATCH_BYTES = 20000 * _CIFAR_RECORD  # real batches hold 10000 records


def _parse_cifar_batch(data: bytes | bytearray, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(data) == 0 or len(data) % _CIFAR_RECORD:
        raise DatasetFormatError(
            f"{name}: size {len(data)} bytes is not a positive multiple of the "
            f"CIFAR-10 record size ({_CIFAR_RECORD} bytes)."
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].copy()
    if labels.size and int(labels.max()) > 9:
        raise DatasetFormatError(f"{name}: label {int(labels.max())} out of range 0..9.")
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return images, labels


def _cifar_from_blobs(blobs: Mapping[str, bytes | bytearray], origin: str):
    missing = [n for n in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH) if n not in blobs]
    if missing:
        raise DatasetFormatError(f"{origin}: CIFAR-10 batch file(s) missing: {missing}.")
    train = [_parse_cifar_batch(blobs[n], f"{origin}:{n}") for n in CIFAR10_TRAIN_BATCHES]
    x_test_chw, y_test = _parse_cifar_batch(blobs[CIFAR10_TEST_BATCH], f"{origin}:{CIFAR10_TEST_BATCH}")
    x_train_chw = np.concatenate([b[0] for b in train])
    y_train = np.concatenate([b[1] for b in train])
    # Keras layout: channels-last images, labels shaped (n, 1), all uint8.
    x_train = np.ascontiguousarray(x_train_chw.transpose(0, 2, 3, 1))
    x_test = np.ascontiguousarray(x_test_chw.transpose(0, 2, 3, 1))
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def load_cifar10_binary(source: str | os.PathLike[str]):
    """Read CIFAR-10 from the *binary* tarball or from its extracted batch files.

    Args:
        source: ``cifar-10-binary.tar.gz`` (read in place, never extracted), or a
            folder holding ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
            ``test_batch.bin``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``
        and uint8 labels ``(n, 1)``.

    Example:
        >>> (x, y), _ = load_cifar10_binary("cifar-10-binary.tar.gz")  # doctest: +SKIP
    """
    source = os.fspath(source)
    wanted = set(CIFAR10_TRAIN_BATCHES) | {CIFAR10_TEST_BATCH}
    if os.path.isdir(source):
        files = {n: os.path.join(source, n) for n in wanted if os.path.isfile(os.path.join(source, n))}
        return load_cifar10_batch_files(files, origin=source)
    import tarfile  # only needed here

    blobs: dict[str, bytes | bytearray] = {}

    try:
        # Streaming mode: one pass over the compressed archive, members are
        # read into memory by their base name; nothing touches the filesystem.
        with tarfile.open(source, mode="r|*") as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if name not in wanted or name in blobs or not member.isfile():
                    continue
                if member.size > _CIFAR_MAX_BATCH_BYTES:
                    raise DatasetFormatError(f"{source}:{member.name}: too large for a CIFAR-10 batch.")
                fobj = tar.extractfile(member)
                if fobj is None:  # pragma: no cover - isfile() guarantees a file object
                    continue
                blobs[name] = fobj.read()
                if len(blobs[name]) != member.size:
                    raise DatasetFormatError(f"{source}:{member.name}: truncated archive member.")
    except DatasetFormatError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetFormatError(f"{source}: cannot read CIFAR-10 archive: {exc}") from exc
    return _cifar_from_blobs(blobs, source)


def load_cifar10_batch_files(files: Mapping[str, str], origin: str = "CIFAR-10") -> tuple:
    """Read CIFAR-10 from extracted batch files, given as ``{"data_batch_1.bin": path, ...}``."""
    blobs: dict[str, bytes] = {}
    for name, fpath in files.items():
        if os.path.getsize(fpath) > _CIFAR_MAX_BATCH_BYTES:
            raise DatasetFormatError(f"{fpath}: too large for a CIFAR-10 batch.")
        with open(fpath, "rb") as fh:
            blobs[name] = fh.read()
    return _cifar_from_blobs(blobs, origin)


# --------------------------------------------------------------------------- #
# Deterministic train/test split (same semantics as Keras' boston_housing)
# --------------------------------------------------------------------------- #
def shuffle_split(x: np.ndarray, y: np.ndarray, test_split: float = 0.2, seed: int | None = 113):
    """Shuffle ``(x, y)`` with ``np.random.RandomState(seed)`` and cut off the last ``test_split``.

    The first ``int(n * (1 - test_split))`` shuffled samples are the training
    set, the rest the test set; returned arrays are independent copies.

    Args:
        x: Samples, first axis indexes samples.
        y: Targets, same length as ``x``.
        test_split: Fraction reserved for the test set, ``0 <= test_split < 1``.
        seed: Seed of the shuffle (``None``: a different shuffle each call).

    Example:
        >>> (xtr, ytr), (xte, yte) = shuffle_split(np.arange(10), np.arange(10))
        >>> len(xtr), len(xte)
        (8, 2)
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be in [0, 1).")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}.")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def load_idx_pair(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST-style images/labels pair of IDX files and check they agree."""
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetFormatError(
            f"{images_path}: expected uint8 images of shape (n, rows, cols), got "
            f"{images.dtype} {images.shape}."
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetFormatError(
            f"{labels_path}: expected uint8 labels of shape (n,), got {labels.dtype} {labels.shape}."
        )
    if len(images) != len(labels):
        raise DatasetFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels."
        )
    return images, labels
