"""SIGKILL a training run at random moments, restart it each time, and compare with an unbroken run.

The job (this file with --job) fits a small network on the 8x8 digits with BackupAndRestore and
a ModelCheckpoint (best .keras) and logs each batch it trains and the start/end of each backup.
The campaign runs the job once uninterrupted (the reference), then, for every seed, starts it,
kills it with SIGKILL once training has begun (at a random moment, or aimed at the start of a
backup write), starts it again, ... until it finishes on its own;
the final weights must equal the reference's. It counts the kills, the kills that landed while a
backup was being written, the restarts that resumed from a backup, and the batches trained again
because a kill lost them.

Run: python tests/robustness/kill_campaign.py --seeds 20 --kills 5      (about 5 minutes)
tests/robustness/test_kill_resume.py runs a short campaign.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
EPOCHS = 6


def job(folder: Path) -> None:
    sys.path.insert(0, str(HERE.parents[2]))
    import numpy as np

    import nerve as keras

    log = open(folder / "events.log", "a", buffering=1)

    class MarkedBackup(keras.callbacks.BackupAndRestore):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            log.write(f"start {getattr(self.model, '_resume_epoch', None)}\n")

        def _backup(self, epoch):
            log.write(f"save-begin {epoch}\n")
            super()._backup(epoch)
            log.write(f"save-end {epoch}\n")

    class BatchLog(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            log.write("batch\n")

    keras.utils.set_random_seed(0)
    (x, y), _ = keras.datasets.digits.load_data()
    x = x.reshape(len(x), -1).astype("float32") / 255.0
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=EPOCHS, validation_split=0.2, verbose=0, callbacks=[
        BatchLog(),
        keras.callbacks.ModelCheckpoint(str(folder / "best.keras"), monitor="val_loss", save_best_only=True),
        MarkedBackup(folder / "backup"),
    ])
    np.savez(folder / "final.npz", *model.get_weights())
    log.write("done\n")


def _start(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "NERVE_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "NERVE_MAX_EPOCHS": ""}
    return subprocess.Popen([sys.executable, str(HERE), "--job", str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _events(folder: Path) -> list[str]:
    path = folder / "events.log"
    return path.read_text().splitlines() if path.exists() else []


def _weights(folder: Path) -> list:
    import numpy as np

    with np.load(folder / "final.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def _wait_for(proc: subprocess.Popen, folder: Path, seen: int, predicate, timeout: float = 120.0) -> bool:
    """Poll the job's event log until a new line satisfies `predicate`; False if the job ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(predicate(e) for e in _events(folder)[seen:]):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    raise TimeoutError(f"the job in {folder} made no progress for {timeout} s")


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def run_to_completion(folder: Path, rng: random.Random, kills: int, window: float, aimed: float = 0.5) -> dict:
    """Start the job and SIGKILL it, again and again, until it was killed `kills` times or finished
    first; then let it finish. Each kill waits until training has begun, then either comes at a
    random moment in [0, window) s or right as a backup (not the last one) starts to be written
    (a fraction `aimed` of the kills)."""
    stats = {"kills": 0, "kills_mid_save": 0, "kills_aimed_at_saves": 0, "attempts": 0}
    while True:
        stats["attempts"] += 1
        seen = len(_events(folder))
        proc = _start(folder)
        if stats["kills"] < kills and _wait_for(proc, folder, seen, lambda e: e.startswith("start")):
            aim_at_save = rng.random() < aimed
            if aim_at_save:
                epoch = rng.randrange(EPOCHS - 1)  # a backup with an epoch still to train: the kill lands
                hit = _wait_for(proc, folder, seen,
                                lambda e: e.startswith("save-begin") and int(e.split()[1]) >= epoch)
                if hit:
                    time.sleep(rng.uniform(0.0, 0.002))
            else:
                try:
                    proc.wait(timeout=rng.uniform(0.0, window))
                    hit = False
                except subprocess.TimeoutExpired:
                    hit = True
            if hit and proc.poll() is None:
                _kill(proc)
                stats["kills"] += 1
                stats["kills_aimed_at_saves"] += aim_at_save
                last = next((e for e in reversed(_events(folder)) if e.startswith(("save-", "start"))), "")
                stats["kills_mid_save"] += last.startswith("save-begin")
                continue
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"the job failed on its own (exit {proc.returncode}):\n{err[-3000:]}")
        if "done" in _events(folder):
            return stats


def campaign(seeds: int, kills: int, workdir: Path, aimed: float = 0.5) -> dict:
    import numpy as np

    reference = workdir / "reference"
    reference.mkdir()
    proc = _start(reference)
    _wait_for(proc, reference, 0, lambda e: e.startswith("start"))
    start = time.monotonic()
    proc.communicate(timeout=300)
    window = time.monotonic() - start  # the training part of the job's life
    ref_weights = _weights(reference)
    ref_batches = _events(reference).count("batch")
    totals = {"seeds": seeds, "kills": 0, "kills_mid_save": 0, "kills_aimed_at_saves": 0, "attempts": 0,
              "resumed_from_backup": 0, "batches_redone": 0, "identical_final_weights": 0,
              "max_abs_weight_difference": 0.0, "window_s": round(window, 2)}
    for seed in range(seeds):
        folder = workdir / f"seed{seed}"
        folder.mkdir()
        stats = run_to_completion(folder, random.Random(seed), kills, window, aimed)
        for key in ("kills", "kills_mid_save", "kills_aimed_at_saves", "attempts"):
            totals[key] += stats[key]
        events = _events(folder)
        totals["resumed_from_backup"] += sum(1 for e in events if e.startswith("start") and e != "start None")
        totals["batches_redone"] += events.count("batch") - ref_batches
        diff = max(float(np.abs(a - b).max()) for a, b in zip(_weights(folder), ref_weights))
        totals["max_abs_weight_difference"] = max(totals["max_abs_weight_difference"], diff)
        totals["identical_final_weights"] += diff == 0.0
    totals["batches_per_run"] = ref_batches
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--kills", type=int, default=5, help="kills per seed before the run may finish")
    args = parser.parse_args()
    if args.job:
        job(args.job)
        return
    with tempfile.TemporaryDirectory() as workdir:
        start = time.monotonic()
        totals = campaign(args.seeds, args.kills, Path(workdir))
        totals["wall_s"] = round(time.monotonic() - start, 1)
    print(json.dumps(totals, indent=1))


if __name__ == "__main__":
    main()
