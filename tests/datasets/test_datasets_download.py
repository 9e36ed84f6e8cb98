"""Download step, against a local HTTP mirror on 127.0.0.1 (no other network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib

import numpy as np
import pytest
from nerve_datasets_testutil import listing, sha256_of, unused_port, write_boston_npz, write_mnist_npz

from nerve.datasets import ChecksumError, DatasetNotFoundError, _files, boston_housing, fashion_mnist, mnist


def _with_hashes(module, monkeypatch, *hash_lists):
    """Point a dataset module's SPEC at checksums of our synthetic files."""
    spec = module.SPEC
    remotes = tuple(dataclasses.replace(r, hashes=h) for r, h in zip(spec.remotes, hash_lists))
    monkeypatch.setattr(module, "SPEC", dataclasses.replace(spec, remotes=remotes))


def test_download_caches_verifies_and_is_reused(mirror, tmp_path, monkeypatch, capfd):
    served = tmp_path / "mirror" / "boston_housing" / "boston_housing.npz"
    arrays = write_boston_npz(served)
    _with_hashes(boston_housing, monkeypatch, (f"sha256:{sha256_of(served)}",))

    (x_train, y_train), (x_test, y_test) = boston_housing.load_data()
    cached = tmp_path / "home" / ".nerve" / "datasets" / "boston_housing" / "boston_housing.npz"
    assert cached.is_file() and cached.read_bytes() == served.read_bytes()
    assert listing(cached.parent) == ["boston_housing.npz"]  # no temp file left
    assert mirror.requests == ["/boston_housing/boston_housing.npz"]
    assert len(x_train) + len(x_test) == len(arrays["x"])
    assert "Downloading" in capfd.readouterr().err  # plain-text progress (no tty)

    boston_housing.load_data()  # second call: from the cache
    assert len(mirror.requests) == 1


@pytest.mark.parametrize("mode", ["tty", "plain"])
def test_progress_modes(mirror, tmp_path, monkeypatch, capfd, mode):
    """NERVE_PROGRESS forces the rich bar or plain lines (both on stderr)."""
    served = tmp_path / "mirror" / "boston_housing" / "boston_housing.npz"
    write_boston_npz(served, n=3000)
    _with_hashes(boston_housing, monkeypatch, (f"sha256:{sha256_of(served)}",))
    monkeypatch.setenv("NERVE_PROGRESS", mode)
    boston_housing.load_data()
    captured = capfd.readouterr()
    assert f"Downloading {mirror.url}/boston_housing/boston_housing.npz" in captured.err
    assert captured.out == ""
    if mode == "plain":
        assert "100%" in captured.err and "done" in captured.err


def test_download_goes_to_nerve_cache_dir(mirror, tmp_path, monkeypatch):
    served = tmp_path / "mirror" / "mnist" / "mnist.npz"
    arrays = write_mnist_npz(served)
    _with_hashes(mnist, monkeypatch, (f"sha256:{sha256_of(served)}",))
    monkeypatch.setenv("NERVE_CACHE_DIR", str(tmp_path / "cache"))
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert (tmp_path / "cache" / "mnist" / "mnist.npz").is_file()


def test_corrupted_download_raises_and_leaves_nothing(mirror, tmp_path, monkeypatch):
    served = tmp_path / "mirror" / "boston_housing" / "boston_housing.npz"
    write_boston_npz(served)
    _with_hashes(boston_housing, monkeypatch, ("sha256:" + "0" * 64, "md5:" + "0" * 32))
    with pytest.raises(ChecksumError, match="Checksum mismatch") as info:
        boston_housing.load_data()
    assert sha256_of(served) in str(info.value)  # says what it got
    assert isinstance(info.value, OSError)
    cache = tmp_path / "home" / ".nerve" / "datasets" / "boston_housing"
    assert listing(cache) == []


def test_checksum_any_listed_hash_may_match(mirror, tmp_path, monkeypatch):
    served = tmp_path / "mirror" / "boston_housing" / "boston_housing.npz"
    write_boston_npz(served)
    md5 = hashlib.md5(served.read_bytes()).hexdigest()
    _with_hashes(boston_housing, monkeypatch, ("sha256:" + "0" * 64, f"md5:{md5}"))
    boston_housing.load_data()


def test_multi_file_download_with_gunzip_sha256(mirror, tmp_path, monkeypatch):
    """Fashion-MNIST: four files, accepted by the SHA-256 of their decompressed content."""
    from nerve_datasets_testutil import write_mnist_idx_folder

    folder = tmp_path / "mirror" / "fashion-mnist"
    arrays = write_mnist_idx_folder(folder)
    hashes = [
        (f"gunzip-sha256:{hashlib.sha256(gzip.decompress((folder / r.filename).read_bytes())).hexdigest()}",)
        for r in fashion_mnist.SPEC.remotes
    ]
    _with_hashes(fashion_mnist, monkeypatch, *hashes)
    (x_train, _), (_, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert len(mirror.requests) == 4
    fashion_mnist.load_data()
    assert len(mirror.requests) == 4


def test_http_404_is_reported(mirror):
    with pytest.raises(DatasetNotFoundError, match="HTTP 404"):
        boston_housing.load_data()
    assert mirror.requests == ["/boston_housing/boston_housing.npz"]


def test_truncated_transfer_leaves_nothing(mirror, tmp_path):
    target = tmp_path / "dl" / "truncated.bin"
    with pytest.raises(_files._DownloadFailed):
        _files.download(f"{mirror.url}/x/truncated.bin", str(target), ("sha256:" + "0" * 64,))
    assert listing(target.parent) == []


def test_no_server_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NERVE_OFFLINE")
    monkeypatch.setenv("NERVE_DATASETS_MIRROR", f"http://127.0.0.1:{unused_port()}")
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError) as info:
        boston_housing.load_data()
    message = str(info.value)
    for fragment in ("$NERVE_DATA", "nerve cache", "Keras cache", "download:", "/boston_housing/boston_housing.npz"):
        assert fragment in message, fragment
    assert listing(tmp_path / "home" / ".nerve" / "datasets" / "boston_housing") == []


def test_offline_makes_no_request(mirror, monkeypatch):
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="NERVE_OFFLINE"):
        boston_housing.load_data()
    assert mirror.requests == []


def test_digest_helpers(tmp_path):
    payload = b"hello nerve" * 1000
    (tmp_path / "f.gz").write_bytes(gzip.compress(payload[:5000]) + gzip.compress(payload[5000:]))
    assert _files.file_digest(str(tmp_path / "f.gz"), "gunzip-sha256") == hashlib.sha256(payload).hexdigest()
    raw_md5 = hashlib.md5((tmp_path / "f.gz").read_bytes()).hexdigest()
    assert _files.file_digest(str(tmp_path / "f.gz"), "md5") == raw_md5


def test_real_specs_carry_checksums():
    for module in (mnist, fashion_mnist, boston_housing):
        for remote in module.SPEC.remotes:
            assert remote.hashes and remote.url.startswith("https://"), remote
    from nerve.datasets import cifar10

    assert cifar10.SPEC.remotes[0].url == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
