"""Helpers for the nerve.datasets tests: synthetic files and a local HTTP mirror."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import socket
import struct
import threading
from pathlib import Path

import numpy as np

# The real MNIST test set lives next to the project: <repo>/../shared/datasets/mnist-test
REPO_ROOT = Path(__file__).resolve().parents[2]
MNIST_TEST_DIR = REPO_ROOT.parent / "shared" / "datasets" / "mnist-test"
MNIST_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# --------------------------------------------------------------------------- #
# Synthetic files
# --------------------------------------------------------------------------- #
def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as an IDX file (big-endian)."""
    codes = {("u", 1): 0x08, ("i", 1): 0x09, ("i", 2): 0x0B, ("i", 4): 0x0C, ("f", 4): 0x0D, ("f", 8): 0x0E}
    code = codes[(array.dtype.kind, array.dtype.itemsize)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_mnist_idx_folder(folder: Path, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict:
    """Four small MNIST-named IDX files; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    names = {
        "x_train": "train-images-idx3-ubyte.gz",
        "y_train": "train-labels-idx1-ubyte.gz",
        "x_test": "t10k-images-idx3-ubyte.gz",
        "y_test": "t10k-labels-idx1-ubyte.gz",
    }
    for key, name in names.items():
        write_idx(folder / name, arrays[key])
    return arrays


def write_mnist_npz(path: Path, n_train: int = 10, n_test: int = 4, seed: int = 1) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return arrays


def write_boston_npz(path: Path, n: int = 37, seed: int = 2) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.normal(size=(n, 13)), "y": rng.uniform(5, 50, n)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return arrays


# --------------------------------------------------------------------------- #
# Local HTTP mirror on 127.0.0.1
# --------------------------------------------------------------------------- #
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]  # set per server

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass

    def do_GET(self):
        self.requests.append(self.path)
        if self.path.endswith("/truncated.bin") or "/truncated/" in self.path:
            # Announce more bytes than are sent, then hang up.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class LocalMirror:
    """A static file server on 127.0.0.1 serving ``root``; records request paths."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        handler = type("Handler", (_QuietHandler,), {"requests": self.requests})
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
        )
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
