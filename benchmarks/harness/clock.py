"""The one way every peer times an epoch: wall and CPU seconds, and the first epoch's end."""

from __future__ import annotations

import time
from typing import Any


class EpochClock:
    """Appends each epoch's wall and CPU time to `result` and records when the first one ended.

    `start` is the `time.perf_counter()` at the beginning of the timed section
    (model build included), so `first_epoch_end_s` is time to first result.
    """

    def __init__(self, result: dict[str, Any], start: float) -> None:
        self.result, self.start = result, start
        result.setdefault("epoch_s", [])
        result.setdefault("epoch_cpu_s", [])
        self.wall = self.cpu = 0.0

    def begin(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def end(self) -> None:
        now = time.perf_counter()
        self.result["epoch_s"].append(now - self.wall)
        self.result["epoch_cpu_s"].append(time.process_time() - self.cpu)
        self.result.setdefault("first_epoch_end_s", now - self.start)
