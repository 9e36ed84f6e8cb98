"""Fixtures for callback tests: Keras 3 on torch as the oracle, and a small digits problem."""

from __future__ import annotations

import os
import sys

if "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = "torch"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def keras():
    """Keras 3 with the torch backend; skipped with a reason when it cannot be the oracle."""
    keras = pytest.importorskip("keras", reason="Keras 3 is the oracle for these comparisons; pip install keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras was imported with the {keras.backend.backend()!r} backend; these tests need 'torch'")
    return keras


@pytest.fixture(scope="session")
def digits_data():
    """sklearn's digits as flat float32 inputs in [0, 1] and integer labels (train split only)."""
    from nerve.datasets import digits

    (x, y), _ = digits.load_data()
    return (x.reshape(len(x), -1) / 255.0).astype("float32"), y.astype("int64")
