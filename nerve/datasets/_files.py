"""Finding, downloading and verifying dataset files (shared by every dataset module).

Lookup order for a dataset (each step tried in turn, first complete set wins):

1. the ``path=`` argument of ``load_data`` -- a file, or a folder holding the
   files (directly or in a sub-folder named after the dataset);
2. ``$NERVE_DATA`` -- a folder (or several, separated by ``os.pathsep``) with a
   sub-folder per dataset (``$NERVE_DATA/mnist/``) or the files directly;
3. the user caches: nerve's (``$NERVE_CACHE_DIR`` or ``~/.nerve/datasets``,
   sub-folder per dataset) then Keras's (``$KERAS_HOME/datasets`` or
   ``~/.keras/datasets``), so data Keras already downloaded is reused;
4. Debian's dataset packages under ``/usr/share/datasets/<name>/``
   (e.g. ``apt-get install dataset-fashion-mnist``);
5. a download from the standard mirror into nerve's cache, checksum verified,
   written atomically. ``NERVE_OFFLINE=1`` skips this step and
   ``NERVE_DATASETS_MIRROR=<base url>`` replaces the mirror (files are then
   fetched from ``<base url>/<dataset name>/<file name>``).

Environment variables are read at call time. Only the standard library is
imported at module import time (``urllib`` and ``rich`` load on download).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from nerve.datasets._errors import ChecksumError, DatasetNotFoundError

__all__ = [
    "Remote",
    "Layout",
    "DatasetSpec",
    "Found",
    "locate",
    "download",
    "cache_dir",
    "file_digest",
    "idx_slots",
    "offline",
]

#: Debian's dataset packages install here (module attribute so tests can redirect it).
DEBIAN_DATASETS_DIR = "/usr/share/datasets"
#: Socket timeout of downloads, in seconds.
DOWNLOAD_TIMEOUT = 60.0
_CHUNK = 1 << 20
_TRUE = {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------- #
# Dataset descriptions
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Remote:
    """A downloadable file: name in the cache, URL, and accepted checksums.

    ``hashes`` entries are ``"sha256:<hex>"``, ``"md5:<hex>"`` or
    ``"gunzip-sha256:<hex>"`` (SHA-256 of the decompressed content, which stays
    valid if a mirror recompresses the file); a file is accepted when any
    entry matches.
    """

    filename: str
    url: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """One complete set of files that holds a dataset.

    ``slots`` maps a role (e.g. ``"x_train"``) to alternative relative file
    names (e.g. with and without ``.gz``). ``generic`` marks names that other
    datasets share (MNIST and Fashion-MNIST IDX files): such a layout is only
    accepted inside a folder named after the dataset, or in a folder given
    explicitly with ``path=``.
    """

    kind: str
    slots: tuple[tuple[str, tuple[str, ...]], ...]
    generic: bool = False

    def match(self, folder: str) -> dict[str, str] | None:
        """Paths of every slot inside ``folder``, or None when one is missing."""
        found: dict[str, str] = {}
        for role, names in self.slots:
            for name in names:
                candidate = os.path.join(folder, name)
                if os.path.isfile(candidate):
                    found[role] = candidate
                    break
            else:
                return None
        return found

    def describe(self) -> str:
        return " + ".join(names[0] for _, names in self.slots)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's files may live and where to download them from."""

    name: str  #: cache sub-folder and mirror sub-folder, e.g. "fashion-mnist"
    title: str  #: human name for messages, e.g. "Fashion-MNIST"
    layouts: tuple[Layout, ...]  #: accepted file sets, in order of preference
    remotes: tuple[Remote, ...]  #: files to download (together they form one layout)
    folders: tuple[str, ...] = ()  #: extra sub-folder names to try (besides `name`)
    keras_subdir: str = ""  #: where Keras caches it, relative to ~/.keras/datasets
    debian_dir: str | None = None  #: folder under /usr/share/datasets
    debian_package: str | None = None  #: apt package that provides it, if any
    notes: tuple[str, ...] = field(default=())  #: extra hints for the error message

    @property
    def subfolders(self) -> tuple[str, ...]:
        names = [self.name, *self.folders]
        return tuple(dict.fromkeys(names))

    def single_file_layout(self) -> Layout | None:
        for layout in self.layouts:
            if len(layout.slots) == 1:
                return layout
        return None

    def with_filename(self, filename: str) -> DatasetSpec:
        """The same dataset with its single-file form (and download) renamed."""
        single = self.single_file_layout()
        if single is None or filename in single.slots[0][1]:
            return self
        role = single.slots[0][0]
        renamed = replace(single, slots=((role, (filename,)),))
        layouts = tuple(renamed if lay is single else lay for lay in self.layouts)
        remotes = self.remotes
        if len(remotes) == 1:
            remotes = (replace(remotes[0], filename=filename),)
        return replace(self, layouts=layouts, remotes=remotes)


@dataclass(frozen=True)
class Found:
    """Result of :func:`locate`: which layout was found, its files, and where."""

    kind: str
    files: Mapping[str, str]
    source: str


# --------------------------------------------------------------------------- #
# Environment
# --------------------------------------------------------------------------- #
def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def offline() -> bool:
    """True when ``NERVE_OFFLINE`` asks to never download."""
    return (os.environ.get("NERVE_OFFLINE") or "").strip().lower() in _TRUE


def cache_dir() -> str:
    """nerve's dataset cache: ``$NERVE_CACHE_DIR`` or ``~/.nerve/datasets``."""
    configured = _env("NERVE_CACHE_DIR")
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(os.path.expanduser("~"), ".nerve", "datasets")


def _keras_dataset_dirs() -> list[str]:
    dirs = []
    keras_home = _env("KERAS_HOME")
    if keras_home:
        dirs.append(os.path.join(os.path.expanduser(keras_home), "datasets"))
    dirs.append(os.path.join(os.path.expanduser("~"), ".keras", "datasets"))
    return list(dict.fromkeys(os.path.abspath(d) for d in dirs))


def _remote_url(spec: DatasetSpec, remote: Remote) -> str:
    mirror = _env("NERVE_DATASETS_MIRROR")
    if mirror:
        return f"{mirror.rstrip('/')}/{spec.name}/{remote.filename}"
    return remote.url


# --------------------------------------------------------------------------- #
# Lookup
# --------------------------------------------------------------------------- #
def _search_folder(spec: DatasetSpec, folder: str, *, allow_generic: bool) -> Found | None:
    if not os.path.isdir(folder):
        return None
    for layout in spec.layouts:
        if layout.generic and not allow_generic:
            continue
        files = layout.match(folder)
        if files is not None:
            return Found(layout.kind, files, folder)
    return None


def _expected_files(spec: DatasetSpec, *, generic: bool = True) -> str:
    forms = [lay.describe() for lay in spec.layouts if generic or not lay.generic]
    return " or ".join(f"[{f}]" for f in forms)


def locate(spec: DatasetSpec, path: str | os.PathLike[str] | None = None) -> Found:
    """Find a dataset's files, downloading them as the last resort.

    Args:
        spec: The dataset description.
        path: Keras-style ``path`` argument: an existing file or folder is used
            first; a bare file name that does not exist (e.g. the default
            ``"mnist.npz"``) names the single-file form to look for in the
            other places and to download into the cache.

    Returns:
        A :class:`Found` naming the layout kind and the file of each slot.

    Raises:
        DatasetNotFoundError: nothing found and the download was impossible;
            the message lists every place searched.
        ChecksumError: a downloaded file failed its checksum (it was removed).
    """
    looked: list[str] = []

    # 1. Explicit path argument.
    if path is not None:
        explicit = os.path.expanduser(os.fspath(path))
        if os.path.isfile(explicit):
            single = spec.single_file_layout()
            if single is None:
                raise ValueError(
                    f"{spec.title} is made of several files ({_expected_files(spec)}); "
                    f"pass the folder that holds them, not the file {explicit!r}."
                )
            return Found(single.kind, {single.slots[0][0]: os.path.abspath(explicit)}, explicit)
        if os.path.isdir(explicit):
            for folder in (explicit, *(os.path.join(explicit, s) for s in spec.subfolders)):
                found = _search_folder(spec, folder, allow_generic=True)
                if found:
                    return found
            looked.append(f"path argument: {explicit} (folder without {_expected_files(spec)})")
        elif os.path.dirname(explicit) or os.path.isabs(explicit):
            looked.append(f"path argument: {explicit} (does not exist)")
        else:
            spec = spec.with_filename(explicit)

    # 2. $NERVE_DATA
    data_env = _env("NERVE_DATA")
    if data_env:
        for root in filter(None, data_env.split(os.pathsep)):
            root = os.path.abspath(os.path.expanduser(root))
            for sub in spec.subfolders:
                found = _search_folder(spec, os.path.join(root, sub), allow_generic=True)
                if found:
                    return found
            found = _search_folder(spec, root, allow_generic=False)
            if found:
                return found
            unique = _expected_files(spec, generic=False)
            also = f" (or {root}{os.sep} for {unique})" if unique else ""
            looked.append(f"$NERVE_DATA: {os.path.join(root, spec.name)}{os.sep}{also}")
    else:
        looked.append("$NERVE_DATA: not set")

    # 3. User caches: nerve's, then Keras's.
    own_cache = os.path.join(cache_dir(), spec.name)
    found = _search_folder(spec, own_cache, allow_generic=True)
    if found:
        return found
    looked.append(f"nerve cache: {own_cache}{os.sep}")
    for kdir in _keras_dataset_dirs():
        folder = os.path.join(kdir, spec.keras_subdir) if spec.keras_subdir else kdir
        found = _search_folder(spec, folder, allow_generic=bool(spec.keras_subdir))
        if found:
            return found
        looked.append(f"Keras cache: {folder}{os.sep}")

    # 4. Debian dataset packages.
    if spec.debian_dir:
        folder = os.path.join(DEBIAN_DATASETS_DIR, spec.debian_dir)
        found = _search_folder(spec, folder, allow_generic=True)
        if found:
            return found
        pkg = f" (apt package {spec.debian_package} not installed?)" if spec.debian_package else ""
        looked.append(f"Debian: {folder}{os.sep}{pkg}")

    # 5. Download into nerve's cache.
    urls = [_remote_url(spec, r) for r in spec.remotes]
    if not spec.remotes:
        looked.append("download: no mirror known for this dataset")
    elif offline():
        looked.append("download: skipped because NERVE_OFFLINE is set")
    else:
        try:
            for remote, url in zip(spec.remotes, urls):
                target = os.path.join(own_cache, remote.filename)
                if not os.path.isfile(target):
                    download(url, target, remote.hashes)
        except _DownloadFailed as exc:
            looked.append(f"download: {exc}")
        else:
            found = _search_folder(spec, own_cache, allow_generic=True)
            if found:
                return found
            looked.append(f"download: finished but {own_cache} lacks {_expected_files(spec)}")  # pragma: no cover

    raise DatasetNotFoundError(_not_found_message(spec, looked, urls, own_cache))


def _not_found_message(spec: DatasetSpec, looked: list[str], urls: list[str], own_cache: str) -> str:
    lines = [f"{spec.title} dataset not found. Looked for {_expected_files(spec)} in:"]
    lines += [f"  - {entry}" for entry in looked]
    lines.append("To get it, any one of:")
    if spec.debian_package:
        lines.append(f"  - sudo apt-get install {spec.debian_package}  (Debian/Ubuntu)")
    if urls:
        lines.append(f"  - download {', '.join(urls)}")
        lines.append(f"    into {own_cache}{os.sep} or $NERVE_DATA/{spec.name}/, or pass path=...")
        if offline():
            lines.append("  - unset NERVE_OFFLINE to allow the download")
        else:
            lines.append("  - retry with network access to the URL above")
    else:
        lines.append(f"  - put the files in $NERVE_DATA/{spec.name}/ or pass path=...")
    lines += [f"  - {note}" for note in spec.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Checksums
# --------------------------------------------------------------------------- #
def file_digest(path: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file: ``sha256``, ``md5`` or ``gunzip-sha256``."""
    if algorithm == "gunzip-sha256":
        return _gunzip_sha256(path)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _gunzip_sha256(path: str) -> str:
    """SHA-256 of the decompressed content of a (possibly multi-member) gzip file."""
    digest = hashlib.sha256()
    decomp = zlib.decompressobj(wbits=31)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            while chunk:
                digest.update(decomp.decompress(chunk))
                if decomp.eof:
                    chunk = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31)
                else:
                    chunk = b""
    return digest.hexdigest()


def _verify(path: str, hashes: tuple[str, ...]) -> tuple[bool, list[str]]:
    seen: list[str] = []
    cache: dict[str, str] = {}
    for entry in hashes:
        algorithm, _, expected = entry.partition(":")
        if algorithm not in cache:
            try:
                cache[algorithm] = file_digest(path, algorithm)
            except (zlib.error, OSError) as exc:
                cache[algorithm] = f"<unreadable: {exc}>"
        if cache[algorithm] == expected.lower():
            return True, []
        seen.append(f"{algorithm} expected {expected}, got {cache[algorithm]}")
    return False, seen


# --------------------------------------------------------------------------- #
# Download
# --------------------------------------------------------------------------- #
class _DownloadFailed(Exception):
    """Network-level failure: reported as part of DatasetNotFoundError."""


def download(url: str, target: str, hashes: tuple[str, ...] = ()) -> str:
    """Download ``url`` to ``target`` atomically, verifying ``hashes``.

    The data goes to a temporary file in the target folder, which is checked
    and then renamed over ``target`` with ``os.replace``; on any failure it is
    deleted, so ``target`` is either absent or complete and verified.

    Raises:
        ChecksumError: the file does not match any of ``hashes``.
        _DownloadFailed: network or HTTP error (internal; ``locate`` turns it
            into a :class:`DatasetNotFoundError`).
    """
    import http.client
    import urllib.error
    import urllib.request

    folder = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _DownloadFailed(f"cannot write to cache folder {folder}: {exc}") from exc
    out = os.fdopen(fd, "wb")
    try:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "nerve-datasets"})
            with out, urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                received = 0
                with _progress(url, target, total) as advance:
                    for chunk in iter(lambda: resp.read(_CHUNK), b""):
                        out.write(chunk)
                        received += len(chunk)
                        advance(len(chunk))
        except urllib.error.HTTPError as exc:
            exc.close()
            raise _DownloadFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise _DownloadFailed(f"{url}: {exc.reason}") from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # timeouts, connection resets, truncated bodies, malformed URLs
            raise _DownloadFailed(f"{url}: {type(exc).__name__}: {exc}") from None
        if total is not None and received != total:
            raise _DownloadFailed(f"{url}: connection closed after {received} of {total} bytes")
        if hashes:
            ok, details = _verify(tmp, hashes)
            if not ok:
                raise ChecksumError(
                    f"Checksum mismatch for {url} (the downloaded file was deleted; "
                    f"the mirror may be corrupt or the download damaged): " + "; ".join(details)
                )
        os.replace(tmp, target)
    except BaseException:
        out.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target


def _dynamic_progress(stream) -> bool:
    """Rich bar or plain lines: ``NERVE_PROGRESS=tty|plain`` forces it, else ask the stream."""
    mode = (os.environ.get("NERVE_PROGRESS") or "").strip().lower()
    if mode in ("tty", "dynamic", "1", "true"):
        return True
    if mode in ("plain", "0", "false"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _progress:
    """Progress display: a rich bar on a terminal, a few plain lines otherwise (stderr)."""

    def __init__(self, url: str, target: str, total: int | None):
        self.url, self.target, self.total = url, target, total
        self.done = 0
        self._rich = None
        self._next_pct = 10

    def __enter__(self):
        stream = sys.stderr
        size = f" ({self.total / 1e6:.1f} MB)" if self.total else ""
        if _dynamic_progress(stream):
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )

                console = Console(file=stream)
                console.print(f"Downloading {self.url}", markup=False, highlight=False)
                self._rich = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    console=console,
                )
                self._rich.__enter__()
                self._task = self._rich.add_task(os.path.basename(self.target), total=self.total)
            except ImportError:  # pragma: no cover - rich is a dependency
                self._rich = None
        if self._rich is None:
            stream.write(f"Downloading {self.url} -> {self.target}{size}\n")
            stream.flush()
        return self._advance

    def _advance(self, n: int) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.update(self._task, advance=n)
        elif self.total:
            pct = 100 * self.done // self.total
            if pct >= self._next_pct:
                sys.stderr.write(f" {pct}%")
                sys.stderr.flush()
                self._next_pct = (pct // 10 + 1) * 10

    def __exit__(self, *exc_info) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc_info)
        else:
            sys.stderr.write(f" done, {self.done / 1e6:.1f} MB\n" if exc_info[0] is None else " failed\n")
            sys.stderr.flush()


def idx_slots(**roles: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Layout slots for IDX files, accepting each gzip-compressed or not.

    ``idx_slots(x_test="t10k-images-idx3-ubyte")`` accepts
    ``t10k-images-idx3-ubyte.gz`` or ``t10k-images-idx3-ubyte``.
    """
    return tuple((role, (f"{name}.gz", name)) for role, name in roles.items())
