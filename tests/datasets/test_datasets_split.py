"""Seeded train/test splits: boston_housing (against Keras), digits and diabetes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from nerve_datasets_testutil import write_boston_npz

from nerve.datasets import boston_housing, diabetes, digits


def _keras_boston_module(monkeypatch, npz_path):
    """Keras's own boston loader, with its download replaced by our local file."""
    os.environ.setdefault("KERAS_BACKEND", "torch")  # keras.json here names tensorflow
    module = pytest.importorskip("keras.src.datasets.boston_housing")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(npz_path))
    return module


@pytest.mark.parametrize(("test_split", "seed"), [(0.2, 113), (0.33, 7), (0.0, 113), (0.5, 0)])
def test_boston_split_matches_keras(tmp_path, monkeypatch, test_split, seed):
    path = tmp_path / "boston_housing.npz"
    write_boston_npz(path, n=53)
    keras_boston = _keras_boston_module(monkeypatch, path)
    expected = keras_boston.load_data(path=str(path), test_split=test_split, seed=seed)
    got = boston_housing.load_data(path=path, test_split=test_split, seed=seed)
    for (gx, gy), (ex, ey) in zip(got, expected):
        assert gx.dtype == ex.dtype and gy.dtype == ey.dtype
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)


def test_boston_split_closed_form(tmp_path):
    """The documented rule, independent of Keras: RandomState(seed) shuffle, first 80% train."""
    arrays = write_boston_npz(tmp_path / "b.npz", n=506)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(path=tmp_path / "b.npz")
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    order = np.arange(506)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(x_train, arrays["x"][order[:404]])
    np.testing.assert_array_equal(y_test, arrays["y"][order[404:]])
    assert x_train.dtype == np.float64 and y_train.dtype == np.float64
    assert not np.shares_memory(x_train, x_test)


def test_boston_rejects_bad_test_split(tmp_path):
    write_boston_npz(tmp_path / "b.npz")
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_split"):
            boston_housing.load_data(path=tmp_path / "b.npz", test_split=bad)


def test_npz_with_pickled_object_array_is_refused(tmp_path):
    from nerve.datasets import DatasetFormatError

    np.savez(tmp_path / "evil.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(DatasetFormatError):
        boston_housing.load_data(path=tmp_path / "evil.npz")


def test_npz_missing_arrays_is_clear(tmp_path):
    from nerve.datasets import DatasetFormatError

    np.savez(tmp_path / "wrong.npz", a=np.zeros(3))
    with pytest.raises(DatasetFormatError, match=r"lacks array\(s\) \['x', 'y'\]"):
        boston_housing.load_data(path=tmp_path / "wrong.npz")
    (tmp_path / "notzip.npz").write_bytes(b"\x93NUMPY junk")
    with pytest.raises(DatasetFormatError, match="not an .npz"):
        boston_housing.load_data(path=tmp_path / "notzip.npz")


def _assert_partition(full_x, x_train, x_test):
    """Train and test together are a permutation of the full set: nothing shared, nothing lost."""
    both = np.concatenate([x_train, x_test]).reshape(len(full_x), -1)
    full = full_x.reshape(len(full_x), -1)
    np.testing.assert_array_equal(np.unique(both, axis=0, return_counts=True)[1],
                                  np.unique(full, axis=0, return_counts=True)[1])  # fmt: skip
    np.testing.assert_array_equal(np.unique(both, axis=0), np.unique(full, axis=0))


def test_digits_shapes_dtypes_and_range():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.min() == 0 and x_train.max() == 255
    assert set(np.unique(y_train)) == set(range(10)) and y_test.max() <= 9
    # values are round(v * 255 / 16) of the 0..16 originals
    allowed = set(np.rint(np.arange(17) * 255 / 16).astype(np.uint8).tolist())
    assert set(np.unique(x_train).tolist()) <= allowed


def test_digits_deterministic_split_without_overlap():
    from sklearn.datasets import load_digits

    first = digits.load_data()
    again = digits.load_data()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    (x_train, y_train), (x_test, y_test) = first
    full = np.rint(load_digits().images * 255 / 16).astype(np.uint8)
    _assert_partition(full, x_train, x_test)
    order = np.arange(len(full))
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(x_test, full[order[1437:]])
    other = digits.load_data(seed=1)
    assert not np.array_equal(other[0][0], x_train)
    (x_tr, _), (x_te, _) = digits.load_data(test_split=0.5)
    assert len(x_tr) == 898 and len(x_te) == 899


def test_diabetes_shapes_dtypes_and_split():
    from sklearn.datasets import load_diabetes

    (x_train, y_train), (x_test, y_test) = diabetes.load_data()
    assert x_train.shape == (353, 10) and x_test.shape == (89, 10)
    assert y_train.shape == (353,) and y_test.shape == (89,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.float32
    assert 25 <= y_train.min() and y_train.max() <= 346
    assert np.abs(x_train).max() < 1.0  # scikit-learn's scaled features
    full = load_diabetes().data.astype(np.float32)
    assert len(np.unique(full, axis=0)) == len(full)  # rows unique, so the check below is exact
    train_rows = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_rows for row in x_test)
    _assert_partition(full, x_train, x_test)
    (x2, _), _ = diabetes.load_data()
    np.testing.assert_array_equal(x2, x_train)
