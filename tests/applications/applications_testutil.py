"""Helpers of the applications tests: Keras reference models, legacy weights files, a local mirror."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import threading
from typing import Any, Iterator

import numpy as np


def md5_of(path: Any) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def randomize(keras_model: Any, seed: int = 0) -> None:
    """Randomize a Keras model's biases and batch-norm weights (its kernels are already random).

    Moving variances and scales stay in [0.5, 1.5], so deep nets keep moderate activations.
    """
    rng = np.random.default_rng(seed)
    for layer in keras_model.layers:
        for var in layer.weights:
            short = var.path.split("/")[-1]
            if short in ("gamma", "moving_variance"):
                var.assign(rng.uniform(0.5, 1.5, var.shape).astype("float32"))
            elif short in ("beta", "moving_mean", "bias"):
                var.assign(rng.normal(0.0, 0.1, var.shape).astype("float32"))


def keras_predict(keras_model: Any, x: np.ndarray) -> np.ndarray:
    """Keras's inference output as numpy (an eager call: cheaper than predict for one batch)."""
    import keras

    return keras.ops.convert_to_numpy(keras_model(x, training=False))


def write_legacy_weights(keras_model: Any, path: Any) -> None:
    """Write a Keras model's weights as a legacy HDF5 weights file, as Keras's published files are."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, keras_model)


@contextlib.contextmanager
def http_mirror(folder: Any) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
