"""The one place for torch defaults: device, float type, seeds, names, variables.

Everything in nerve that creates a tensor asks this module which device and
dtype to use, so `set_device("cpu")` or `set_floatx("float64")` changes the
whole library at once.
"""

from __future__ import annotations

import collections
import ctypes
import os
import sys
import random
import re
from typing import Any, Iterable

import numpy as np
import torch

__all__ = [
    "Variable",
    "clear_session",
    "convert_to_tensor",
    "epsilon",
    "floatx",
    "get_device",
    "get_uid",
    "get_value",
    "set_device",
    "set_epsilon",
    "set_floatx",
    "set_random_seed",
    "set_value",
    "standardize_dtype",
]

_FLOATX = "float32"
_EPSILON = 1e-7
_DEVICE: torch.device | None = None
_UIDS: collections.Counter[str] = collections.Counter()

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}


def floatx() -> str:
    """Return the default float type as a string, e.g. `"float32"`."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type (`"float16"`, `"bfloat16"`, `"float32"` or `"float64"`)."""
    global _FLOATX
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(
            "Unknown floatx: expected one of 'float16', 'bfloat16', 'float32', "
            f"'float64'. Received: value={value!r}"
        )
    _FLOATX = value


def epsilon() -> float:
    """Return the fuzz factor used in numeric expressions (default 1e-7, as in Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def standardize_dtype(dtype: Any) -> torch.dtype:
    """Turn a dtype given as a string, numpy dtype or torch dtype into a torch dtype."""
    if dtype is None:
        return _DTYPES[_FLOATX]
    if isinstance(dtype, torch.dtype):
        return dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    try:
        return _DTYPES[name]
    except KeyError:
        raise ValueError(
            f"Unsupported dtype. Expected one of {sorted(_DTYPES)}. Received: dtype={dtype!r}"
        ) from None


def _auto_device() -> torch.device:
    env = os.environ.get("NERVE_DEVICE")
    if env:
        return torch.device(env)
    if torch.cuda.is_available():
        # Under torchrun each process of a node drives its own GPU: LOCAL_RANK's.
        local_rank = os.environ.get("LOCAL_RANK")
        return torch.device(f"cuda:{int(local_rank) % torch.cuda.device_count()}" if local_rank else "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _keep_freed_buffers_in_heap() -> bool:
    """Stop glibc from returning every freed tensor buffer to the OS (CPU training speed).

    glibc serves large allocations with mmap and unmaps them on free, so each
    training step's activations land on fresh pages that the kernel must fault
    in and zero: measured on the small CNN of `make bench` (fresh process, 2-core
    CPU), 2.2 s/epoch before, 1.5 after. Setting the mmap and trim thresholds
    keeps freed buffers for reuse, as jemalloc/tcmalloc do; the process keeps
    its peak memory instead of giving it back between steps. Linux with glibc
    only; `NERVE_MALLOC_TUNING=0` turns it off. Returns True when applied.
    """
    if os.environ.get("NERVE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's largest allowed value on 64-bit
    ok = mallopt(m_trim_threshold, 1024 * 1024 * 1024) and ok
    return bool(ok)


MALLOC_TUNED = _keep_freed_buffers_in_heap()


def get_device() -> torch.device:
    """Return the device nerve computes on: CUDA, then MPS, then CPU, unless set.

    The `NERVE_DEVICE` environment variable or `set_device()` override the choice.
    """
    global _DEVICE
    if _DEVICE is None:
        _DEVICE = _auto_device()
    return _DEVICE


def set_device(device: str | torch.device | None) -> None:
    """Choose the device for new weights and data, e.g. `set_device("cpu")`.

    Args:
        device: a torch device or its name; `None` goes back to automatic choice.

    Example:
        >>> import nerve
        >>> nerve.backend.set_device("cpu")
    """
    global _DEVICE
    _DEVICE = None if device is None else torch.device(device)


def get_uid(prefix: str = "") -> int:
    """Return a counter per prefix: 1 on the first call, 2 on the next, and so on."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def unique_name(prefix: str) -> str:
    """Return `prefix` the first time, then `prefix_1`, `prefix_2`, ... like Keras."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def to_snake_case(name: str) -> str:
    """Turn a class name such as `InputLayer` into `input_layer`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    # Digits do not start a new word, as in Keras: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d.
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def clear_session(free_memory: bool = True) -> None:
    """Reset layer and model name counters, as `keras.backend.clear_session()` does.

    Args:
        free_memory: also release cached accelerator memory (default True).
    """
    _UIDS.clear()
    if free_memory and torch.cuda.is_available():
        torch.cuda.empty_cache()


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy and torch, so a script gives the same History.

    Args:
        seed: a non-negative integer.

    Example:
        >>> import nerve
        >>> nerve.utils.set_random_seed(42)
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer. Received: seed={seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    # In a data-parallel job each process draws its own dropout masks: torch's generators
    # get seed + rank. Python's and numpy's stay equal on every process, so data that a
    # script shuffles or splits with them is the same everywhere (nerve.distribution checks).
    torch.manual_seed(seed + process_rank())
    global _LAST_SEED
    _LAST_SEED = seed


_LAST_SEED: int | None = None


def process_rank() -> int:
    """This process's rank in a data-parallel job (0 when there is none)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def convert_to_tensor(x: Any, dtype: Any = None, device: torch.device | None = None) -> torch.Tensor:
    """Convert numpy arrays, lists, scalars and tensors to a torch tensor on `device`.

    Floating inputs take `floatx()` unless `dtype` is given; integer and boolean
    inputs keep their kind. Nothing is copied when `x` already matches.
    """
    device = device or get_device()
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(
                "Cannot convert data of dtype "
                f"{arr.dtype} to a tensor: nerve needs numbers. Received: an array of "
                f"{arr.dtype} with shape {arr.shape}, e.g. {arr.flat[0]!r}"
                if arr.size
                else f"Cannot convert data of dtype {arr.dtype} to a tensor."
            )
        if arr.dtype.kind == "f" and dtype is None:
            dtype = floatx()
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if dtype is not None:
        t = t.to(dtype=standardize_dtype(dtype))
    elif t.is_floating_point() and t.dtype not in (torch.float16, torch.bfloat16, torch.float64):
        t = t.to(dtype=standardize_dtype(floatx()))
    return t.to(device, non_blocking=True)


def get_value(x: Any) -> Any:
    """Return the value of a variable or tensor as a numpy array (or Python float)."""
    if isinstance(x, Variable):
        return x.numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def set_value(x: "Variable", value: Any) -> None:
    """Assign `value` to the variable `x` (Keras's `backend.set_value`)."""
    x.assign(value)


class Variable:
    """A named weight: a torch tensor plus the Keras attributes users read.

    `layer.weights`, `layer.kernel` and `optimizer.learning_rate` are Variables.
    They convert to numpy (`.numpy()`, `np.asarray(v)`), take `.assign(value)`,
    and work in arithmetic and inside torch functions like the tensor they hold.

    Args:
        initializer: the value (a torch tensor is kept as is, so it can be a
            registered Parameter; arrays and numbers are converted), or an
            initializer name/callable used with `shape`.
        shape: the shape, when `initializer` is an initializer.
        dtype: the dtype (default: the value's, floats as `floatx()`).
        trainable: whether optimizers update it (default True).
        name: the variable's short name, e.g. `"kernel"`.
        path: the full name, e.g. `"sequential/dense/kernel"`.

    Example:
        >>> v = Variable(torch.zeros(2), name="bias")
        >>> v.assign([1.0, 2.0]); v.numpy()
        array([1., 2.], dtype=float32)
    """

    __array_priority__ = 100

    def __init__(
        self,
        initializer: Any = None,
        shape: tuple[int, ...] | None = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
        path: str | None = None,
    ) -> None:
        if isinstance(initializer, torch.Tensor):
            value = initializer  # kept as is, so it can be a registered Parameter
        elif isinstance(initializer, str) or (callable(initializer) and not isinstance(initializer, np.ndarray)):
            from nerve import initializers  # Keras style: Variable("zeros", shape=(3,))

            if shape is None:
                raise ValueError(f"Variable with initializer {initializer!r} needs a shape. Received: shape=None")
            value = initializers.get(initializer)(tuple(shape), dtype=dtype).to(get_device())
        else:
            value = convert_to_tensor(initializer, dtype=dtype)
        self._value = value
        self.aggregation = aggregation  # how a data-parallel job combines the processes' values
        self.name = name or "variable"
        self.path = path or self.name
        self._trainable = trainable

    @property
    def value(self) -> torch.Tensor:
        """The torch tensor behind the variable."""
        return self._value

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        if isinstance(self._value, torch.nn.Parameter):
            self._value.requires_grad_(self._trainable)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        return str(self._value.dtype).replace("torch.", "")

    @property
    def ndim(self) -> int:
        return self._value.dim()

    def numpy(self) -> np.ndarray:
        """Return a copy of the value as a numpy array."""
        return self._value.detach().cpu().numpy().copy()

    def assign(self, value: Any) -> "Variable":
        """Overwrite the value in place; the shape must match."""
        new = value.value if isinstance(value, Variable) else value
        new = convert_to_tensor(new, dtype=self._value.dtype, device=self._value.device)
        if tuple(new.shape) != self.shape and new.numel() != 1:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(new.shape)} to variable '{self.path}' "
                f"of shape {self.shape}. Received: value with shape {tuple(new.shape)}"
            )
        with torch.no_grad():
            self._value.copy_(new.reshape(self._value.shape))
        return self

    def assign_add(self, value: Any) -> "Variable":
        return self.assign(self._value.detach() + convert_to_tensor(value, device=self._value.device))

    def assign_sub(self, value: Any) -> "Variable":
        return self.assign(self._value.detach() - convert_to_tensor(value, device=self._value.device))

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self.numpy()}>"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def __float__(self) -> float:
        return float(self._value.detach())

    def __int__(self) -> int:
        return int(self._value.detach())

    def __len__(self) -> int:
        return len(self._value)

    def __getitem__(self, item: Any) -> torch.Tensor:
        return self._value[item]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __format__(self, spec: str) -> str:
        if self._value.dim() == 0:
            return format(float(self), spec)
        return format(self.numpy(), spec)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN206
        def unwrap(a: Any) -> Any:
            if isinstance(a, Variable):
                return a._value
            if isinstance(a, (list, tuple)):
                return type(a)(unwrap(b) for b in a)
            return a

        return func(*unwrap(args), **{k: unwrap(v) for k, v in (kwargs or {}).items()})

    # Arithmetic goes through the tensor, so `v * 2` or `lr / 10` behave like numbers.
    def _binary(op: str, reflected: bool = False):  # noqa: N805
        def method(self: "Variable", other: Any) -> Any:
            a = self._value.detach() if self._value.dim() else self._value.detach()
            b = other._value if isinstance(other, Variable) else other
            result = getattr(a, op)(b)
            if isinstance(result, torch.Tensor) and result.dim() == 0 and not isinstance(other, torch.Tensor):
                return result.item()
            return result

        return method

    __add__ = _binary("__add__")
    __radd__ = _binary("__radd__")
    __sub__ = _binary("__sub__")
    __rsub__ = _binary("__rsub__")
    __mul__ = _binary("__mul__")
    __rmul__ = _binary("__rmul__")
    __truediv__ = _binary("__truediv__")
    __rtruediv__ = _binary("__rtruediv__")
    __pow__ = _binary("__pow__")
    __rpow__ = _binary("__rpow__")
    __lt__ = _binary("__lt__")
    __le__ = _binary("__le__")
    __gt__ = _binary("__gt__")
    __ge__ = _binary("__ge__")
    __eq__ = _binary("__eq__")  # type: ignore[assignment]
    __ne__ = _binary("__ne__")  # type: ignore[assignment]
    __matmul__ = _binary("__matmul__")
    __rmatmul__ = _binary("__rmatmul__")
    __hash__ = object.__hash__  # type: ignore[assignment]
    del _binary

    def __neg__(self) -> Any:
        return -self._value.detach()


def is_tensor_like(x: Any) -> bool:
    """True for torch tensors, numpy arrays and Variables."""
    return isinstance(x, (torch.Tensor, np.ndarray, Variable))


def flatten(structure: Any) -> list[Any]:
    """Flatten nested lists, tuples and dicts (dicts in key order) into a list of leaves."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(fn: Any, structure: Any) -> Any:
    """Apply `fn` to every leaf of nested lists, tuples and dicts, keeping the nesting."""
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def iter_tensors(structure: Any) -> Iterable[torch.Tensor]:
    """Yield the torch tensors found in nested lists, tuples and dicts."""
    for leaf in flatten(structure):
        if isinstance(leaf, torch.Tensor):
            yield leaf
