"""Fixtures of the applications tests: weights caches isolated in a temporary home."""

from __future__ import annotations

import pytest


@pytest.fixture
def weights_env(tmp_path, monkeypatch):
    """Empty nerve and Keras caches under tmp_path; no mirror, downloads allowed unless a test says otherwise."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NERVE_CACHE_DIR", str(tmp_path / "nerve_cache"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("NERVE_WEIGHTS_MIRROR", raising=False)
    monkeypatch.delenv("NERVE_OFFLINE", raising=False)
    monkeypatch.setenv("NERVE_PROGRESS", "plain")
    return tmp_path

