"""Data parallelism for fit/evaluate/predict: PyTorch's DistributedDataParallel under nerve's loop.

The trainer asks `active()` once per call; with one process it gets None and
runs exactly as before. With several, `DataParallel` shards the data, wraps the
model's training forward in `torch.nn.parallel.DistributedDataParallel` (which
all-reduces the gradients during backward), reduces the loss and metric states
into global values, and keeps every process's decisions (stop, resume) equal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from nerve import backend
from nerve.distribution import runtime
from nerve.training import data_adapter

__all__ = ["DataParallel", "active", "distribution", "set_distribution"]


class _TrainForward(torch.nn.Module):
    """The model's training forward as a module, for DistributedDataParallel to wrap."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Any) -> list[torch.Tensor]:
        return self.model._forward_flat(x, training=True)


class DataParallel:
    """Train on every process of the job, each on its own part of every batch (Keras's name).

    `batch_size` stays per process: the global batch is `batch_size * world_size`,
    printed once when fit starts. Gradients are averaged over the global batch by
    DistributedDataParallel; History holds global averages; validation and
    evaluate cover each sample exactly once.

    Args:
        devices: accepted for Keras compatibility; each process uses one device
            (its LOCAL_RANK GPU, or the CPU). Default None.
        auto_shard_dataset: split the data between the processes (default True).
            False: every process's iterable already yields its own batches
            (a DataLoader with a DistributedSampler is detected either way).
        sync_batchnorm: make every BatchNormalization use the global batch's
            statistics (sets `synchronized=True` on them; default False).
        find_unused_parameters: DistributedDataParallel's option for models
            where some trainable weights get no gradient in a step (default False).

    Example:
        >>> nerve.distribution.set_distribution(nerve.distribution.DataParallel(sync_batchnorm=True))
        >>> model.fit(x, y, batch_size=64)  # under torchrun: 64 per process
    """

    def __init__(self, devices: Any = None, auto_shard_dataset: bool = True, *, sync_batchnorm: bool = False,
                 find_unused_parameters: bool = False) -> None:
        self.devices = devices
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self.sync_batchnorm = bool(sync_batchnorm)
        self.find_unused_parameters = bool(find_unused_parameters)

    @property
    def world_size(self) -> int:
        return runtime.world_size()

    @property
    def rank(self) -> int:
        return runtime.rank()

    # ------------------------------------------------------------ model
    def wrap(self, model: Any, params: list[torch.nn.Parameter]) -> Any:
        """The training forward, through DistributedDataParallel (rank 0's weights are sent to all).

        Returns None when nothing is trainable: there is nothing to all-reduce, and
        the weights are broadcast directly instead.
        """
        if self.sync_batchnorm:
            from nerve.layers.batch_normalization import BatchNormalization

            for module in model.modules():
                if isinstance(module, BatchNormalization):
                    module.synchronized = True
        if not params:
            self.broadcast_weights(model)
            return None
        from torch.nn.parallel import DistributedDataParallel

        device = model._device()
        with runtime.collective("setting up DistributedDataParallel (sending rank 0's weights)"):
            return DistributedDataParallel(
                _TrainForward(model),
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=self.find_unused_parameters,
            )

    def broadcast_weights(self, model: Any) -> None:
        """Give every process rank 0's weights and buffers."""
        for tensor in list(model.parameters()) + list(model.buffers()):
            with torch.no_grad():
                moved = tensor.detach().to(runtime._collective_device())
                runtime.broadcast_(moved, "sending rank 0's weights")
                tensor.copy_(moved)

    # ------------------------------------------------------------ data
    def _split(self, data: Any) -> bool:
        if isinstance(data, data_adapter.IterableData):
            sampler = getattr(data.source, "sampler", None)
            from torch.utils.data.distributed import DistributedSampler

            if isinstance(sampler, DistributedSampler):
                return False
        return self.auto_shard_dataset

    def shard_train(self, data: Any) -> Any:
        """Every step one global batch, split between the processes."""
        if isinstance(data, data_adapter.ArrayData):
            if not self._split(data):
                return data
            self.check_same_data(data)
            return data.shard(self.rank, self.world_size)
        return data.shard(self.rank, self.world_size, in_step=True, split=self._split(data))

    def shard_eval(self, data: Any, what: str) -> Any:
        """This process's contiguous part of the samples (evaluation/prediction: each sample once)."""
        if isinstance(data, data_adapter.ArrayData):
            if not self._split(data):
                return data
            n, world = data.num_samples, self.world_size
            if n < world:
                raise runtime.DistributedError(
                    f"{what} has {n} samples, fewer than the {world} processes of the job: every process "
                    "needs at least one. Use more samples, or fewer processes."
                )
            return data.subset(*data_adapter.split_range(n, self.rank, world))
        return data.shard(self.rank, self.world_size, in_step=False, split=self._split(data))

    def check_same_data(self, data: data_adapter.ArrayData) -> None:
        """Refuse, on every process alike, training data that differ between processes.

        Scripts that shuffle or split with an unseeded numpy would otherwise train each
        process on a different split, silently seeing some samples twice and others never.
        """
        values = [float(data.num_samples)]
        for t in backend.flatten(data.x) + backend.flatten(data.y):
            if isinstance(t, torch.Tensor):
                head = t[: min(len(t), 64)].reshape(-1).double()
                tail = t[-min(len(t), 64):].reshape(-1).double()
                values += [float(head.sum()), float(tail.sum()), float((head * head).sum())]
        try:
            runtime.agree(values, "the training data (sample count and checksums)")
        except runtime.DistributedError as err:
            raise runtime.DistributedError(
                f"{err} Every process must load the same arrays: seed numpy (or nerve.utils.set_random_seed) "
                "before shuffling or splitting the data, or pass a DataLoader with a DistributedSampler."
            ) from None

    # ------------------------------------------------------------ logs and decisions
    @contextlib.contextmanager
    def global_state(self, states: list[tuple[torch.Tensor, str]]) -> Iterator[None]:
        """Swap each (state tensor, aggregation) for its value over all processes, then back.

        "sum" (loss totals, counts, confusion matrices) adds the processes' values; "mean"
        averages them; "only_first_replica" takes rank 0's; "none" stays local. All in one
        all-reduce.
        """
        reduced = [(t, how) for t, how in states if how != "none"]
        if not reduced:
            yield
            return
        device = runtime._collective_device()
        flat = torch.cat([t.detach().reshape(-1).to(device, torch.float64) for t, _ in reduced])
        scale = torch.cat([
            torch.full((t.numel(),), 0.0 if how == "only_first_replica" and self.rank else 1.0,
                       dtype=torch.float64, device=device) for t, how in reduced])
        flat.mul_(scale)
        runtime.all_reduce_(flat, "summing the loss and metrics over the processes")
        saved = [t.detach().clone() for t, _ in reduced]
        offset = 0
        with torch.no_grad():
            for t, how in reduced:
                part = flat[offset:offset + t.numel()]
                if how == "mean":
                    part = part / self.world_size
                t.copy_(part.reshape(t.shape).to(t.device, t.dtype))
                offset += t.numel()
        try:
            yield
        finally:
            with torch.no_grad():
                for (t, _), old in zip(reduced, saved):
                    t.copy_(old)

    def any(self, flag: bool, what: str) -> bool:
        """True on every process if it is True on any (stop_training, errors)."""
        value = torch.tensor([1.0 if flag else 0.0], device=runtime._collective_device())
        runtime.all_reduce_(value, what)
        return bool(value.item() > 0)

    def gather_outputs(self, flat: list[np.ndarray]) -> list[np.ndarray]:
        """predict(): every process's outputs, in sample order, on every process."""
        out = []
        device = runtime._collective_device()
        for array in flat:
            parts = runtime.all_gather(torch.from_numpy(np.ascontiguousarray(array)).to(device),
                                      "collecting the predictions")
            out.append(torch.cat(parts).cpu().numpy())
        return out

    def describe(self, batch_size: int | None) -> str:
        info = runtime.describe()
        text = f"nerve: data-parallel over {info['world_size']} processes ({info['backend']}, {info['device']} on rank 0)"
        if batch_size:
            text += f": batch_size {batch_size} per process, global batch {batch_size * info['world_size']}"
        return text


_DISTRIBUTION: DataParallel | None = None


def set_distribution(value: DataParallel | None) -> None:
    """Use `value` for every following fit/evaluate/predict (Keras's name); joins the job if needed.

    Args:
        value: a `DataParallel`, or None to go back to the default one.

    Example:
        >>> nerve.distribution.set_distribution(nerve.distribution.DataParallel())
    """
    global _DISTRIBUTION
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution expects a nerve.distribution.DataParallel or None. Received: {value!r}")
    _DISTRIBUTION = value
    if value is not None:
        runtime.ensure_initialized()


def distribution() -> DataParallel | None:
    """The distribution set with `set_distribution` (None if none was)."""
    return _DISTRIBUTION


def active() -> DataParallel | None:
    """The data-parallel setup for this call: None for a single process (joins torchrun's job if any)."""
    if runtime.ensure_initialized() <= 1:
        return None
    return _DISTRIBUTION or DataParallel()
