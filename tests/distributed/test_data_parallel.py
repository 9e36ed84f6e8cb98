"""Data-parallel fit under torchrun: 2 gloo processes on this machine against 1 process.

Every test launches `ddp_job.py` (a user's script) in fresh processes; the 2-process job must
train exactly like 1 process with the doubled batch (same samples per step, same order), write
its checkpoints and logs once, stop every rank together, and fail fast and loudly when a rank
dies or hangs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist

JOB = Path(__file__).with_name("ddp_job.py")

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="this torch build has no torch.distributed with gloo")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                                               "MASTER_ADDR", "MASTER_PORT")}
    env.update({"NERVE_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                "NERVE_MAX_EPOCHS": ""}, **extra)
    return env


def run_job(out: Path, *args: str, procs: int = 1, timeout: float = 120, env: dict | None = None,
            check: bool = True, restarts: int = 0) -> subprocess.CompletedProcess:
    out.mkdir(parents=True, exist_ok=True)
    if procs == 1:
        cmd = [sys.executable, str(JOB), str(out), *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
               f"--max-restarts={restarts}", str(JOB), str(out), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or _env())
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-5000:]}")
    return result


def weights(out: Path, rank: int = 0) -> list[np.ndarray]:
    with np.load(out / f"rank{rank}.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def report(out: Path, rank: int = 0) -> dict:
    return json.loads((out / f"history{rank}.json").read_text())


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray], atol: float = 1e-6) -> None:
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        np.testing.assert_allclose(u, v, rtol=0, atol=atol, err_msg=f"weight {i}")


def assert_same_history(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a["epochs"] == b["epochs"]
    assert sorted(a["history"]) == sorted(b["history"])
    for key in a["history"]:
        np.testing.assert_allclose(a["history"][key], b["history"][key], rtol=0, atol=atol, err_msg=key)


def test_two_processes_train_like_one_with_the_doubled_batch(tmp_path: Path) -> None:
    # 999 samples: 799 train, so the last global batch (43 of 54) splits unevenly, 22 + 21.
    common = ["--samples", "999", "--epochs", "3", "--shuffle", "1"]
    one, two = tmp_path / "one", tmp_path / "two"
    run_job(one, *common, "--batch", "54")
    result = run_job(two, *common, "--batch", "27", procs=2)
    assert_same_weights(weights(one), weights(two, 0))
    assert_same_weights(weights(two, 0), weights(two, 1), atol=0)  # the ranks hold identical weights
    assert_same_history(report(one), report(two, 0))
    assert_same_history(report(two, 0), report(two, 1), atol=0)
    for rank in (0, 1):  # evaluate and predict: every sample once, the result on every rank
        got, want = report(two, rank), report(one)
        assert got["world_size"] == 2
        assert got["evaluate"] == pytest.approx(want["evaluate"], abs=1e-6)
        assert got["predict_shape"] == want["predict_shape"] == [101, 10]
        assert got["predict_sum"] == pytest.approx(want["predict_sum"], abs=1e-4)
    assert result.stdout.count("global batch 54") == 1


def test_a_dataloader_is_dealt_batch_by_batch_to_the_processes(tmp_path: Path) -> None:
    # 960 samples: 768 train = 24 loader batches of 32, dealt 0, 2, 4... and 1, 3, 5...: each
    # step sees the samples of one 64-sample batch of the one-process run.
    common = ["--samples", "960", "--epochs", "2", "--loader"]
    one, two = tmp_path / "one", tmp_path / "two"
    run_job(one, *common, "--batch", "64")
    run_job(two, *common, "--batch", "32", procs=2)
    assert_same_weights(weights(one), weights(two))
    assert_same_history(report(one), report(two, 1))


def test_sync_batchnorm_uses_the_global_batch(tmp_path: Path) -> None:
    # SGD: with BatchNormalization after a Dense layer the Dense bias gets ~0 gradients,
    # which Adam would blow up into noise-driven steps.
    common = ["--bn", "--optimizer", "sgd", "--epochs", "2"]
    one, two = tmp_path / "one", tmp_path / "two"
    run_job(one, *common, "--batch", "64")
    run_job(two, *common, "--batch", "32", "--sync-bn", procs=2)
    assert_same_weights(weights(one), weights(two), atol=1e-6)


def test_checkpoints_and_logs_are_written_once_and_early_stopping_stops_every_rank(tmp_path: Path) -> None:
    out = tmp_path / "job"
    result = run_job(out, "--epochs", "8", "--patience", "2", "--batch", "32", procs=2)
    first, second = report(out, 0), report(out, 1)
    assert first["epochs"] == second["epochs"] == [0, 1, 2]  # min_delta=10: no epoch improves enough
    assert first["saves"] >= 1 and second["saves"] == 0
    assert (out / "best.keras").exists()
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,") and [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]
    assert result.stdout.count("Epoch 1/8") == 1  # one progress display, from rank 0
    assert result.stdout.count("early stopping") == 1


def test_a_killed_rank_ends_the_job_and_backup_resumes_with_another_world_size(tmp_path: Path) -> None:
    reference, job, backup = tmp_path / "ref", tmp_path / "job", tmp_path / "backup"
    run_job(reference, "--batch", "64", "--epochs", "3")
    start = time.monotonic()
    result = run_job(job, "--batch", "32", "--epochs", "3", "--kill-rank", "1", "--kill-epoch", "1",
                     "--backup", str(backup), procs=2, check=False, timeout=90)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert elapsed < 60, f"the job took {elapsed:.0f} s to stop"
    output = result.stdout + result.stderr
    assert "SIGKILL" in output and "rank      : 1" in output  # torchrun names the failed rank
    assert (backup / "latest.h5").exists()
    # The same script again, now on one process with the doubled batch, resumes after epoch 0.
    run_job(job, "--batch", "64", "--epochs", "3", "--backup", str(backup))
    resumed, uninterrupted = report(job), report(reference)
    assert resumed["epochs"] == [1, 2]
    for key, values in resumed["history"].items():
        np.testing.assert_allclose(values, uninterrupted["history"][key][1:], atol=1e-6, err_msg=key)
    assert_same_weights(weights(job), weights(reference))
    assert not (backup / "latest.h5").exists()  # a finished fit deletes its backup


def test_torchrun_restarts_with_backup_survive_a_killed_rank(tmp_path: Path) -> None:
    common = ["--batch", "32", "--epochs", "3"]
    reference, job, backup = tmp_path / "ref", tmp_path / "job", tmp_path / "backup"
    run_job(reference, *common, procs=2)
    # torchrun restarts the whole job once; the new attempt resumes after the last finished epoch.
    result = run_job(job, *common, "--kill-rank", "0", "--kill-epoch", "1", "--first-attempt-only",
                     "--backup", str(backup), procs=2, restarts=1)
    assert "exitcode: -9" in result.stderr  # the first attempt did die (SIGKILL)
    assert report(job)["epochs"] == [1, 2]
    assert_same_weights(weights(job), weights(reference))
    assert_same_history({**report(job), "epochs": [0]},
                        {"epochs": [0], "history": {k: v[1:] for k, v in report(reference)["history"].items()}})


def test_a_rank_that_raises_ends_the_job_naming_it(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_job(tmp_path / "job", "--batch", "32", "--epochs", "3", "--kill-rank", "1", "--kill-epoch", "1",
                     "--raise", procs=2, check=False, timeout=90)
    assert result.returncode != 0
    assert time.monotonic() - start < 45
    output = result.stdout + result.stderr
    assert "injected failure on rank 1" in output
    assert "rank      : 1" in output  # torchrun's summary names the failed rank


def test_a_hung_rank_fails_the_job_after_the_timeout_with_a_named_error(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_job(tmp_path / "job", "--batch", "32", "--epochs", "3", "--kill-rank", "1", "--kill-epoch", "1",
                     "--hang", procs=2, check=False, timeout=90, env=_env(NERVE_DIST_TIMEOUT="4"))
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert elapsed < 45, f"the job took {elapsed:.0f} s to stop"
    output = result.stdout + result.stderr
    assert "DistributedError: Rank 0 of 2" in output
    assert "rank 1 stopped" in output and "within 4 s" in output


def test_processes_with_different_data_are_refused_before_training(tmp_path: Path) -> None:
    result = run_job(tmp_path / "job", "--unseeded-split", procs=2, check=False, timeout=90)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "disagree on the training data" in output
    assert "seed numpy" in output
    assert "Epoch 1/" not in result.stdout  # refused before the first step
