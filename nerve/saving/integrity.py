"""SHA-256 seals: every model, weights and backup file nerve writes carries the hash of its bytes.

The seal lives inside the file, where its format leaves room, so the file stays a
plain HDF5 or zip file for every other reader (Keras, h5py, unzip):

- HDF5: files are created with a 512-byte user block (HDF5 skips it); the seal
  `nerve-sha256:<64 hex>` is written there and covers every byte after it.
- zip (`.keras`): the archive's comment is `nerve-sha256:<64 hex>`, at the very
  end of the file; the hash covers every byte before the 64 hex digits.

`seal` runs on the temporary file before it is renamed into place (see
`atomic.atomic_path`); `verify` runs before a file is parsed. Files without a
seal (written by Keras, or by older nerve) load unchecked.
"""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

from nerve.saving.file_checks import ModelFileError

__all__ = ["H5_USERBLOCK", "IntegrityError", "ZIP_COMMENT", "seal", "verify"]

H5_USERBLOCK = 512  # pass as h5py.File(..., userblock_size=H5_USERBLOCK)
_TAG = b"nerve-sha256:"
_HEX = 64
ZIP_COMMENT = _TAG + b"0" * _HEX  # the placeholder writers set as the zip comment
_H5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CHUNK = 1 << 20


class IntegrityError(ModelFileError):
    """A sealed file whose bytes no longer match the SHA-256 written when it was saved."""


def _digest(handle: BinaryIO, start: int, end: int) -> str:
    handle.seek(start)
    sha = hashlib.sha256()
    left = end - start
    while left > 0:
        chunk = handle.read(min(_CHUNK, left))
        if not chunk:
            break
        sha.update(chunk)
        left -= len(chunk)
    return sha.hexdigest()


def _layout(handle: BinaryIO, size: int) -> tuple[str, int, int, int] | None:
    """(kind, where the hex digits are, start and end of the hashed bytes), or None if unsealed."""
    handle.seek(0)
    head = handle.read(len(_TAG) + _HEX)
    if size >= H5_USERBLOCK + len(_H5_MAGIC):
        handle.seek(H5_USERBLOCK)
        if handle.read(len(_H5_MAGIC)) == _H5_MAGIC and (head.startswith(_TAG) or not head.strip(b"\0")):
            return "h5", len(_TAG), H5_USERBLOCK, size
    if size >= len(ZIP_COMMENT) + 22:  # 22: the zip end-of-central-directory record
        handle.seek(size - len(ZIP_COMMENT))
        if handle.read(len(_TAG)) == _TAG:
            return "zip", size - _HEX, 0, size - _HEX
    return None


def seal(path: str | os.PathLike) -> str:
    """Write the SHA-256 of `path`'s bytes into its seal; returns the digest.

    The file must have been written with room for it: an HDF5 user block of
    `H5_USERBLOCK` bytes, or `ZIP_COMMENT` as the zip comment.
    """
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        layout = _layout(handle, size)
        if layout is None:
            raise ValueError(f"'{os.fspath(path)}' has no room for a seal (no HDF5 user block or zip comment).")
        kind, where, start, end = layout
        digest = _digest(handle, start, end)
        handle.seek(0 if kind == "h5" else where)
        handle.write((_TAG + digest.encode()) if kind == "h5" else digest.encode())
    return digest


def verify(path: str | os.PathLike) -> bool:
    """Check `path` against its seal: True if it matches, False if it has none; raises IntegrityError if not.

    Example:
        >>> verify("best.keras")
        True
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        layout = _layout(handle, size)
        if layout is None:
            return False
        kind, where, start, end = layout
        handle.seek(where)
        stored = handle.read(_HEX).decode("ascii", "replace")
        if kind == "h5" and not stored.strip("\0"):
            return False  # an HDF5 file with an empty user block: never sealed
        actual = _digest(handle, start, end)
    if stored != actual:
        raise IntegrityError(
            f"'{os.fspath(path)}' is damaged: its bytes do not match the SHA-256 written when it was saved "
            f"(saved {stored[:16]}..., now {actual[:16]}...). It was truncated, changed or partly overwritten after "
            "saving; load an earlier checkpoint, or save the model again.",
            os.fspath(path),
        )
    return True
