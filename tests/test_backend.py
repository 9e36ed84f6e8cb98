"""backend: device choice, dtypes, seeds, names and the Variable users touch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve import backend


def test_device_is_chosen_and_can_be_overridden(monkeypatch):
    backend.set_device(None)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert backend.get_device().type == expected
    monkeypatch.setenv("NERVE_DEVICE", "cpu")
    backend.set_device(None)
    assert backend.get_device() == torch.device("cpu")
    backend.set_device("cpu")
    layer = nerve.layers.Dense(2)
    layer.build((None, 3))
    assert layer.kernel.value.device == torch.device("cpu")
    backend.set_device(None)


def test_floatx_and_epsilon():
    assert backend.floatx() == "float32" and backend.epsilon() == 1e-7
    with pytest.raises(ValueError, match="Unknown floatx"):
        backend.set_floatx("float8")


def test_set_random_seed_repeats_numpy_and_torch():
    nerve.utils.set_random_seed(5)
    a = (np.random.rand(3), torch.rand(3))
    nerve.utils.set_random_seed(5)
    b = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    with pytest.raises(ValueError, match="non-negative integer"):
        nerve.utils.set_random_seed(-1)


def test_unique_names_and_clear_session():
    assert [backend.unique_name("foo") for _ in range(3)] == ["foo", "foo_1", "foo_2"]
    backend.clear_session()
    assert backend.unique_name("foo") == "foo"
    assert nerve.Sequential().name == "sequential" and nerve.Sequential().name == "sequential_1"


def test_variable_behaves_like_keras_variable():
    layer = nerve.layers.Dense(2, name="d")
    layer.build((None, 3))
    kernel = layer.kernel
    assert kernel.path == "d/kernel" and kernel.shape == (3, 2) and kernel.dtype == "float32"
    assert isinstance(kernel.numpy(), np.ndarray) and np.asarray(kernel).shape == (3, 2)
    kernel.assign(np.ones((3, 2)))
    assert torch.matmul(torch.ones(1, 3), kernel).sum().item() == 6.0
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*d/kernel.*\(3, 2\)"):
        kernel.assign(np.ones((2, 2)))
    lr = nerve.Variable(torch.tensor(0.01))
    assert lr * 10 == pytest.approx(0.1) and f"{lr:.3f}" == "0.010"


def test_to_categorical_and_normalize():
    np.testing.assert_array_equal(nerve.utils.to_categorical([0, 2, 1], 3), np.eye(3)[[0, 2, 1]])
    assert nerve.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        nerve.utils.to_categorical([0, 2], 2)
    np.testing.assert_allclose(nerve.utils.normalize(np.array([[3.0, 4.0]])), [[0.6, 0.8]])


def test_version():
    assert isinstance(nerve.__version__, str) and nerve.__version__.count(".") == 2


def test_freed_tensor_buffers_stay_in_the_heap_on_glibc_unless_turned_off():
    import platform
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("the malloc tuning applies to Linux with glibc only")
    assert nerve.backend.MALLOC_TUNED is True
    code = "import nerve; print(nerve.backend.MALLOC_TUNED)"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "NERVE_MALLOC_TUNING": "0"})
    assert off.stdout.strip() == "False", off.stderr
