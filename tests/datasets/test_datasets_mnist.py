"""MNIST / Fashion-MNIST loaders: lookup order over path=, NERVE_DATA, caches and Debian."""

from __future__ import annotations

import os

import numpy as np
import pytest
from nerve_datasets_testutil import DEBIAN_FASHION_DIR, write_mnist_idx_folder, write_mnist_npz

from nerve.datasets import DatasetNotFoundError, _files, fashion_mnist, mnist

TRAIN_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_NAMES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _link_real_test_set_as_full_set(src, folder):
    """No MNIST training set is available here: reuse the test files as training files."""
    folder.mkdir(parents=True, exist_ok=True)
    for train, test in zip(TRAIN_NAMES, TEST_NAMES):
        os.symlink(src / test, folder / train)
        os.symlink(src / test, folder / test)
    return folder


def _assert_real_mnist_test(x, y):
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    assert y[0] == 7 and set(np.unique(y)) == set(range(10))


# --------------------------------------------------------------------------- #
# Real files
# --------------------------------------------------------------------------- #
def test_mnist_real_files_through_nerve_data(mnist_test_dir, tmp_path, monkeypatch):
    root = tmp_path / "data"
    _link_real_test_set_as_full_set(mnist_test_dir, root / "mnist")
    monkeypatch.setenv("NERVE_DATA", str(root))  # read at call time, after import
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    _assert_real_mnist_test(x_train, y_train)
    _assert_real_mnist_test(x_test, y_test)
    np.testing.assert_array_equal(x_train, x_test)


def test_mnist_real_files_through_path_argument(mnist_test_dir, tmp_path):
    folder = _link_real_test_set_as_full_set(mnist_test_dir, tmp_path / "somewhere")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=folder)
    _assert_real_mnist_test(x_test, y_test)
    # a parent folder with an "mnist" sub-folder works too
    (tmp_path / "parent").mkdir()
    os.rename(folder, tmp_path / "parent" / "mnist")
    (_, _), (x2, _) = mnist.load_data(path=str(tmp_path / "parent"))
    np.testing.assert_array_equal(x2, x_test)


def test_mnist_load_test_data_from_test_only_folder(mnist_test_dir):
    x_test, y_test = mnist.load_test_data(mnist_test_dir)
    _assert_real_mnist_test(x_test, y_test)
    # the full loader needs the training files too, and says so
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte.gz"):
        mnist.load_data(path=mnist_test_dir)


def test_mnist_load_test_data_via_nerve_data(mnist_test_dir, monkeypatch, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    os.symlink(mnist_test_dir, root / "mnist")
    monkeypatch.setenv("NERVE_DATA", str(root))
    x_test, y_test = mnist.load_test_data()
    _assert_real_mnist_test(x_test, y_test)


# --------------------------------------------------------------------------- #
# Synthetic files: formats and lookup order
# --------------------------------------------------------------------------- #
def test_mnist_npz_file_as_path(tmp_path):
    arrays = write_mnist_npz(tmp_path / "my-mnist.npz")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=tmp_path / "my-mnist.npz")
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (28, 28)
    x_t, y_t = mnist.load_test_data(tmp_path / "my-mnist.npz")
    np.testing.assert_array_equal(x_t, arrays["x_test"])


def test_uncompressed_idx_files_accepted(tmp_path):
    import gzip

    folder = tmp_path / "raw"
    arrays = write_mnist_idx_folder(folder)
    for gz in folder.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    (x_train, _), (_, y_test) = mnist.load_data(folder)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_mnist_npz_at_nerve_data_root(tmp_path, monkeypatch):
    arrays = write_mnist_npz(tmp_path / "data" / "mnist.npz")
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_nerve_data_may_list_several_folders(tmp_path, monkeypatch):
    arrays = write_mnist_npz(tmp_path / "second" / "mnist" / "mnist.npz")
    (tmp_path / "first").mkdir()
    monkeypatch.setenv("NERVE_DATA", os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")]))
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_generic_idx_names_at_nerve_data_root_are_not_guessed(tmp_path, monkeypatch):
    """MNIST-named IDX files at the root could be MNIST or Fashion-MNIST: only sub-folders count."""
    write_mnist_idx_folder(tmp_path / "data")
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError):
        fashion_mnist.load_data()
    with pytest.raises(DatasetNotFoundError):
        mnist.load_data()


def test_lookup_order_path_then_nerve_data_then_caches(tmp_path, monkeypatch, isolated_env):
    home = isolated_env
    explicit = write_mnist_idx_folder(tmp_path / "explicit", seed=1)
    env = write_mnist_npz(tmp_path / "env" / "mnist" / "mnist.npz", seed=2)
    own = write_mnist_npz(tmp_path / "cache" / "mnist" / "mnist.npz", seed=3)
    keras = write_mnist_npz(home / ".keras" / "datasets" / "mnist.npz", seed=4)
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("NERVE_CACHE_DIR", str(tmp_path / "cache"))

    def first_train_image():
        return mnist.load_data()[0][0][0]

    np.testing.assert_array_equal(mnist.load_data(tmp_path / "explicit")[0][0][0], explicit["x_train"][0])
    np.testing.assert_array_equal(first_train_image(), env["x_train"][0])
    monkeypatch.delenv("NERVE_DATA")
    np.testing.assert_array_equal(first_train_image(), own["x_train"][0])
    monkeypatch.delenv("NERVE_CACHE_DIR")
    np.testing.assert_array_equal(first_train_image(), keras["x_train"][0])  # reuses Keras's cache


def test_default_nerve_cache_under_home(isolated_env):
    arrays = write_mnist_npz(isolated_env / ".nerve" / "datasets" / "mnist" / "mnist.npz")
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_keras_home_cache(tmp_path, monkeypatch):
    arrays = write_mnist_npz(tmp_path / "kh" / "datasets" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_bare_file_name_is_looked_up_by_that_name(tmp_path, monkeypatch):
    """Like Keras, path="other.npz" names the file in the caches (not the cwd)."""
    arrays = write_mnist_npz(tmp_path / "data" / "mnist" / "other.npz")
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (x_train, _), _ = mnist.load_data(path="other.npz")
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    with pytest.raises(DatasetNotFoundError, match="mnist.npz"):
        mnist.load_data()


def test_fashion_mnist_from_debian_folder_layout(tmp_path, monkeypatch):
    """Debian layout: /usr/share/datasets/fashion-mnist/ (hyphen); redirected to a tmp folder."""
    arrays = write_mnist_idx_folder(tmp_path / "debian" / "fashion-mnist")
    monkeypatch.setattr(_files, "DEBIAN_DATASETS_DIR", str(tmp_path / "debian"))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    x_t, _ = fashion_mnist.load_test_data()
    np.testing.assert_array_equal(x_t, arrays["x_test"])


def test_fashion_mnist_from_keras_cache(isolated_env):
    arrays = write_mnist_idx_folder(isolated_env / ".keras" / "datasets" / "fashion-mnist")
    (x_train, _), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_mismatched_image_and_label_counts(tmp_path):
    from nerve_datasets_testutil import write_idx

    from nerve.datasets import DatasetFormatError

    write_mnist_idx_folder(tmp_path / "m")
    write_idx(tmp_path / "m" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetFormatError, match="5 images but .* 3 labels"):
        mnist.load_data(tmp_path / "m")


def test_not_found_message_lists_every_place(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data(path=tmp_path / "missing" / "mnist.npz")
    message = str(info.value)
    assert isinstance(info.value, OSError)
    for fragment in (
        "path argument",
        "$NERVE_DATA: not set",
        "nerve cache",
        "Keras cache",
        "Debian",
        "skipped because NERVE_OFFLINE",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    ):
        assert fragment in message, fragment


def test_not_found_message_for_fashion_names_the_apt_package():
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load_data()


# --------------------------------------------------------------------------- #
# The real Debian package (only where it is installed)
# --------------------------------------------------------------------------- #
@pytest.mark.skipif(
    not (DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)",
)
def test_fashion_mnist_from_real_debian_package(monkeypatch):
    monkeypatch.setattr(_files, "DEBIAN_DATASETS_DIR", str(DEBIAN_FASHION_DIR.parent))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert (np.bincount(y_train, minlength=10) == 6000).all()
    assert (np.bincount(y_test, minlength=10) == 1000).all()
    # the checksum table accepts the Debian files (recompressed; same content)
    for remote in fashion_mnist.SPEC.remotes:
        ok, _ = _files._verify(str(DEBIAN_FASHION_DIR / remote.filename), remote.hashes)
        assert ok, remote.filename
