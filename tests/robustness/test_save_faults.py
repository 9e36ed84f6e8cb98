"""Saving on a full disk, a read-only file system, and a folder the user may not write: real ones.

Each case runs save_faults_job.py in a subprocess against a real file system fault: a 256 KiB
tmpfs (mounted in a private mount namespace, `unshare`, so no root is needed where user
namespaces are allowed), the same tmpfs remounted read-only, and a root-owned folder written by
the unprivileged user `nobody` (chmod alone proves nothing when tests run as root). The error
must name the path, the previous checkpoint must still load, and no temp file may be left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

JOB = Path(__file__).with_name("save_faults_job.py")
NAMES = ("model.keras", "model.h5")


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _namespace(script: str) -> subprocess.CompletedProcess:
    return _run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script])


def _namespaces_work() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = _namespace("mount -t tmpfs -o size=64k tmpfs /tmp && echo ok")
    return probe.returncode == 0 and "ok" in probe.stdout


needs_namespace = pytest.mark.skipif(not _namespaces_work(),
                                     reason="cannot mount a tmpfs in a user namespace here (unshare unavailable)")


def _check(result: subprocess.CompletedProcess, folder: str, error: str, reason: str) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for name in NAMES:
        entry = report[name]
        assert entry["error"] == error, entry
        assert f"Could not save '{folder}/{name}'" in entry["message"]
        assert reason in entry["message"]
        assert "the previous file is unchanged" in entry["message"]
        assert entry["previous_loads"], f"{name}: the previous checkpoint no longer loads"
    assert report["folder"] == sorted(NAMES)  # no temp file left behind


@needs_namespace
def test_disk_full_keeps_the_previous_checkpoint(tmp_path):
    folder = str(tmp_path)
    py, job = sys.executable, str(JOB)
    result = _namespace(f"mount -t tmpfs -o size=256k tmpfs {folder} && {py} {job} prepare {folder} && "
                        f"{py} {job} overwrite {folder}")
    _check(result, folder, "OSError", "No space left on device")


@needs_namespace
def test_read_only_file_system_keeps_the_previous_checkpoint(tmp_path):
    folder = str(tmp_path)
    py, job = sys.executable, str(JOB)
    result = _namespace(f"mount -t tmpfs -o size=8m tmpfs {folder} && {py} {job} prepare {folder} && "
                        f"mount -o remount,ro {folder} && {py} {job} overwrite {folder}")
    _check(result, folder, "OSError", "Read-only file system")


def _can_drop_to_nobody() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = _run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                  f"import sys; sys.path.insert(0, {str(JOB.parents[2])!r}); import nerve"])
    return probe.returncode == 0


@pytest.mark.skipif(not _can_drop_to_nobody(), reason="needs root (to run as 'nobody') and setpriv")
def test_permission_denied_keeps_the_previous_checkpoint():
    # Not under pytest's tmp_path: its parents are private to root, and `nobody` must reach the files.
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        _permission_denied(Path(top) / "owned_by_root")


def _permission_denied(folder: Path) -> None:
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert _run([sys.executable, str(JOB), "prepare", str(folder)]).returncode == 0
    for name in NAMES:  # readable by everyone, writable by root only, whatever the umask
        (folder / name).chmod(0o644)
    result = _run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, str(JOB),
                   "overwrite", str(folder)])
    _check(result, str(folder), "PermissionError", "Permission denied")
