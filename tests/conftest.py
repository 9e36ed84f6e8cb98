"""Shared fixtures: every test starts from a fresh session with seeded RNGs."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("NERVE_PROGRESS", "plain")

import nerve  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    """Reset layer names and seed Python, NumPy and torch before each test."""
    nerve.backend.clear_session()
    nerve.utils.set_random_seed(1234)
    yield


@pytest.fixture
def keras():
    """Keras 3 on its torch backend, as the oracle; skips when it is not installed."""
    return pytest.importorskip("keras", reason="Keras 3 is the oracle for these checks; pip install keras")
