"""Exceptions raised by ``nerve.datasets``."""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "ChecksumError",
    "DatasetFormatError",
]


class DatasetError(Exception):
    """Base class of every error raised by ``nerve.datasets``."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset files were found nowhere and could not be downloaded.

    The message lists every place that was searched and how to get the data.
    It is a ``FileNotFoundError`` (hence an ``OSError``) so existing
    ``except OSError`` handlers keep working.
    """


class ChecksumError(DatasetError, OSError):
    """A downloaded file did not match its published checksum (it was deleted)."""


class DatasetFormatError(DatasetError, ValueError):
    """A dataset file is malformed: bad magic number, truncated, wrong shape..."""
