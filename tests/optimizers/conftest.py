"""Shared fixtures: a seeded torch, Keras 3 on its torch backend as the oracle, and runners."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

# Keras reads its backend once, at import: ask for torch before anything imports it.
if "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = "torch"

SHAPES = [(4, 3), (3,), (2, 3, 2), ()]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def keras() -> Any:
    """Keras 3 on the torch backend, or a skip saying why it cannot be the oracle."""
    keras = pytest.importorskip("keras", reason="Keras 3 is the oracle for these tests; install keras>=3")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras was imported with the {keras.backend.backend()!r} backend; these tests need 'torch'")
    return keras


def make_problem(steps: int = 6, seed: int = 0) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial weights of several shapes and a sequence of gradients of growing size."""
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[(rng.normal(size=s) * (0.3 + k)).astype("float32") for s in SHAPES] for k in range(steps)]
    return init, grads


def run_nerve_steps(
    opt: Any,
    init: list[np.ndarray],
    grads: list[list[np.ndarray]],
    between: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Train Parameters with `build` + `.grad` + `step()`, the trainer's contract."""
    params = [torch.nn.Parameter(torch.tensor(w)) for w in init]
    opt.build(params)
    for k, gs in enumerate(grads):
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        opt.step()
        assert all(p.grad is None for p in params)
        if between is not None:
            between(k)
    return [p.detach().numpy().copy() for p in params]


@pytest.fixture
def problem() -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    return make_problem()


@pytest.fixture
def nerve_runner() -> Callable[..., list[np.ndarray]]:
    return run_nerve_steps
