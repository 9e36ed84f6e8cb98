"""One benchmark child: one workload with one peer, in a fresh process; run by benchmarks/run.py.

Loads the data (numpy), imports the peer's framework (timed), runs the workload and writes a
JSON result. The parent sets KERAS_BACKEND for the Keras peers and reads the process's peak RSS
from `wait4`; the child also reports its own VmHWM.

Run by hand: python benchmarks/worker.py --workload mlp --peer nerve --epochs 2 --result /tmp/r.json [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time

START = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

from harness import data as bench_data  # noqa: E402
from harness.workloads import PEERS, WORKLOADS, Workload  # noqa: E402


def load(workload: Workload, quick: bool) -> tuple:
    n = workload.quick_n if quick else workload.n
    if workload.data == "random":
        return bench_data.random_classification(n, workload.features)
    split = "test" if workload.data == "fashion_mnist_test" else "train"
    return bench_data.fashion_mnist(split, n, channels=workload.channels)


def vm_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--peer", required=True, choices=sorted(PEERS))
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    workload, peer = WORKLOADS[args.workload], PEERS[args.peer]

    t = time.perf_counter()
    data = load(workload, args.quick)
    data_s = time.perf_counter() - t

    t = time.perf_counter()
    info: dict = {}
    if peer.runner == "keras":
        if peer.name == "nerve":
            sys.path.insert(0, ROOT)  # this repository's nerve, as the bench venv's editable install has it
            keras = importlib.import_module("nerve")
        else:
            keras = importlib.import_module("keras")
            if keras.backend.backend() != peer.backend:
                raise RuntimeError(f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND')} gave {keras.backend.backend()}")
        import_s = time.perf_counter() - t
        from harness import peer_keras

        result = peer_keras.run(keras, workload, data, args.epochs)
        info = {"version": keras.__version__, "module": os.path.dirname(keras.__file__)}
        if "torch" in sys.modules:
            info["torch_threads"] = sys.modules["torch"].get_num_threads()
    elif peer.runner == "torch":
        from harness import peer_torch

        import_s = time.perf_counter() - t
        result = peer_torch.run(workload, data, args.epochs, fast=peer.name == "torch")
        info = peer_torch.versions()
    else:
        from harness import peer_lightning

        import_s = time.perf_counter() - t
        result = peer_lightning.run(workload, data, args.epochs)
        info = peer_lightning.versions()

    result.update(info=info, data_s=data_s, import_s=import_s, samples=len(data[0]), epochs=args.epochs,
                  child_wall_s=time.perf_counter() - START, vm_hwm_kib=vm_hwm_kib(),
                  ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with open(args.result, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
