"""Every example script runs, unchanged, with its epochs cut short by NERVE_MAX_EPOCHS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
SCRIPTS = [p for p in EXAMPLES if p.name != "offline_mnist.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs(script, tmp_path):
    pytest.importorskip("matplotlib", reason="the seed examples plot with matplotlib (pip install '.[plot]')")
    env = {**os.environ, "NERVE_MAX_EPOCHS": "2", "MPLBACKEND": "Agg", "NERVE_EXAMPLES_OFFLINE": "1",
           "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(script.parent)}
    # Run in a scratch folder: the scripts write checkpoints next to themselves, as the notes do.
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Epoch" in proc.stdout or "accuracy" in proc.stdout
