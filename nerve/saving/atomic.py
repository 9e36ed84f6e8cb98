"""Atomic file writes: a temp file in the same folder, flushed, fsynced, then renamed.

A crash or a failed save never leaves a half-written file under the final
name: the previous file stays intact and the temp file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(filepath: str | os.PathLike, overwrite: bool = True, seal: bool = False) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces `filepath` atomically.

    Args:
        filepath: the final path; missing folders are created.
        overwrite: if False and `filepath` exists, raise FileExistsError.
        seal: write the file's SHA-256 into it before the rename (see `integrity.seal`;
            the writer must leave room for it).

    An OS error (disk full, read-only file system, permission denied) is re-raised
    with the final path in its message; the previous file, if any, is left as it was.
    """
    final = Path(filepath)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists and overwrite=False. Pass overwrite=True or choose another path.")
    tmp: str | None = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
        # mkstemp creates the file owner-only (0600); give it the mode a plain open() would (0666 - umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        if seal:
            from nerve.saving.integrity import seal as write_seal

            write_seal(tmp)
        with open(tmp, "rb+") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        tmp = None
        with contextlib.suppress(OSError):
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as err:
        if f"Could not save '{final}'" in str(err):
            raise
        kept = "the previous file is unchanged" if final.exists() else "nothing was written"
        message = (f"Could not save '{final}': {err.strerror or err} ({kept}). Free some space, "
                   "or save to a folder you can write to.")
        raise (type(err)(message) if err.errno is None else type(err)(err.errno, message)) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
