"""Derived figures of a run: per-row steady-state speed, FLOP rates and ratios, and issue 6's targets.

Definitions (also printed under the tables):
    s/epoch        median of the epochs after the first (all rounds pooled); the first if only one ran
    best           the fastest of those epochs (the least disturbed by other processes)
    per round      each round's own median s/epoch: their spread is the run-to-run noise
    first epoch    seconds from the start of the timed section (model build, compile, data to the
                   framework) to the end of the first epoch (predict: of the first predict() call)
    total wall     the child process from spawn to exit (interpreter, imports, data, everything)
    peak RSS       the child's ru_maxrss from wait4 (its whole life, data included)
    GFLOP/s        FLOPs of an epoch counted from the layer shapes (train: 3 x 2 x MACs per train
                   sample + 2 x MACs per validation sample) over s/epoch
    others         cores kept busy by other processes while the row ran (/proc/stat minus the child's
                   own CPU time, over its wall time): above ~0.2 the row's times are inflated
    nerve speed-up the row's median s/epoch over nerve's (> 1: nerve is faster than that row)
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from harness.workloads import Workload

FRAMEWORK_PEERS = ("keras-jax", "keras-tensorflow", "keras-torch", "lightning")
KERAS_PEERS = ("keras-jax", "keras-tensorflow", "keras-torch")
HAND_LOOP = "torch"


def split_sizes(workload: Workload, samples: int) -> tuple[int, int]:
    if workload.kind != "train" or not workload.validation_split:
        return samples, 0
    train = math.ceil(samples * (1.0 - workload.validation_split))
    return train, samples - train


def epoch_flops(workload: Workload, macs: int, samples: int) -> float:
    train, val = split_sizes(workload, samples)
    if workload.kind == "predict":
        return 2.0 * macs * samples
    return 6.0 * macs * train + 2.0 * macs * val


def _steady(runs: list[dict], key: str) -> float | None:
    values = [v for run in runs for v in (run[key][1:] if len(run[key]) > 1 else run[key])]
    return statistics.median(values) if values else None


def derive(workload: Workload, row: dict[str, Any], macs: int, peak_gflops: float) -> None:
    """Fill a row's derived figures from its raw runs (in place)."""
    runs = row["runs"]
    if not runs:
        return
    steady = _steady(runs, "epoch_s")
    samples = runs[0]["samples"]
    flops = epoch_flops(workload, macs, samples)
    row.update(
        samples=samples,
        steady_s=steady,
        best_s=min(v for run in runs for v in (run["epoch_s"][1:] or run["epoch_s"])),
        round_s=[statistics.median(run["epoch_s"][1:] or run["epoch_s"]) for run in runs],
        steady_cpu_s=_steady(runs, "epoch_cpu_s"),
        first_epoch_end_s=statistics.median(r["first_epoch_end_s"] for r in runs),
        import_s=statistics.median(r["import_s"] for r in runs),
        total_wall_s=statistics.median(r["wall_s"] for r in runs),
        peak_rss_mb=max(r["peak_rss_kib"] for r in runs) / 1024,
        other_cores=statistics.median(r.get("other_cores", 0.0) for r in runs),
        epoch_gflop=flops / 1e9,
        gflops=flops / steady / 1e9,
        peak_share=flops / steady / 1e9 / peak_gflops if peak_gflops else None,
    )
    if workload.kind == "predict":
        row["samples_per_s"] = samples / steady
    if workload.kind == "overhead":
        steps = math.ceil(samples / workload.batch)
        row["steps_per_s"] = steps / steady
        row["us_per_step"] = steady / steps * 1e6
    if workload.kind == "train":
        val = [r.get("val_accuracy") or [] for r in runs]
        row["final_val_accuracy"] = statistics.median(v[-1] for v in val) if all(val) else None
        train = [r.get("accuracy") or [] for r in runs]
        row["final_accuracy"] = statistics.median(v[-1] for v in train) if all(train) else None
        row["val_accuracy_by_epoch"] = [statistics.median(col) for col in zip(*val)] if all(val) else []


def finish(results: dict[str, Any], workloads: dict[str, Workload]) -> None:
    """(Re)derive every row, the ratios and the targets from the raw runs (in place)."""
    peak = results["matmul"]["start"]["best_gflops"]
    for name, entry in results["workloads"].items():
        for row in entry["rows"]:
            if row.get("runs"):
                derive(workloads[name], row, entry["macs_per_sample"], peak)
        entry["ratios"] = ratios(entry["rows"])
    results["targets"] = targets(results)
    results["notes"] = notes(results)


def notes(results: dict[str, Any]) -> list[str]:
    """What a reader of the tables should know about this run."""
    out = []
    for name, entry in results["workloads"].items():
        capped = ", ".join(f"{r['peer']} {r['epochs']}" for r in entry["rows"] if r.get("capped"))
        if capped:
            out.append(f"{name}: epochs capped for slow peers ({capped}); their s/epoch is still the median "
                       "after the first epoch")
    ran = {r["peer"] for entry in results["workloads"].values() for r in entry["rows"] if r.get("runs")}
    versions = results["machine"]["versions"]
    if ran & set(KERAS_PEERS) and (versions.get("tensorflow") or versions.get("tensorflow-cpu")):
        out.append("Keras 3 imports TensorFlow whenever it is installed (for its data pipeline), so every Keras "
                   "row's import time and peak RSS include TensorFlow's, whatever the backend")
    if ran & {"torch", "torch-default-adam", "lightning"}:
        out.append("The PyTorch rows' first epoch includes about 1 s that constructing the first torch.optim "
                   "optimizer spends importing torch._dynamo (torch 2.13)")
    if results.get("quick"):
        out.append("--quick: small data and few epochs, a smoke run; the figures are not comparable with a full run")
    return out


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """nerve's speed-up over every row, the best framework peer, the best Keras backend and the hand loop."""
    by_peer = {r["peer"]: r for r in rows if r.get("steady_s")}
    nerve = by_peer.get("nerve")
    out: dict[str, Any] = {}
    if not nerve:
        return out
    for r in by_peer.values():
        r["nerve_speedup"] = r["steady_s"] / nerve["steady_s"]

    def best(names: tuple[str, ...] | None) -> dict[str, Any] | None:
        found = [r for p, r in by_peer.items() if p != "nerve" and (names is None or p in names)]
        if not found:
            return None
        winner = min(found, key=lambda r: r["steady_s"])
        return {"peer": winner["peer"], "steady_s": winner["steady_s"], "nerve_speedup": winner["nerve_speedup"]}

    out["best_peer"] = best(None)
    out["best_framework"] = best(FRAMEWORK_PEERS)
    out["best_keras"] = best(KERAS_PEERS)
    out["hand_loop"] = best((HAND_LOOP,))
    keras_rss = [by_peer[p]["peak_rss_mb"] for p in KERAS_PEERS if p in by_peer]
    if keras_rss:
        out["rss_vs_lightest_keras"] = nerve["peak_rss_mb"] / min(keras_rss)
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 6's CPU targets, each with the measured ratio and whether it is met (None: not measured)."""
    w = results["workloads"]

    def get(name: str, key: str) -> dict[str, Any] | None:
        return (w.get(name) or {}).get("ratios", {}).get(key)

    def speed(name: str, key: str, goal: float, text: str) -> dict[str, Any]:
        r = get(name, key)
        value = r["nerve_speedup"] if r else None
        return {"target": text, "goal": goal, "value": value, "against": r["peer"] if r else None,
                "met": None if value is None else value >= goal}

    out = [
        speed("mlp", "best_framework", 1.25, "MLP: nerve >= 1.25x faster per epoch than the best peer framework"),
        speed("mlp", "best_peer", 1.25, "MLP: the same against every peer, the hand loop included"),
        speed("mlp", "hand_loop", 1 / 1.1, "MLP: nerve at most 10% slower than the fused-Adam hand loop"),
        speed("cnn", "best_keras", 1.25, "CNN: nerve >= 1.25x faster per epoch than the best Keras backend"),
        speed("cnn", "hand_loop", 1 / 1.1, "CNN: nerve within 10% of the hand loop"),
    ]
    rss = (w.get("mlp") or {}).get("ratios", {}).get("rss_vs_lightest_keras")
    out.append({"target": "MLP: nerve's peak RSS at most 0.6x Keras's (its lightest backend)", "goal": 0.6,
                "value": rss, "against": "keras", "met": None if rss is None else rss <= 0.6})
    return out
