"""IDX reader: the real MNIST test set, and malformed synthetic files."""

from __future__ import annotations

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from nerve_datasets_testutil import idx_bytes, md5_of, write_idx

from nerve.datasets import DatasetFormatError, load_idx

README_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


# --------------------------------------------------------------------------- #
# Real data
# --------------------------------------------------------------------------- #
def test_real_mnist_test_files_match_readme_md5(mnist_test_dir):
    for name, expected in README_MD5.items():
        assert md5_of(mnist_test_dir / name) == expected, name


def test_real_mnist_test_images_and_labels(mnist_test_dir):
    images = load_idx(mnist_test_dir / "t10k-images-idx3-ubyte.gz")
    labels = load_idx(str(mnist_test_dir / "t10k-labels-idx1-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert labels[0] == 7  # the famous first test digit
    assert np.bincount(labels, minlength=10).min() > 800  # every digit well represented
    assert 33.0 < images.mean() < 34.5  # MNIST test-set pixel mean is ~33.8
    assert images.max() == 255 and images.min() == 0
    # border pixels of MNIST are essentially blank
    assert images[:, 0, :].mean() < 1.0
    assert images.flags.writeable


# --------------------------------------------------------------------------- #
# Synthetic files
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
def test_roundtrip_all_element_types(tmp_path, dtype, compress):
    values = np.arange(24).reshape(2, 3, 4)
    if dtype != "u1":
        values = values - 5  # negative values exercise the signed types
    array = values.astype(np.dtype(dtype).newbyteorder("="))
    path = write_idx(tmp_path / "a.idx", array, compress=compress)
    out = load_idx(path)
    assert out.shape == (2, 3, 4)
    assert out.dtype == array.dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_bad_magic_number(tmp_path):
    data = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    data[0] = 0x12
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(DatasetFormatError, match="not an IDX file"):
        load_idx(tmp_path / "bad")


def test_text_file_is_not_idx(tmp_path):
    (tmp_path / "x.gz").write_text("<html>404 Not Found</html>")
    with pytest.raises(DatasetFormatError, match="not an IDX file"):
        load_idx(tmp_path / "x.gz")


def test_unknown_type_code(tmp_path):
    (tmp_path / "bad").write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 3) + b"abc")
    with pytest.raises(DatasetFormatError, match="unknown IDX element type code 0x07"):
        load_idx(tmp_path / "bad")


def test_zero_dimensions(tmp_path):
    (tmp_path / "bad").write_bytes(bytes([0, 0, 0x08, 0]))
    with pytest.raises(DatasetFormatError, match="declares 0 dimensions"):
        load_idx(tmp_path / "bad")


def test_header_truncated(tmp_path):
    (tmp_path / "bad").write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">I", 10))
    with pytest.raises(DatasetFormatError, match="truncated while reading the IDX dimensions"):
        load_idx(tmp_path / "bad")


def test_truncated_data_raw(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    (tmp_path / "bad").write_bytes(data[:-100])
    with pytest.raises(DatasetFormatError, match="truncated"):
        load_idx(tmp_path / "bad")


def test_trailing_data_raw(tmp_path):
    (tmp_path / "bad").write_bytes(idx_bytes(np.zeros((3, 4), np.uint8)) + b"\0\0")
    with pytest.raises(DatasetFormatError, match="trailing"):
        load_idx(tmp_path / "bad")


def test_trailing_data_gzip(tmp_path):
    (tmp_path / "bad.gz").write_bytes(gzip.compress(idx_bytes(np.zeros((3, 4), np.uint8)) + b"\0"))
    with pytest.raises(DatasetFormatError, match="trailing"):
        load_idx(tmp_path / "bad.gz")


def test_truncated_data_gzip_content(tmp_path):
    data = idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 100))
    (tmp_path / "bad.gz").write_bytes(gzip.compress(data[:-50]))
    with pytest.raises(DatasetFormatError, match="truncated"):
        load_idx(tmp_path / "bad.gz")


def test_truncated_gzip_stream(tmp_path):
    rng = np.random.default_rng(0)
    blob = gzip.compress(idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetFormatError, match="truncated|corrupt"):
        load_idx(tmp_path / "cut.gz")


def test_huge_declared_dims_raw_refused_before_reading(tmp_path):
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    (tmp_path / "huge").write_bytes(header + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFormatError, match="has only .* bytes"):
            load_idx(tmp_path / "huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_huge_declared_dims_gzip_refused_before_reading(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 60000, 60000, 60000)
    (tmp_path / "huge.gz").write_bytes(gzip.compress(header + b"\0" * 64))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFormatError, match="cannot hold more"):
            load_idx(tmp_path / "huge.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_plausible_but_false_gzip_size_reads_only_real_data(tmp_path):
    # 40 MB declared, within deflate's ratio bound for this file, but only 64 bytes present.
    header = bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 40_000, 1000)
    blob = gzip.compress(header + b"\0" * 64) + b"\0" * 60_000  # padding inflates the bound
    (tmp_path / "liar.gz").write_bytes(blob)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFormatError):
            load_idx(tmp_path / "liar.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # never allocates the 40 MB the header claims


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope")
