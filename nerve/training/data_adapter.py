"""Turn what users pass to fit/evaluate/predict into batches of device tensors.

Arrays (numpy, torch, lists, dicts of them) are checked and moved to the
device once; each epoch then shuffles indices on the device and gathers
batches there, so no data crosses from host to device per step. Iterables
(DataLoaders, generators, lists of batches) are read batch by batch.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from nerve import backend

__all__ = ["ArrayData", "IterableData", "adapt", "train_validation_split", "unpack"]

Batch = tuple[Any, Any, Any]


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor, list, tuple, backend.Variable)) or np.isscalar(x)


def _to_tensor(x: Any, device: torch.device, what: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
        if t.is_complex():
            raise _not_real(what, str(t.dtype).replace("torch.", ""))
    else:
        try:
            arr = np.asarray(x)
        except ValueError as err:  # numpy >= 1.24 refuses ragged nested lists
            raise _ragged(x, what, err) from None
        if arr.dtype == object or arr.dtype.kind in "USVO":
            sample = repr(arr.flat[0]) if arr.size else "nothing"
            raise TypeError(
                f"{what} must hold numbers, but it holds {arr.dtype} values (first one: {sample}). "
                "Convert text or categories to numbers first, e.g. with np.asarray(data, dtype='float32') "
                "or a label encoding."
            )
        if arr.dtype.kind == "c":
            raise _not_real(what, str(arr.dtype))
        if arr.dtype == np.float64:
            arr = arr.astype(backend.floatx())
        t = torch.from_numpy(np.ascontiguousarray(arr))
    # Integer inputs (uint8 images) stay compact here and are cast to the model
    # input's dtype per batch, on the device; values are not rescaled.
    if t.dtype == torch.float64:
        t = t.to(backend.standardize_dtype(backend.floatx()))
    elif t.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32) and not what.startswith("x"):
        t = t.long()
    if t.dim() == 0:
        raise ValueError(f"{what} must have a batch dimension. Received: a scalar {t.item()!r}")
    return t.to(device, non_blocking=True)


def _not_real(what: str, dtype: str) -> TypeError:
    return TypeError(
        f"{what} must hold real numbers, but it holds {dtype} values; nerve's layers and losses work on "
        "real tensors. Pass the real and imaginary parts as separate features, e.g. "
        "np.concatenate([z.real, z.imag], axis=-1), or the magnitude np.abs(z)."
    )


def _ragged(x: Any, what: str, err: Exception) -> ValueError:
    lengths = ""
    if isinstance(x, (list, tuple)):
        sizes = [len(v) if hasattr(v, "__len__") else "scalar" for v in x[:6]]
        lengths = f" Lengths of its first items: {sizes}{' ...' if len(x) > 6 else ''}."
    return ValueError(
        f"{what} is ragged: its samples have different shapes, so it cannot become one array.{lengths} "
        "Pad or cut every sample to one length first, e.g. np.array([row + [0] * (m - len(row)) for row in "
        "data]) with m the longest length; for a model with several inputs, pass a list or dict of arrays. "
        f"(numpy: {err})"
    )


def _structure_to_tensors(structure: Any, device: torch.device, what: str) -> Any:
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: _structure_to_tensors(v, device, f"{what}[{k!r}]") for k, v in structure.items()}
    if isinstance(structure, (list, tuple)) and structure and _is_nested(structure):
        return type(structure)(
            _structure_to_tensors(v, device, f"{what}[{i}]") for i, v in enumerate(structure)
        )
    return _to_tensor(structure, device, what)


def _is_nested(seq: list | tuple) -> bool:
    """A list of arrays (several inputs, or targets with None for an output without loss) rather
    than an array written as a list."""
    return all(v is None or isinstance(v, (np.ndarray, torch.Tensor, dict)) or (isinstance(v, (list, tuple)) and
               v and isinstance(v[0], (np.ndarray, torch.Tensor))) for v in seq) and not all(
        v is None or isinstance(v, (np.ndarray, torch.Tensor)) and v.ndim == 0 for v in seq)


def match_names(value: Any, names: list[str], what: str, owner: str, *, required: bool = True,
                broadcast: bool = False) -> list[Any]:
    """Line up `value` with a model's named inputs or outputs: one per name, in order.

    Args:
        value: a single array, a list/tuple in order, or a dict by name.
        names: the model's input or output names.
        what: "input", "output" or "sample weight", for messages.
        owner: the model's name, for messages.
        required: every name needs a value (inputs); else missing ones are None.
        broadcast: a single value serves every name (sample weights).
    """
    n = len(names)
    if value is None:
        return [None] * n
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        missing = [k for k in names if k not in value]
        if unknown or (required and missing):
            raise ValueError(
                f"Model '{owner}' has {what}s {names}; the dict given "
                + (f"names unknown {what}s {unknown}" if unknown else f"lacks {missing}")
                + f". Received keys: {sorted(value)}"
            )
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"Model '{owner}' has {n} {what}s {names}, but {len(value)} arrays were given. "
                f"Pass one array per {what} (a list in order, or a dict by name)."
            )
        return list(value)
    if n != 1 and not broadcast:
        raise ValueError(
            f"Model '{owner}' has {n} {what}s {names}, but a single array was given. "
            f"Pass a list or a dict with one array per {what}."
        )
    return [value] * n


def unpack(data: Any) -> Batch:
    """Split a batch `(x,)`, `(x, y)` or `(x, y, sample_weight)` into its parts."""
    if isinstance(data, (list, tuple)) and not isinstance(data, torch.Tensor):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data[0], data[1], data[2]
        raise ValueError(
            "Each batch must be x, (x,), (x, y) or (x, y, sample_weight). "
            f"Received: a sequence of length {len(data)}"
        )
    return data, None, None


def _num_samples(tensors: list[torch.Tensor], names: list[str]) -> int:
    sizes = {name: int(t.shape[0]) for t, name in zip(tensors, names)}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{name}: {n}" for name, n in sizes.items())
        raise ValueError(
            "All arrays must have the same number of samples (first dimension). "
            f"Received: {detail}. Make x, y and sample_weight the same length."
        )
    n = next(iter(sizes.values()))
    if n == 0:
        raise ValueError(
            f"The data is empty (0 samples in {names[0]}). Pass at least one sample to fit/evaluate/predict."
        )
    return n


class ArrayData:
    """In-memory data on the device, batched by slicing or index gathering.

    Args:
        x, y, sample_weight: arrays or nested lists/dicts of arrays.
        batch_size: samples per batch (default 32).
        shuffle: True (every epoch), False, or "batch" (shuffle whole batches).
        device: where the tensors live (default the backend's device).
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = 32,
        shuffle: bool | str = False,
        device: torch.device | None = None,
        steps: int | None = None,
    ) -> None:
        device = device or backend.get_device()
        self.x = _structure_to_tensors(x, device, "x")
        self.y = _structure_to_tensors(y, device, "y")
        self.sample_weight = _structure_to_tensors(sample_weight, device, "sample_weight")
        parts = [("x", self.x), ("y", self.y), ("sample_weight", self.sample_weight)]
        tensors, names = [], []
        for label, part in parts:
            for i, t in enumerate(backend.flatten(part)):
                if t is not None:
                    tensors.append(t)
                    names.append(label if len(backend.flatten(part)) == 1 else f"{label}[{i}]")
        self.num_samples = _num_samples(tensors, names)
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = shuffle
        self.device = device
        self.max_steps = steps
        self.first_sample = 0  # index of sample 0 in the arrays the user passed (for messages)
        self._init_shard()

    def _init_shard(self) -> None:
        self.rank, self.world = 0, 1
        # Of the batch last yielded: this process's samples, and the factor that turns the mean
        # loss of its shard into its share of the global batch's mean (data-parallel only).
        self.count: int | None = None
        self.scale = 1.0

    def shard(self, rank: int, world: int) -> "ArrayData":
        """Train data-parallel: every step is one global batch of `batch_size * world` samples,
        split in `world` near-equal contiguous parts; this process takes part `rank`.

        The global batches are those of a one-process run with `batch_size * world`: the same
        permutation (drawn on rank 0, broadcast) and the same partial last batch.
        """
        self.rank, self.world = int(rank), int(world)
        return self

    def subset(self, start: int, end: int) -> "ArrayData":
        """Samples `start` to `end` (a view: no copy), with the same batching settings."""
        new = ArrayData.__new__(ArrayData)
        take = lambda t: None if t is None else t[start:end]  # noqa: E731
        new.x = backend.map_structure(take, self.x)
        new.y = backend.map_structure(take, self.y)
        new.sample_weight = backend.map_structure(take, self.sample_weight)
        new.num_samples = end - start
        new.batch_size, new.shuffle, new.device = self.batch_size, self.shuffle, self.device
        new.max_steps = self.max_steps
        new.first_sample = getattr(self, "first_sample", 0) + start
        new._init_shard()
        return new

    @property
    def steps(self) -> int:
        full = math.ceil(self.num_samples / (self.batch_size * self.world))
        return full if self.max_steps is None else min(full, self.max_steps)

    def _take(self, index: torch.Tensor | slice) -> Batch:
        def take(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            if isinstance(index, slice):
                return t[index]
            return t.index_select(0, index)

        return (
            backend.map_structure(take, self.x),
            backend.map_structure(take, self.y),
            backend.map_structure(take, self.sample_weight),
        )

    def __iter__(self) -> Iterator[Batch]:
        if self.world > 1:
            yield from self._iter_shard()
            return
        n, bs, steps = self.num_samples, self.batch_size, self.steps
        if not self.shuffle:
            for b in range(steps):
                yield self._take(slice(b * bs, (b + 1) * bs))
            return
        if self.shuffle == "batch":
            order = torch.randperm(math.ceil(n / bs), device="cpu").tolist()[:steps]
            for b in order:
                yield self._take(slice(b * bs, (b + 1) * bs))
            return
        perm = torch.randperm(n, device=self.device)
        for b in range(steps):
            yield self._take(perm[b * bs:(b + 1) * bs])

    def _iter_shard(self) -> Iterator[Batch]:
        n, world, steps = self.num_samples, self.world, self.steps
        size = self.batch_size * world
        perm = None
        order = range(steps)
        if self.shuffle == "batch":
            order = _shared_randperm(math.ceil(n / size), torch.device("cpu"), self.rank).tolist()[:steps]
        elif self.shuffle:
            perm = _shared_randperm(n, self.device, self.rank)
        for b in order:
            start, end = b * size, min((b + 1) * size, n)
            lo, hi = split_range(end - start, self.rank, world)
            count = hi - lo
            if count == 0:  # a last global batch smaller than the world: take a sample, weigh it 0
                lo, hi = 0, 1
            self.count = count
            self.scale = count * world / (end - start)
            if perm is None:
                yield self._take(slice(start + lo, start + hi))
            else:
                yield self._take(perm[start + lo:start + hi])

    def __len__(self) -> int:
        return self.steps


def split_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """Part `rank` of `n` items cut in `world` contiguous, near-equal parts (the first `n % world` one longer)."""
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def _shared_randperm(n: int, device: torch.device, rank: int) -> torch.Tensor:
    """`torch.randperm(n)` drawn on rank 0 (as a one-process run would) and sent to every rank."""
    from nerve.distribution import runtime

    if rank == 0:
        perm = torch.randperm(n, device=device)
    else:
        perm = torch.empty(n, dtype=torch.int64, device=device)
    on = runtime._collective_device()
    moved = perm.to(on)
    runtime.broadcast_(moved, "shuffling the training data")
    return moved.to(device)


class IterableData:
    """Batches read from an iterable (a DataLoader, generator or list of batches).

    Each item is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; its parts are
    moved to the device as they come. A re-iterable source (DataLoader, list)
    restarts every epoch; a one-shot generator is read until exhausted, or for
    `steps` batches per epoch when `steps` is given.
    """

    def __init__(self, source: Iterable, steps: int | None = None, device: torch.device | None = None) -> None:
        self.source = source
        self.device = device or backend.get_device()
        self._iterator: Iterator | None = None
        self._steps = steps
        self._reiterable = not isinstance(source, Iterator)
        self._peeked: Batch | None = None
        self.rank, self.world, self._in_step, self._split = 0, 1, False, True
        self.count: int | None = None
        self.scale = 1.0

    def shard(self, rank: int, world: int, *, in_step: bool, split: bool = True) -> "IterableData":
        """Read data-parallel: batch i goes to process i % world (unless `split` is False: the
        source already yields each process its own batches, e.g. through a DistributedSampler).

        With `in_step` (training) the processes agree before every step that each has a batch,
        and the epoch ends for all when one runs out, so no process waits on a step the others
        never take; the loss of each batch is weighed by its share of the step's samples.
        """
        self.rank, self.world, self._in_step, self._split = int(rank), int(world), in_step, split
        return self

    @property
    def steps(self) -> int | None:
        if self._steps is not None:
            return self._steps
        try:
            length = len(self.source)  # type: ignore[arg-type]
        except TypeError:
            return None
        if self.world == 1 or not self._split:
            return length
        # Training ends the epoch when the first process runs out; evaluation reads all of its share.
        return length // self.world if self._in_step else -(-(length - self.rank) // self.world)

    def __len__(self) -> int:
        return self.steps or 0

    def _convert(self, item: Any) -> Batch:
        x, y, sw = unpack(item)
        return (
            _structure_to_tensors(x, self.device, "x"),
            _structure_to_tensors(y, self.device, "y"),
            _structure_to_tensors(sw, self.device, "sample_weight"),
        )

    def peek(self) -> Batch:
        """The first batch, kept so that the next pass still yields it (nothing is lost)."""
        if self._peeked is None:
            if self._iterator is None or self._reiterable:
                self._iterator = iter(self.source)
            try:
                self._peeked = self._convert(next(self._iterator))
            except StopIteration:
                self._iterator = None
                raise ValueError("The data yielded no batches; pass a non-empty dataset or generator.") from None
        return self._peeked

    def __iter__(self) -> Iterator[Batch]:
        if self.world == 1:
            yield from self._iter_batches()
            return
        from nerve.distribution import runtime

        batches = self._iter_batches(limit=None)
        index = taken = 0
        while True:
            mine: Batch | None = None
            for item in batches if self._steps is None or taken < self._steps else ():
                # skip the other processes' batches
                if not self._split or index % self.world == self.rank:
                    mine = item
                    index += 1
                    break
                index += 1
            taken += mine is not None
            if not self._in_step:
                if mine is None:
                    return
                yield mine
                continue
            n = 0 if mine is None else _batch_len(mine)
            flags = torch.tensor([float(mine is not None), float(n)], dtype=torch.float64,
                                 device=runtime._collective_device())
            runtime.all_reduce_(flags, "agreeing on the next training batch")
            have, total = flags.tolist()
            if have < self.world:  # a process ran out of data: the epoch ends everywhere
                return
            self.count, self.scale = n, n * self.world / total
            assert mine is not None
            yield mine

    def _iter_batches(self, limit: int | None = -1) -> Iterator[Batch]:
        limit = self._steps if limit == -1 else limit
        count = 0
        if self._peeked is not None:
            first, self._peeked = self._peeked, None
            yield first
            count += 1
        elif self._reiterable or self._iterator is None:
            self._iterator = iter(self.source)
        assert self._iterator is not None
        while limit is None or count < limit:
            try:
                item = next(self._iterator)
            except StopIteration:
                self._iterator = None
                return
            yield self._convert(item)
            count += 1


def _batch_len(batch: Batch) -> int:
    for t in backend.flatten(batch[0]):
        if isinstance(t, torch.Tensor) and t.dim():
            return int(t.shape[0])
    return 0


def named_leaves(structure: Any, label: str) -> list[tuple[str, Any]]:
    """The leaves of nested lists/dicts with the names messages use: x, x[0], x['image']."""
    if structure is None:
        return []
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in named_leaves(structure[k], f"{label}[{k!r}]")]
    if isinstance(structure, (list, tuple)):
        return [leaf for i, v in enumerate(structure) for leaf in named_leaves(v, f"{label}[{i}]")]
    return [(label, structure)]


_FINITE_CHUNK = 1 << 24  # elements per isfinite pass: bounds the temporary boolean tensor


def _all_finite(t: torch.Tensor) -> bool:
    """True if no element of a floating tensor is NaN or Inf; one host sync."""
    if not t.numel():
        return True
    rows = max(1, _FINITE_CHUNK // max(1, t[0].numel()))
    flags = [torch.isfinite(t[i:i + rows]).all() for i in range(0, t.shape[0], rows)]
    return bool(flags[0] if len(flags) == 1 else torch.stack(flags).all())


def check_finite(parts: list[tuple[str, Any]], method: str, first_sample: int = 0, where: str = "") -> None:
    """Refuse NaN or Inf in floating-point data before any step (integer and bool tensors cannot hold them).

    Cheap when the data is clean: one `isfinite().all()` per tensor (in chunks) and one host
    sync each; the count and the first bad index are computed only when a check fails.

    Args:
        parts: (name, structure) pairs, e.g. [("x", x), ("y", y), ("sample_weight", sw)].
        method: "fit" or "evaluate", for the message.
        first_sample: index of the tensors' sample 0 in the user's arrays (validation_split parts).
        where: words telling which data this is, e.g. " in the first batch".

    Raises:
        ValueError: naming the array, the number of NaN and Inf values and of samples holding
            them, the first bad element and its value, and how to drop or replace them.
    """
    for label, structure in parts:
        for name, t in named_leaves(structure, label):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or _all_finite(t):
                continue
            finite = torch.isfinite(t)
            n_nan, n_bad = int(torch.isnan(t).sum()), int((~finite).sum())
            bad_rows = (~finite).reshape(t.shape[0], -1).any(dim=1)
            first = int(bad_rows.nonzero()[0, 0])
            inner = [int(i) for i in (~finite[first]).nonzero()[0]] if t.dim() > 1 else []
            value = t[first][tuple(inner)].item() if inner else t[first].item()
            index = ", ".join(str(i) for i in [first + first_sample, *inner])
            kinds = " and ".join(f"{n} {k}" for n, k in ((n_nan, "NaN"), (n_bad - n_nan, "Inf")) if n)
            raise ValueError(
                f"{method}() found {kinds} value{'s' if n_bad > 1 else ''} in {name}{where}, in "
                f"{int(bad_rows.sum())} of its {t.shape[0]} samples; the first is {name}[{index}] = {value} "
                f"(sample {first + first_sample}). Training or evaluating on them makes the loss NaN. "
                f"Drop those samples, e.g. keep = np.isfinite({name}).reshape(len({name}), -1).all(axis=1), "
                f"then index every array with keep; or replace the values (np.nan_to_num, or impute them)."
            )


def check_positive_int(name: str, value: Any, allow_none: bool = True) -> None:
    """Refuse counts such as steps_per_epoch or validation_freq that are not integers >= 1."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"{name} must be a positive integer{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )


def _check_batch_size(batch_size: Any) -> int:
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    return int(batch_size)


def is_iterable_source(x: Any) -> bool:
    """True for DataLoaders, generators and other batch iterables (not arrays)."""
    if x is None or _is_array(x) or isinstance(x, dict):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def adapt(
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    batch_size: int | None = None,
    shuffle: bool | str = False,
    steps: int | None = None,
    device: torch.device | None = None,
) -> ArrayData | IterableData:
    """Pick the adapter for `x`: arrays become ArrayData, iterables IterableData."""
    if is_iterable_source(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                "When x is a DataLoader, generator or other iterable of batches, it must yield "
                "the targets too; do not pass y or sample_weight separately. "
                f"Received: y of type {type(y).__name__}"
            )
        if batch_size is not None and not hasattr(x, "batch_size"):
            _check_batch_size(batch_size)
        return IterableData(x, steps=steps, device=device)
    if x is None:
        raise ValueError("No data: x is None. Pass input data to fit/evaluate/predict.")
    return ArrayData(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, device=device, steps=steps)


def train_validation_split(data: ArrayData, validation_split: float) -> tuple[ArrayData, ArrayData]:
    """Split off the last `validation_split` fraction, before any shuffling (Keras's rule)."""
    if not isinstance(validation_split, (int, float)) or not 0 < validation_split < 1:
        raise ValueError(
            f"validation_split must be a number strictly between 0 and 1. Received: validation_split={validation_split!r}"
        )
    n = data.num_samples
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for "
            f"{'training' if split_at == 0 else 'validation'} with {n} samples. "
            "Use more data or a different fraction."
        )

    return data.subset(0, split_at), data.subset(split_at, n)
