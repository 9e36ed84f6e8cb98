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
def atomic_path(filepath: str | os.PathLike, overwrite: bool = True) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces `filepath` atomically.

    Args:
        filepath: the final path; missing folders are created.
        overwrite: if False and `filepath` exists, raise FileExistsError.
    """
    final = Path(filepath)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists and overwrite=False. Pass overwrite=True or choose another path.")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    # mkstemp creates the file owner-only (0600); give it the mode a plain open() would (0666 - umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        with contextlib.suppress(OSError):
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
