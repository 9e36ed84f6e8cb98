"""Side-by-side benchmark (issue 6): nerve against Keras 3, a hand-written PyTorch loop and Lightning.

In one sitting: measures the machine's matmul peak, then runs every (workload, peer) pair in its own
child process (benchmarks/worker.py: a clean peak RSS, and each Keras backend its own KERAS_BACKEND),
the peers of a workload one after another (rotated each round) so that drift hits them alike; then
writes benchmarks/results/<date>-<host>.json, regenerates benchmarks/RESULTS.md and prints the tables.
Peers that are not installed are skipped with a note. `make bench` installs them all into .venv-bench.

Workloads: mlp, cnn, resnet, predict, overhead (see harness/workloads.py).
Peers: nerve, keras-jax, keras-tensorflow, keras-torch, torch (hand loop, fused Adam),
torch-default-adam, lightning; aliases: keras (its three backends), hand (both hand loops).

Run: python benchmarks/run.py [--epochs N] [--workloads mlp,cnn] [--peers nerve,keras-jax] [--quick]
         [--rounds 2] [--out benchmarks/results] [--markdown benchmarks/RESULTS.md] [--no-caps]
         [--retries 2] [--quiet-wait 30] [--timeout 1200]

On a shared machine other processes distort timings (two torch threads with one core taken can run
10x slower): before each row the harness waits for an idle CPU (--quiet-wait), measures what other
processes used while the row ran (column `others`), and runs a disturbed row again (--retries).
Smoke run (< 1 min, writes no files): python benchmarks/run.py --quick --peers nerve,torch
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from harness import machine, report, summary  # noqa: E402
from harness.workloads import ALIASES, PEERS, WORKLOADS, Peer, epochs_for  # noqa: E402

DISTURBED = 0.3  # cores used by other processes above which a row counts as disturbed
NOISE = ("oneDNN", "absl::InitializeLog", "TF_ENABLE_ONEDNN_OPTS", "cuda", "TPU", "Tip:", "litlogger", "GPU available",
         "stopped: `max_epochs")


def parse_list(text: str, known: dict, aliases: dict | None = None) -> list[str]:
    names: list[str] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        expanded = (aliases or {}).get(item, [item])
        for name in expanded:
            if name not in known:
                raise SystemExit(f"Unknown name {name!r}. Valid: {', '.join(known)}"
                                 + (f"; aliases: {', '.join(aliases)}" if aliases else ""))
            if name not in names:
                names.append(name)
    return names


def availability(peer: Peer) -> str | None:
    """None if the peer can run here, else why not."""
    missing = [m for m in peer.needs if m != "nerve" and importlib.util.find_spec(m) is None]
    if peer.name == "nerve":
        missing += [] if (ROOT / "nerve" / "__init__.py").is_file() else ["nerve (this repository)"]
        missing += [] if importlib.util.find_spec("torch") else ["torch"]
    if missing:
        return f"not installed ({', '.join(missing)}); `make bench` installs the peers into .venv-bench"
    return None


def wait_child(proc: subprocess.Popen, timeout: float) -> tuple[int, Any, bool]:
    """Wait for the child with wait4 (its own rusage: peak RSS); kill it after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage, False
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage, True
        time.sleep(0.05)


def busy_cpu_s() -> float | None:
    """CPU seconds all processes have spent busy since boot (/proc/stat), to tell how much others ran."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float, threshold: float = 0.25, window: float = 0.5) -> tuple[float, float | None]:
    """Wait (at most `max_wait` s) until other processes keep fewer than `threshold` cores busy.

    Returns the seconds waited and the last load seen (cores). On a shared machine this keeps a row
    from starting in the middle of someone else's burst; a steady load still shows in `others`.
    """
    start = time.perf_counter()
    load = None
    while True:
        before = busy_cpu_s()
        own = os.times()
        time.sleep(window)
        after = busy_cpu_s()
        if before is None or after is None:
            return 0.0, None
        mine = sum(os.times()[:4]) - sum(own[:4])
        load = max(0.0, (after - before - mine) / window)
        waited = time.perf_counter() - start
        if load < threshold or waited >= max_wait:
            return waited, load


def run_child(workload: str, peer: Peer, epochs: int, quick: bool, timeout: float, tmp: Path,
              quiet_wait: float = 0.0) -> dict[str, Any]:
    waited, load = wait_for_quiet(quiet_wait) if quiet_wait > 0 else (0.0, None)
    result_path = tmp / f"{workload}-{peer.name}.json"
    log_path = tmp / f"{workload}-{peer.name}.log"
    result_path.unlink(missing_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("KERAS_BACKEND", None)
    if peer.backend:
        env["KERAS_BACKEND"] = peer.backend
    cmd = [sys.executable, str(HERE / "worker.py"), "--workload", workload, "--peer", peer.name,
           "--epochs", str(epochs), "--result", str(result_path)] + (["--quick"] if quick else [])
    with open(log_path, "w") as log:
        busy_before = busy_cpu_s()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        code, usage, timed_out = wait_child(proc, timeout)
        wall = time.perf_counter() - start
        busy_after = busy_cpu_s()
    if code != 0 or not result_path.is_file():
        lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines()
                 if ln.strip() and not any(n in ln for n in NOISE)]
        why = f"timed out after {timeout:.0f} s" if timed_out else f"exit code {code}"
        return {"ok": False, "note": f"failed ({why}): {lines[-1] if lines else 'no output'}"[:300]}
    out = json.loads(result_path.read_text())
    out.update(ok=True, quiet_wait_s=waited, load_before=load, wall_s=wall, peak_rss_kib=usage.ru_maxrss, user_s=usage.ru_utime, sys_s=usage.ru_stime)
    if busy_before is not None and busy_after is not None:  # cores kept busy by other processes meanwhile
        out["other_cores"] = max(0.0, (busy_after - busy_before - usage.ru_utime - usage.ru_stime) / wall)
    return out


def render(path: Path, markdown: Path) -> None:
    results = json.loads(path.read_text())
    summary.finish(results, WORKLOADS)
    results["json_path"] = os.path.relpath(path.resolve(), ROOT)
    markdown.write_text(report.render(results))
    print(f"wrote {markdown}")
    print(report.console(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every workload (predict: calls)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--quick", action="store_true", help="a smoke run: small data, 2-3 epochs, no files")
    parser.add_argument("--rounds", type=int, default=None, help="run every pair this many times, the order "
                        "rotated each round (default 2; 1 with --quick)")
    parser.add_argument("--out", default=None, help="folder of the JSON results (default benchmarks/results; "
                        "with --quick, none unless given)")
    parser.add_argument("--markdown", default=None, help="Markdown file to regenerate (default "
                        "benchmarks/RESULTS.md; with --quick, none unless given)")
    parser.add_argument("--no-caps", action="store_true", help="run slow peers for all epochs too")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds one child may run")
    parser.add_argument("--retries", type=int, default=None, help="run a row again (at most this many times, "
                        f"default 2; 0 with --quick) when other processes used more than {DISTURBED} cores while it "
                        "ran; the least disturbed run is kept")
    parser.add_argument("--quiet-wait", type=float, default=None, help="before each child, wait up to this many "
                        "seconds for other processes to leave the CPU idle (default 30; 0 with --quick)")
    parser.add_argument("--render", metavar="JSON", default=None, help="measure nothing: rebuild the Markdown "
                        "(--markdown, default benchmarks/RESULTS.md) and the tables from a saved result")
    args = parser.parse_args()
    if args.render:
        render(Path(args.render), Path(args.markdown) if args.markdown else HERE / "RESULTS.md")
        return
    workloads = parse_list(args.workloads, WORKLOADS)
    peers = parse_list(args.peers, PEERS, ALIASES)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.retries is None:
        args.retries = 0 if args.quick else 2
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0.0 if args.quick else 30.0)
    out_dir = Path(args.out) if args.out else (None if args.quick else HERE / "results")
    markdown = Path(args.markdown) if args.markdown else (None if args.quick else HERE / "RESULTS.md")

    started = dt.datetime.now().astimezone()
    t_start = time.perf_counter()
    invoked = "make bench: " if os.environ.get("MAKELEVEL") else ""
    command = invoked + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT),
                                                           os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    desc = machine.describe()
    if quiet_wait > 0:  # the peak wants an idle machine as much as the rows do
        wait_for_quiet(quiet_wait)
    results: dict[str, Any] = {
        "command": command, "argv": sys.argv[1:], "quick": args.quick, "rounds": args.rounds,
        "quiet_wait_s": quiet_wait, "retries": args.retries, "disturbed_cores": DISTURBED,
        "started": started.isoformat(timespec="seconds"), "machine": desc,
        "load_average": {"start": machine.load_average()}, "matmul": {"start": machine.matmul_gflops()},
        "peers": [], "workloads": {},
    }
    peak = results["matmul"]["start"]["best_gflops"]
    print(f"{desc['cpu']}, {desc['cores']} cores, torch threads {desc['torch_threads']}; matmul peak {peak:.0f} "
          f"GFLOP/s; load average {results['load_average']['start']}", flush=True)

    runnable: list[Peer] = []
    for name in peers:
        peer = PEERS[name]
        why = availability(peer)
        results["peers"].append({"name": name, "description": peer.description, "status": "skipped" if why else "ok",
                                 "note": why or ""})
        if why:
            print(f"skipping {name}: {why}", flush=True)
        else:
            runnable.append(peer)

    from harness import torch_models  # torch in the parent only (children get their own)

    with tempfile.TemporaryDirectory(prefix="nerve-bench-") as tmp:
        for wname in workloads:
            workload = WORKLOADS[wname]
            macs = torch_models.forward_macs(wname, workload.features)
            samples = workload.quick_n if args.quick else workload.n
            train, val = summary.split_sizes(workload, samples)
            entry: dict[str, Any] = {
                "title": workload.title, "kind": workload.kind, "batch": workload.batch, "samples": samples,
                "train_samples": train, "val_samples": val, "macs_per_sample": macs,
                "epoch_gflop": summary.epoch_flops(workload, macs, samples) / 1e9, "rows": [],
            }
            rows = {p.name: {"peer": p.name, "status": "ok", "runs": []} for p in runnable}
            for p in peers:
                if p not in rows:
                    entry["rows"].append({"peer": p, "status": "skipped", "note": "not installed", "runs": []})
            for rnd in range(args.rounds):
                order = runnable[rnd % len(runnable):] + runnable[:rnd % len(runnable)] if runnable else []
                for peer in order:
                    epochs, capped = epochs_for(workload, peer.name, args.epochs, args.quick, not args.no_caps)
                    row = rows[peer.name]
                    row.update(epochs=epochs, capped=capped)
                    out = run_child(wname, peer, epochs, args.quick, args.timeout, Path(tmp), quiet_wait)
                    attempts = 1
                    while out["ok"] and out.get("other_cores", 0) > DISTURBED and attempts <= args.retries:
                        print(f"[{wname}] {peer.name}: other processes used {out['other_cores']:.2f} cores "
                              "meanwhile; running it again", flush=True)
                        again = run_child(wname, peer, epochs, args.quick, args.timeout, Path(tmp),
                                          max(quiet_wait, 60.0))
                        attempts += 1
                        if again["ok"] and again.get("other_cores", 0) < out.get("other_cores", 0):
                            out = again
                    row["attempts"] = row.get("attempts", 0) + attempts
                    if not out["ok"]:
                        row.update(status="failed", note=out["note"])
                        print(f"[{wname}] {peer.name}: {out['note']}", flush=True)
                        continue
                    row["runs"].append(out)
                    steady = sorted(out["epoch_s"][1:] or out["epoch_s"])[len(out["epoch_s"][1:] or out["epoch_s"]) // 2]
                    print(f"[{wname}] {peer.name:18s} {steady:8.3f} s/epoch  epochs {[round(e, 3) for e in out['epoch_s']]}"
                          f"  wall {out['wall_s']:.1f} s  RSS {out['peak_rss_kib'] / 1024:.0f} MB"
                          f"  others {out.get('other_cores', 0):.2f} cores", flush=True)
            for row in rows.values():
                if row["runs"]:
                    row["status"] = "ok"
                entry["rows"].append(row)
            order_index = {p: i for i, p in enumerate(peers)}
            entry["rows"].sort(key=lambda r: order_index[r["peer"]])
            results["workloads"][wname] = entry

    results["matmul"]["end"] = machine.matmul_gflops()
    results["load_average"]["end"] = machine.load_average()
    finished = dt.datetime.now().astimezone()
    results.update(finished=finished.isoformat(timespec="seconds"), elapsed_s=time.perf_counter() - t_start)
    summary.finish(results, WORKLOADS)
    name = f"{started.strftime('%Y-%m-%d-%H%M')}-{desc['host']}{'-quick' if args.quick else ''}.json"
    results["json_name"] = name
    results["json_path"] = os.path.relpath(out_dir / name, ROOT) if out_dir else "(not written: --quick)"
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {out_dir / name}")
    if markdown:
        markdown.write_text(report.render(results))
        print(f"wrote {markdown}")
    print()
    print(report.console(results))


if __name__ == "__main__":
    main()
