"""The process group a data-parallel job runs in: set up from torchrun's environment or in code.

Everything here is a thin layer over `torch.distributed`: the backend is NCCL
when the process drives a CUDA device and gloo otherwise; collectives time out
after `NERVE_DIST_TIMEOUT` seconds (default 300) instead of torch's 30 minutes,
and their failures are re-raised as `DistributedError` naming this rank.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from nerve import backend

__all__ = [
    "DistributedError",
    "barrier",
    "initialize",
    "is_initialized",
    "is_main_process",
    "launched_by_torchrun",
    "rank",
    "shutdown",
    "world_size",
]

DEFAULT_TIMEOUT_S = 300.0
_TIMEOUT_ENV = "NERVE_DIST_TIMEOUT"
_timeout_s: float = DEFAULT_TIMEOUT_S


class DistributedError(RuntimeError):
    """A data-parallel job cannot go on: another process failed, hung past the timeout, or disagrees."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"Environment variable {name} must be an integer. Received: {name}={value!r}") from None


def launched_by_torchrun() -> bool:
    """True when the environment describes a job of several processes (torchrun sets WORLD_SIZE and RANK)."""
    return _env_int("WORLD_SIZE", 1) > 1 and "RANK" in os.environ


def is_initialized() -> bool:
    """True once this process has joined a process group (`initialize`, or the first `fit` under torchrun)."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Number of processes in the job (1 without one)."""
    return dist.get_world_size() if is_initialized() else 1


def rank() -> int:
    """This process's rank, 0 to world_size() - 1 (0 without a job)."""
    return dist.get_rank() if is_initialized() else backend.process_rank()


def is_main_process() -> bool:
    """True on rank 0: the process that prints, writes checkpoints and logs.

    Example:
        >>> if nerve.distribution.is_main_process():
        ...     model.save("final.keras")
    """
    return rank() == 0


def _resolve_timeout(timeout: float | None) -> float:
    if timeout is None:
        raw = os.environ.get(_TIMEOUT_ENV)
        if raw is None:
            return DEFAULT_TIMEOUT_S
        try:
            timeout = float(raw)
        except ValueError:
            raise DistributedError(f"{_TIMEOUT_ENV} must be a number of seconds. Received: {raw!r}") from None
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds. Received: timeout={timeout!r}")
    return float(timeout)


def initialize(
    job_addresses: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    backend_name: str | None = None,
    timeout: float | None = None,
) -> None:
    """Join (or create) the job's process group; a no-op for a single process.

    Under `torchrun` nothing needs calling: the first `fit`, `evaluate` or
    `predict` joins the group torchrun describes. Call this to set the job up
    in code instead (Keras's `keras.distribution.initialize` arguments).

    Args:
        job_addresses: "host:port" of rank 0's rendezvous (Keras accepts a
            comma-separated list; the first address is used). Default: torchrun's
            MASTER_ADDR and MASTER_PORT.
        num_processes: the world size (default: WORLD_SIZE, else 1).
        process_id: this process's rank (default: RANK, else 0).
        backend_name: "nccl" or "gloo" (default: NCCL on CUDA, gloo on CPU).
        timeout: seconds a collective waits for the others before failing
            (default: NERVE_DIST_TIMEOUT, else 300).

    Example:
        >>> nerve.distribution.initialize("10.0.0.1:29500", num_processes=2, process_id=0)
    """
    global _timeout_s
    if is_initialized():
        return
    world = _env_int("WORLD_SIZE", 1) if num_processes is None else int(num_processes)
    this = _env_int("RANK", 0) if process_id is None else int(process_id)
    if world <= 1:
        return
    if not 0 <= this < world:
        raise ValueError(f"process_id must be in [0, {world}). Received: process_id={this}, num_processes={world}")
    if not dist.is_available():
        raise DistributedError("This PyTorch build has no torch.distributed; data-parallel training needs it.")
    _timeout_s = _resolve_timeout(timeout)
    device = backend.get_device()
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", _env_int("LOCAL_RANK", this) % torch.cuda.device_count())
            backend.set_device(device)
        torch.cuda.set_device(device)
    name = backend_name or ("nccl" if device.type == "cuda" else "gloo")
    if job_addresses:
        address = job_addresses.split(",")[0].strip()
        init_method = address if "://" in address else f"tcp://{address}"
    else:
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise DistributedError(
                    f"Cannot join a job of {world} processes: {var} is not set. Launch with torchrun, "
                    "or pass job_addresses='host:port' of rank 0."
                )
        init_method = "env://"
    wait = datetime.timedelta(seconds=_timeout_s)
    try:
        store = _attempt_store(wait) if init_method == "env://" else None
        if store is not None:
            dist.init_process_group(name, store=store, world_size=world, rank=this, timeout=wait)
        else:
            dist.init_process_group(name, init_method=init_method, world_size=world, rank=this, timeout=wait)
    except Exception as err:  # rendezvous failures come as several torch error types
        raise DistributedError(
            f"Rank {this} of {world} could not join the process group ({name}, {init_method}) within "
            f"{_timeout_s:g} s: {err}"
        ) from err
    atexit.register(shutdown)  # leave the group cleanly: an abandoned one can abort the interpreter's exit
    _seed_for_rank(this)


def _attempt_store(timeout: datetime.timedelta) -> Any:
    """torchrun's store, with keys private to this restart attempt (None when not under torchrun).

    torchrun keeps one store for all the attempts of a job; when it restarts the workers after a
    failure, the new processes can read the gloo/NCCL addresses the dead ones left there and fail
    with "Connection refused", or hang (seen with torch 2.13; pytorch/pytorch#167288). Prefixing
    the keys with TORCHELASTIC_RESTART_COUNT keeps every attempt to its own.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                          timeout=timeout)
    return dist.PrefixStore(f"nerve/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}/", store)


def _seed_for_rank(this: int) -> None:
    """Give each rank its own torch random stream (dropout), derived from the script's seed."""
    if this == 0:
        return  # rank 0 keeps its stream: a 1-process run with the same seed draws the same numbers
    seed = backend._LAST_SEED if backend._LAST_SEED is not None else torch.initial_seed()
    torch.manual_seed(int(seed) + this)


def ensure_initialized() -> int:
    """Join torchrun's job if the environment describes one; return the world size."""
    if not is_initialized() and launched_by_torchrun():
        initialize()
    return world_size()


def shutdown() -> None:
    """Leave the process group (at the end of a script; harmless without one)."""
    if is_initialized():
        gc.collect()  # objects still holding the group (DDP's reducer) go first
        dist.destroy_process_group()


@contextlib.contextmanager
def collective(what: str) -> Iterator[None]:
    """Run collectives, turning a lost or hung peer into a DistributedError that names this rank."""
    try:
        yield
    except DistributedError:
        raise
    except RuntimeError as err:  # DistBackendError, gloo's "Connection closed by peer", timeouts
        if not is_initialized() or not _is_collective_failure(err):
            raise
        other = f"rank {1 - rank()}" if world_size() == 2 else "another process of the job"
        raise DistributedError(
            f"Rank {rank()} of {world_size()}: {what} failed because {other} stopped "
            f"(it crashed, was killed, or did not answer within {_timeout_s:g} s; set {_TIMEOUT_ENV} to change "
            f"that). This process stops too. With torchrun, the failed rank's own error is printed above. "
            f"Detail: {err}"
        ) from err


def _is_collective_failure(err: BaseException) -> bool:
    dist_errors = tuple(t for t in (getattr(dist, "DistError", None), getattr(dist, "DistBackendError", None)) if t)
    if dist_errors and isinstance(err, dist_errors):
        return True
    text = str(err).lower()
    return any(k in text for k in ("gloo", "nccl", "connection closed", "connection reset", "timed out",
                                   "timeout", "broken pipe", "c10d", "peer"))


def barrier() -> None:
    """Wait until every process reaches this point (no-op without a job)."""
    if is_initialized():
        with collective("barrier"):
            dist.barrier()


def all_reduce_(tensor: torch.Tensor, what: str) -> torch.Tensor:
    """Sum `tensor` over all processes, in place."""
    if is_initialized():
        with collective(what):
            dist.all_reduce(tensor)
    return tensor


def broadcast_(tensor: torch.Tensor, what: str, src: int = 0) -> torch.Tensor:
    """Overwrite `tensor` with rank `src`'s, in place."""
    if is_initialized():
        with collective(what):
            dist.broadcast(tensor, src)
    return tensor


def all_gather(tensor: torch.Tensor, what: str) -> list[torch.Tensor]:
    """Every process's `tensor` (of any first-dimension length), in rank order."""
    if not is_initialized():
        return [tensor]
    n = world_size()
    with collective(what):
        sizes = torch.tensor([tensor.shape[0]], device=tensor.device, dtype=torch.int64)
        all_sizes = [torch.empty_like(sizes) for _ in range(n)]
        dist.all_gather(all_sizes, sizes)
        longest = max(int(s.item()) for s in all_sizes)
        padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(n)]
        dist.all_gather(parts, padded)
    return [p[: int(s.item())] for p, s in zip(parts, all_sizes)]


def agree(values: list[float], what: str) -> list[float]:
    """Each rank's `values` must be equal everywhere: return them, or raise on every rank alike."""
    if not is_initialized():
        return values
    mine = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    gathered = all_gather(mine.reshape(1, -1), what)
    rows = [g.reshape(-1).tolist() for g in gathered]
    if any(r != rows[0] for r in rows):
        detail = "; ".join(f"rank {i}: {r}" for i, r in enumerate(rows))
        raise DistributedError(f"The processes of the job disagree on {what}: {detail}.")
    return values


def _collective_device() -> torch.device:
    """Where collective buffers live: the process's GPU for NCCL, else the CPU."""
    if is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def describe() -> dict[str, Any]:
    """The job as seen from this process: world size, rank, backend, device, timeout."""
    return {
        "world_size": world_size(),
        "rank": rank(),
        "backend": dist.get_backend() if is_initialized() else None,
        "device": str(backend.get_device()),
        "timeout_s": _timeout_s,
    }
