"""A run SIGKILLed at random moments and restarted ends with the weights of a run never killed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import kill_campaign  # noqa: E402


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_at_random_moments_resumes_to_the_same_weights(tmp_path):
    # Every kill aimed at a backup write (with an epoch left to train, so it always lands).
    totals = kill_campaign.campaign(seeds=1, kills=3, workdir=tmp_path, aimed=1.0)
    assert totals["kills"] == 3, totals
    # A kill during the first backup leaves none (the write is atomic): that restart starts over.
    assert totals["resumed_from_backup"] >= 2, totals
    assert totals["identical_final_weights"] == 1, totals
    assert totals["max_abs_weight_difference"] == 0.0
    # Every start after a kill ran to the end or to the next kill: none failed on its own.
    assert totals["attempts"] == totals["kills"] + 1
    assert totals["batches_redone"] >= 0
