"""Data-parallel training on torch.distributed: the same `fit` script under `torchrun`.

Launch an unchanged script with `torchrun --nproc_per_node=N script.py` and
fit/evaluate/predict run data-parallel (PyTorch's DistributedDataParallel;
NCCL on CUDA, gloo on CPU). This module is for setting the job up in code and
for asking where a process stands. Guide: docs/distributed.md.

Example:
    >>> import nerve
    >>> nerve.distribution.world_size(), nerve.distribution.rank()
    (1, 0)
"""

from nerve.distribution.data_parallel import DataParallel, distribution, set_distribution
from nerve.distribution.runtime import (
    DistributedError,
    barrier,
    initialize,
    is_initialized,
    is_main_process,
    launched_by_torchrun,
    rank,
    shutdown,
    world_size,
)

__all__ = [
    "DataParallel",
    "DistributedError",
    "barrier",
    "distribution",
    "initialize",
    "is_initialized",
    "is_main_process",
    "launched_by_torchrun",
    "rank",
    "set_distribution",
    "shutdown",
    "world_size",
]
