"""Pre-trained weights: find, download, verify and load Keras's published ImageNet files.

Lookup order for a weights file (first file whose MD5 matches wins):

1. nerve's cache: ``$NERVE_CACHE_DIR/models/`` or ``~/.nerve/models/``;
2. Keras's cache: ``$KERAS_HOME/models/`` then ``~/.keras/models/``, so files
   Keras already downloaded are reused;
3. a download into nerve's cache, MD5-verified and written atomically, from
   Keras's published URL, or from ``$NERVE_WEIGHTS_MIRROR/<file name>`` when
   that variable names a base URL or a local folder. ``NERVE_OFFLINE=1``
   skips the download.

The files are legacy Keras HDF5 weights files (a group per layer); they are
loaded by layer name, falling back to Keras's rule (the order of the layers
that have weights) if the names differ. Environment variables are read at
call time.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from typing import Any

from nerve.datasets import _files

__all__ = ["IMAGENET_WEIGHTS", "PretrainedWeightsNotFoundError", "WeightsFile", "fetch", "load_pretrained",
           "models_cache_dir"]

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file: its name in the caches, where Keras publishes it, its MD5."""

    filename: str
    url: str
    md5: str


def _published(folder: str, filename: str, md5: str) -> WeightsFile:
    return WeightsFile(filename, f"{_BASE}{folder}/{filename}", md5)


#: (architecture, include_top) -> the file Keras 3 loads for weights='imagenet'.
IMAGENET_WEIGHTS: dict[tuple[str, bool], WeightsFile] = {
    ("vgg16", True): _published("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                                "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): _published("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                 "6d6bbae143d832006294945121d1f1fc"),
    ("resnet50", True): _published("resnet", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                                   "2cb95161c43110f7111970584f804107"),
    ("resnet50", False): _published("resnet", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                    "4d473c1dd8becc155b73f8504c6f6626"),
}


class PretrainedWeightsNotFoundError(FileNotFoundError):
    """A pre-trained weights file was found nowhere and could not be downloaded.

    The message lists every place searched and how to get the file.
    """


def models_cache_dir() -> str:
    """nerve's cache of model weights: ``$NERVE_CACHE_DIR/models`` or ``~/.nerve/models``."""
    root = os.environ.get("NERVE_CACHE_DIR")
    root = os.path.expanduser(root) if root else os.path.join(os.path.expanduser("~"), ".nerve")
    return os.path.abspath(os.path.join(root, "models"))


def _keras_cache_dirs() -> list[str]:
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(os.path.join(os.path.expanduser(os.environ["KERAS_HOME"]), "models"))
    dirs.append(os.path.join(os.path.expanduser("~"), ".keras", "models"))
    return list(dict.fromkeys(os.path.abspath(d) for d in dirs))


def _download_url(spec: WeightsFile) -> str:
    mirror = os.environ.get("NERVE_WEIGHTS_MIRROR")
    if not mirror:
        return spec.url
    if "://" not in mirror:  # a local folder
        return f"{pathlib.Path(os.path.expanduser(mirror)).resolve().as_uri()}/{spec.filename}"
    return f"{mirror.rstrip('/')}/{spec.filename}"


def fetch(arch: str, include_top: bool) -> str:
    """Path of the verified ImageNet weights of `arch`, downloading them if needed.

    Raises:
        PretrainedWeightsNotFoundError: not cached and the download was
            impossible; the message says where it looked and how to get it.
        nerve.datasets.ChecksumError: a downloaded file failed its MD5 (it was deleted).
    """
    spec = IMAGENET_WEIGHTS[(arch, include_top)]
    expected = f"md5:{spec.md5}"
    own = models_cache_dir()
    looked: list[str] = []
    for folder in (own, *_keras_cache_dirs()):
        candidate = os.path.join(folder, spec.filename)
        if not os.path.isfile(candidate):
            looked.append(f"{candidate} (absent)")
            continue
        digest = _files.file_digest(candidate, "md5")
        if digest == spec.md5:
            return candidate
        looked.append(f"{candidate} (MD5 {digest}, expected {spec.md5}: incomplete or corrupted, ignored)")
    url = _download_url(spec)
    if _files.offline():
        looked.append("download: skipped because NERVE_OFFLINE is set")
    else:
        target = os.path.join(own, spec.filename)
        try:
            return _files.download(url, target, (expected,))
        except _files._DownloadFailed as exc:
            looked.append(f"download: {exc}")
    raise PretrainedWeightsNotFoundError(_not_found_message(arch, include_top, spec, looked, url, own))


def _not_found_message(arch: str, include_top: bool, spec: WeightsFile, looked: list[str], url: str,
                       own: str) -> str:
    lines = [f"The ImageNet weights of {arch} (include_top={include_top}), file {spec.filename}, were not "
             "found. Looked in:"]
    lines += [f"  - {entry}" for entry in looked]
    lines.append("To get them, any one of:")
    lines.append(f"  - download {url}")
    lines.append(f"    (MD5 {spec.md5}) into {own}{os.sep}")
    lines.append(f"  - set NERVE_WEIGHTS_MIRROR to a folder or base URL that holds {spec.filename}")
    if _files.offline():
        lines.append("  - unset NERVE_OFFLINE to allow the download")
    else:
        lines.append("  - retry with network access to the URL above")
    lines.append(f"  - pass weights='/path/to/{spec.filename}' to load a copy you have elsewhere")
    return "\n".join(lines)


def load_pretrained(model: Any, path: str) -> None:
    """Load a legacy Keras HDF5 weights file into `model` by layer name (Keras's layer order as fallback).

    Every shape is checked before any weight changes.
    """
    import h5py

    from nerve.saving.keras_import import is_legacy_h5, load_legacy_weights

    with h5py.File(path, "r") as handle:
        if not is_legacy_h5(handle):
            raise ValueError(f"'{path}' is not a Keras HDF5 weights file (it has no 'layer_names').")
        try:
            load_legacy_weights(handle, model, by_name=True)
        except ValueError as by_name:
            try:
                load_legacy_weights(handle, model)
            except ValueError:
                raise ValueError(f"Cannot load the pre-trained weights '{path}' into model '{model.name}': "
                                 f"{by_name}") from None

