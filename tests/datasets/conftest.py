"""Shared fixtures for the nerve.datasets tests: isolated environment, local HTTP mirror."""

from __future__ import annotations

from pathlib import Path

import pytest
from nerve_datasets_testutil import MNIST_TEST_DIR, MNIST_TEST_FILES, LocalMirror

from nerve.datasets import _files

_ENV_VARS = (
    "NERVE_DATA",
    "NERVE_CACHE_DIR",
    "NERVE_OFFLINE",
    "NERVE_DATASETS_MIRROR",
    "KERAS_HOME",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No real caches, no Debian folder, no network: every test starts from nothing.

    HOME points into tmp_path (so ``~/.nerve`` and ``~/.keras`` are empty),
    Debian's folder is redirected to an empty one and downloads are off
    (``NERVE_OFFLINE=1``) unless a test turns them back on.
    """
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    debian = tmp_path / "usr-share-datasets"
    debian.mkdir()
    monkeypatch.setattr(_files, "DEBIAN_DATASETS_DIR", str(debian))
    return home


@pytest.fixture
def mnist_test_dir() -> Path:
    """Folder with the real MNIST t10k IDX files (skips when absent)."""
    if not all((MNIST_TEST_DIR / f).is_file() for f in MNIST_TEST_FILES):
        pytest.skip(f"real MNIST test set not found in {MNIST_TEST_DIR}")
    return MNIST_TEST_DIR


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Start a local mirror, point NERVE_DATASETS_MIRROR at it and allow downloads."""
    root = tmp_path / "mirror"
    root.mkdir()
    server = LocalMirror(root)
    monkeypatch.setenv("NERVE_DATASETS_MIRROR", server.url)
    monkeypatch.delenv("NERVE_OFFLINE", raising=False)
    yield server
    server.close()
