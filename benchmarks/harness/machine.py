"""The machine a run was measured on, and its matrix-multiply peak."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from importlib import metadata
from typing import Any

PACKAGES = ("torch", "keras", "jax", "jaxlib", "tensorflow", "tensorflow-cpu", "lightning", "numpy", "nerve")


def _first(path: str, key: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata (nothing is imported)."""
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def describe() -> dict[str, Any]:
    import torch

    mem = _first("/proc/meminfo", "MemTotal")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "host": socket.gethostname(),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "os": f"{_first('/etc/os-release', 'PRETTY_NAME=') or platform.system()}, kernel {platform.release()}",
        "python": sys.version.split()[0],
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "versions": versions(),
    }


def matmul_gflops(n: int = 2048, repeats: int = 20) -> dict[str, float]:
    """Best and median GFLOP/s of an n x n fp32 torch.mm (2 n^3 FLOPs), on CUDA if there is one."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device)
    b = torch.randn(n, n, generator=gen).to(device)
    out = torch.empty(n, n, device=device)
    for _ in range(2):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        torch.mm(a, b, out=out)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    flops = 2 * n**3
    times.sort()
    return {"n": n, "repeats": repeats, "device": device, "best_gflops": flops / times[0] / 1e9,
            "median_gflops": flops / times[len(times) // 2] / 1e9}


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
