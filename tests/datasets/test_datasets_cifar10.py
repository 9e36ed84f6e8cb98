"""CIFAR-10 binary reader and loader, on small synthetic archives."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from nerve.datasets import DatasetFormatError, cifar10

BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def _batch(n: int, first_label: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """n records; image k has R=k, G=k+100, B=k+200 everywhere, plus a marker pixel."""
    labels = (np.arange(n) + first_label) % 10
    images = np.zeros((n, 32, 32, 3), np.uint8)
    for k in range(n):
        images[k, :, :, 0] = k
        images[k, :, :, 1] = k + 100
        images[k, :, :, 2] = k + 200
        images[k, 1, 2, :] = (7, 8, 9)  # row 1, column 2: catches transposed axes
    records = np.concatenate(
        [labels.astype(np.uint8)[:, None], images.transpose(0, 3, 1, 2).reshape(n, -1)], axis=1
    )
    return records.tobytes(), images, labels.astype(np.uint8)


def _make_batches(n: int = 3):
    return {name: _batch(n, i) for i, name in enumerate(BATCHES)}


def _tar(path, members: dict[str, bytes], extra=None):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or ():
            tar.addfile(info)
    return path


def _check(result, batches, n=3):
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (5 * n, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (5 * n, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (n, 32, 32, 3) and y_test.shape == (n, 1) and y_test.dtype == np.uint8
    expected_x = np.concatenate([batches[b][1] for b in BATCHES[:5]])
    expected_y = np.concatenate([batches[b][2] for b in BATCHES[:5]])
    np.testing.assert_array_equal(x_train, expected_x)
    np.testing.assert_array_equal(y_train[:, 0], expected_y)
    np.testing.assert_array_equal(x_test, batches["test_batch.bin"][1])
    assert tuple(x_train[0, 1, 2]) == (7, 8, 9) and tuple(x_train[1, 0, 0]) == (1, 101, 201)


def test_tarball_as_path(tmp_path):
    batches = _make_batches()
    path = _tar(tmp_path / "c.tar.gz", {f"cifar-10-batches-bin/{k}": v[0] for k, v in batches.items()})
    _check(cifar10.load_data(path=path), batches)


def test_tarball_in_nerve_data(tmp_path, monkeypatch):
    batches = _make_batches()
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    _tar(tmp_path / "data" / "cifar10" / "cifar-10-binary.tar.gz",
         {f"cifar-10-batches-bin/{k}": v[0] for k, v in batches.items()})  # fmt: skip
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    _check(cifar10.load_data(), batches)


def test_extracted_folder(tmp_path, monkeypatch):
    batches = _make_batches(2)
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name, (data, _, _) in batches.items():
        (folder / name).write_bytes(data)
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    _check(cifar10.load_data(), batches, n=2)
    _check(cifar10.load_data(path=folder), batches, n=2)


def test_archive_paths_are_never_followed(tmp_path):
    """Members named with ../ are read in memory by base name; nothing is written anywhere."""
    batches = _make_batches()
    work = tmp_path / "work"
    work.mkdir()
    path = _tar(tmp_path / "evil.tar.gz", {f"../../escape/{k}": v[0] for k, v in batches.items()})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    _check(cifar10.load_data(path=path), batches)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_symlink_member_is_ignored(tmp_path):
    batches = _make_batches()
    link = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    members = {f"cifar-10-batches-bin/{k}": v[0] for k, v in batches.items() if k != "test_batch.bin"}
    path = _tar(tmp_path / "c.tar.gz", members, extra=[link])
    with pytest.raises(DatasetFormatError, match="test_batch.bin"):
        cifar10.load_data(path=path)


def test_bad_record_size_and_label(tmp_path):
    batches = _make_batches()
    members = {k: v[0] for k, v in batches.items()}
    members["data_batch_2.bin"] = members["data_batch_2.bin"][:-1]
    with pytest.raises(DatasetFormatError, match="record size"):
        cifar10.load_data(path=_tar(tmp_path / "a.tar.gz", members))
    members = {k: v[0] for k, v in batches.items()}
    members["test_batch.bin"] = b"\x0c" + members["test_batch.bin"][1:]
    with pytest.raises(DatasetFormatError, match="label 12"):
        cifar10.load_data(path=_tar(tmp_path / "b.tar.gz", members))


def test_not_a_tarball(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"not a tar file at all" * 10)
    with pytest.raises(DatasetFormatError, match="cannot read CIFAR-10 archive"):
        cifar10.load_data(path=tmp_path / "cifar-10-binary.tar.gz")
