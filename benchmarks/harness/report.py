"""Markdown of a run: the machine, the command, one table per workload, issue 6's targets."""

from __future__ import annotations

from typing import Any

from harness import summary


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def machine_section(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    v = {k: val for k, val in m["versions"].items() if val}
    mm = results["matmul"]
    load = results.get("load_average", {})
    lines = [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gib']} GiB RAM"
        + (f", GPU: {m['gpu']}" if m.get("gpu") else ", no GPU"),
        f"- OS: {m['os']}; Python {m['python']}; torch threads {m['torch_threads']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Matmul peak ({mm['start']['n']}x{mm['start']['n']} fp32 torch.mm, best of {mm['start']['repeats']}, "
        f"{mm['start']['device']}): **{mm['start']['best_gflops']:.0f} GFLOP/s** at the start"
        + (f", {mm['end']['best_gflops']:.0f} at the end" if mm.get("end") else "")
        + f" (medians {mm['start']['median_gflops']:.0f}"
        + (f" / {mm['end']['median_gflops']:.0f}" if mm.get("end") else "") + ")",
        (f"- Load average (1/5/15 min) at the start {load.get('start')}, at the end {load.get('end')}: "
         "other processes on the machine slow every row alike only if they run throughout"),
        "",
    ]
    return lines


def workload_section(name: str, w: dict[str, Any]) -> list[str]:
    kind = w["kind"]
    rows = w["rows"]
    ok = [r for r in rows if r.get("steady_s")]
    k = min((len(r.get("val_accuracy_by_epoch") or []) for r in ok), default=0)
    tail = ["others", "nerve speed-up"]
    if kind == "train":
        header = ["peer", "epochs", "s/epoch", "best", "per round", "CPU s/epoch", "first epoch end s", "import s",
                  "total wall s", "peak RSS MB", "GFLOP/s", "% of peak", f"val acc @ep{k}", "final val acc", "final train acc", *tail]
    elif kind == "predict":
        header = ["peer", "calls", "s/call", "best", "per round", "samples/s", "first call end s", "import s", "total wall s",
                  "peak RSS MB", "GFLOP/s", "% of peak", *tail]
    else:
        header = ["peer", "epochs", "s/epoch", "best", "per round", "steps/s", "us/step", "CPU s/epoch", "first epoch end s",
                  "import s", "total wall s", "peak RSS MB", *tail]
    table = []
    for r in rows:
        if not r.get("steady_s"):
            table.append([f"{r['peer']}"] + [""] * (len(header) - 2) + [f"{r['status']}: {r.get('note', '')}"])
            continue
        epochs = f"{r['epochs']}" + (" (capped)" if r.get("capped") else "")
        common = [_f(r["first_epoch_end_s"]), _f(r["import_s"]), _f(r["total_wall_s"], 1), _f(r["peak_rss_mb"], 0)]
        tries = r.get("attempts", 1) - (len(r["runs"]) - 1)
        others = _f(r.get("other_cores")) + (f" ({tries} tries)" if tries > 1 else "")
        speed = [others, _f(r.get("nerve_speedup"))]

        def rounds(digits: int, r: dict = r) -> str:
            return " / ".join(f"{v:.{digits}f}" for v in r.get("round_s", []))

        if kind == "train":
            curve = r.get("val_accuracy_by_epoch") or []
            table.append([r["peer"], epochs, _f(r["steady_s"], 3), _f(r["best_s"], 3), rounds(3), _f(r["steady_cpu_s"], 3),
                          *common, _f(r["gflops"], 1), _f(100 * r["peak_share"], 1),
                          _f(curve[k - 1] if k else None, 4), _f(r.get("final_val_accuracy"), 4), _f(r.get("final_accuracy"), 4), *speed])
        elif kind == "predict":
            table.append([r["peer"], epochs, _f(r["steady_s"], 4), _f(r["best_s"], 4), rounds(4), _f(r["samples_per_s"], 0),
                          *common, _f(r["gflops"], 1), _f(100 * r["peak_share"], 1), *speed])
        else:
            table.append([r["peer"], epochs, _f(r["steady_s"], 3), _f(r["best_s"], 3), rounds(3), _f(r["steps_per_s"], 0),
                          _f(r["us_per_step"], 0), _f(r["steady_cpu_s"], 3), *common, *speed])
    split = f" ({w['train_samples']} train, {w['val_samples']} validation)" if w["val_samples"] else ""
    per = "call" if kind == "predict" else "epoch"
    lines = [f"### {name}: {w['title']}", "",
             (f"{w['samples']} samples{split}, batch {w['batch']}; {w['epoch_gflop']:.2f} GFLOP per {per} "
              f"({w['macs_per_sample']:,} MACs per sample forward)."), ""]
    lines += _table(header, table)
    ratios = w.get("ratios") or {}
    parts = []
    for key, label in (("best_peer", "best peer"), ("best_framework", "best framework peer"),
                       ("best_keras", "best Keras backend"), ("hand_loop", "hand loop")):
        r = ratios.get(key)
        if r:
            parts.append(f"{label} ({r['peer']}): **{r['nerve_speedup']:.2f}x**")
    if parts:
        lines += ["", "nerve's speed-up over the " + "; ".join(parts) + "."]
    return lines + [""]


def targets_section(results: dict[str, Any]) -> list[str]:
    rows = []
    for t in results["targets"]:
        state = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        rows.append([t["target"], _f(t["goal"]), _f(t["value"]), _f(t["against"]), state])
    intro = ("Speed-ups are the other row's s/epoch over nerve's (the hand-loop goal 0.91 is 'at most 10% "
             "slower'); memory is nerve's peak RSS over Keras's.")
    return ["## Issue 6's CPU targets", "", intro, "", *_table(["target", "goal", "measured", "against", "state"], rows), ""]


def render(results: dict[str, Any]) -> str:
    intro = (
        "Generated by `benchmarks/run.py` (run it with `make bench`); the raw figures are in "
        f"`{results['json_path']}`. Rows of one workload ran one after another in fresh processes, peers "
        f"interleaved, {results['rounds']} round(s); before each row the harness waited up to "
        f"{results.get('quiet_wait_s', 0):.0f} s for other processes to leave the CPU idle (column `others` shows "
        f"what they used while the row ran; a row that saw more than {results.get('disturbed_cores', 0.3)} was run "
        f"again, up to {results.get('retries', 0)} times, keeping the least disturbed run)."
    )
    when = (f"Started {results['started']}, finished {results['finished']} "
            f"({results['elapsed_s'] / 60:.1f} min).")
    lines = ["# nerve benchmark results", "", intro, "", f"Command: `{results['command']}`  ", when, ""]
    lines += machine_section(results)
    lines += ["## Peers", ""]
    for p in results["peers"]:
        skipped = f" — *{p['status']}: {p['note']}*" if p["status"] != "ok" else ""
        lines.append(f"- **{p['name']}**: {p['description']}{skipped}")
    lines += [""]
    lines += targets_section(results)
    lines += ["## Workloads", ""]
    for name, w in results["workloads"].items():
        lines += workload_section(name, w)
    notes = results.get("notes") or []
    definitions = summary.__doc__.split("Definitions (also printed under the tables):")[1].strip("\n")
    lines += ["## Notes", "", *[f"- {n}" for n in notes], "", "Column definitions:", "", "```", definitions, "```", ""]
    return "\n".join(lines)


def console(results: dict[str, Any]) -> str:
    """The workload tables and targets, for the terminal."""
    lines: list[str] = []
    for name, w in results["workloads"].items():
        lines += workload_section(name, w)
    lines += targets_section(results)
    return "\n".join(lines)
