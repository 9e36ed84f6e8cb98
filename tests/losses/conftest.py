"""Fixtures for these tests: Keras 3 on torch as the oracle (skipped when absent), seeded RNGs."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def keras():
    """Keras 3 with the torch backend; the test is skipped with a reason when it is not installed."""
    return pytest.importorskip("keras", reason="Keras 3 is the oracle for these comparisons; pip install keras")


@pytest.fixture
def rng():
    """A seeded NumPy generator (torch is seeded too), so every run draws the same data."""
    torch.manual_seed(0)
    np.random.seed(0)
    return np.random.default_rng(0)
