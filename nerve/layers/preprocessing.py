"""Preprocessing layers that live inside the model: Rescaling and Normalization (with `adapt`)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

from nerve import backend
from nerve.layers.layer import Layer

__all__ = ["Normalization", "Rescaling"]

Shape = tuple[int | None, ...]


def _plain(value: Any) -> Any:
    """A float, or a nested list for arrays, so configs stay JSON-friendly; Keras's numpy configs are read too."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = value.get("config", {}).get("value")
    if isinstance(value, (torch.Tensor, backend.Variable)):
        value = backend.get_value(value)
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


class Rescaling(Layer):
    """Rescale inputs: `output = inputs * scale + offset` (e.g. pixels from [0, 255] to [0, 1]).

    Args:
        scale: a float, or an array broadcast against the inputs (e.g. per channel).
        offset: a float or an array, added after scaling (default 0.0).

    Input shape: any; integer inputs (e.g. uint8 images) are converted to the
    layer's float dtype. Output shape: same as the input.

    Example:
        >>> Rescaling(1 / 255)(torch.tensor([[0.0, 255.0]]))
        tensor([[0., 1.]])
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.scale = _plain(scale)
            self.offset = _plain(offset)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"Rescaling layer '{self.name}': scale and offset must be numbers or numeric arrays. "
                f"Received: scale={scale!r}, offset={offset!r}"
            ) from err
        self._cache: dict[Any, torch.Tensor] = {}

    def _constant(self, value: Any, like: torch.Tensor) -> Any:
        if isinstance(value, float):
            return value
        key = (id(value), like.device, like.dtype)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != id(value)}
            self._cache[key] = torch.as_tensor(value, dtype=like.dtype, device=like.device)
        return self._cache[key]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if inputs.dtype == self._dtype else inputs.to(self._dtype)
        out = x * self._constant(self.scale, x)
        if self.offset != 0.0:
            out = out + self._constant(self.offset, x)
        return out

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """Standardize features: `(inputs - mean) / sqrt(variance)`, with statistics from `adapt()`.

    Call `layer.adapt(data)` on training data before using the layer, or pass
    `mean` and `variance`. `adapt` computes a mean and a (biased) variance for
    each position on `axis`, over every other axis. The adapted statistics are
    non-trainable weights (`mean`, `variance`, and `count`, the number of values
    averaged), so they are saved with the model. Using the layer before adapting
    it raises an error (Keras would silently use mean 0 and variance 1).

    Args:
        axis: int, tuple of ints or None: the axes that keep their own statistics
            (default -1: one mean per feature of the last axis; None: one scalar mean).
        mean, variance: fixed statistics (scalars or arrays broadcast to the kept
            axes); give both or neither.
        invert: apply the inverse transform `mean + inputs * sqrt(variance)`
            (default False).

    Input shape: any. Output shape: same as the input.

    Example:
        >>> norm = Normalization()
        >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> norm(np.array([[1.0, 20.0]]))
        tensor([[0., 0.]])
    """

    def __init__(self, axis: int | tuple[int, ...] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
            axis = tuple(axis)
        else:
            raise TypeError(f"Normalization layer '{self.name}': axis must be an int, a tuple of ints or None. "
                            f"Received: axis={axis!r}")
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization layer '{self.name}': give both mean and variance, or neither (and call adapt()). "
                f"Received: mean={mean!r}, variance={variance!r}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization layer '{self.name}': mean and variance must have the same shape. "
                    f"Received: mean of shape {np.shape(mean)}, variance of shape {np.shape(variance)}"
                )
            if np.ndim(mean) > len(axis):
                raise ValueError(
                    f"Normalization layer '{self.name}': mean has rank {np.ndim(mean)}, more than the {len(axis)} "
                    f"kept axes {axis}. Received: mean of shape {np.shape(mean)}"
                )
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self._adapted = mean is not None
        self._stats_key: Any = None
        self._stats: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------ building
    def build(self, input_shape: Shape) -> None:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(
                f"Normalization layer '{self.name}': axis {self.axis} is out of range for inputs of rank {ndim} "
                f"(shape {tuple(input_shape)}); use axes in [{-ndim}, {ndim})."
            )
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        unknown = [d for d in self._keep if input_shape[d] is None]
        if unknown:
            raise ValueError(
                f"Normalization layer '{self.name}' keeps statistics on axes {self.axis}, so their sizes must be "
                f"known. Received: input_shape={tuple(input_shape)} (unknown at axes {unknown})"
            )
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = [input_shape[d] if d in self._keep else 1 for d in range(ndim)]
        stats_shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros", name="mean", trainable=False)
            self.adapt_variance = self.add_weight(
                shape=stats_shape, initializer="ones", name="variance", trainable=False
            )
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", name="count",
                                         trainable=False)
        else:
            mean = self._broadcast_given(self.input_mean)
            std = np.maximum(np.sqrt(self._broadcast_given(self.input_variance)), backend.epsilon())
            self.register_buffer("_given_mean", torch.as_tensor(mean, dtype=self._dtype), persistent=False)
            self.register_buffer("_given_std", torch.as_tensor(std, dtype=self._dtype), persistent=False)
        self.built = True

    def _broadcast_given(self, value: Any) -> np.ndarray:
        """Place given statistics on the kept axes, aligned from the right (Keras's rule)."""
        arr = np.asarray(value, dtype=np.float64)
        shape = [1] * len(self._broadcast)
        for i in range(1, arr.ndim + 1):
            shape[self._keep[-i]] = arr.shape[-i]
        return np.broadcast_to(arr.reshape(shape), self._broadcast).copy()

    def _check_input_shape(self, input_shape: Any) -> None:
        for d in self._keep:
            if len(input_shape) != len(self._broadcast) or input_shape[d] not in (None, self._broadcast[d]):
                raise ValueError(
                    f"Input of layer '{self.name}' (Normalization) is incompatible with the layer: it keeps "
                    f"statistics of shape {tuple(self._broadcast)} (axis={self.axis}), and received input of "
                    f"shape {tuple(input_shape)}."
                )

    # ------------------------------------------------------------ adapt
    def adapt(self, data: Any) -> None:
        """Compute the mean and variance of `data` and store them in the layer.

        Args:
            data: a numpy array, a tensor, or an iterable of batches (a list of
                arrays, a generator; `(x, y)` batches use `x`). Statistics are
                exact over all the data, however it is batched.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer '{self.name}' was created with fixed mean and variance; adapt() cannot "
                "change them. Create Normalization() without mean and variance to adapt it."
            )
        if isinstance(data, backend.Variable):
            data = data.value
        if isinstance(data, (np.ndarray, torch.Tensor)) or _is_nested_numbers(data):
            batches: Iterable[Any] = [data]
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            batches = data
        else:
            raise TypeError(
                f"Normalization.adapt() takes a numpy array, a tensor or an iterable of batches. "
                f"Received: data of type {type(data).__name__}"
            )
        count, mean, m2 = 0, None, None
        for batch in batches:
            x = _as_array(batch[0] if isinstance(batch, tuple) else batch)
            self._adapt_shape(x.shape)
            n = int(np.prod([x.shape[d] for d in self._reduce], dtype=np.int64))
            if n == 0:
                continue
            # Accumulate in float64 without copying the whole batch to float64 first.
            if self._reduce:
                b_mean = x.mean(axis=self._reduce, dtype=np.float64)
                b_var = x.var(axis=self._reduce, dtype=np.float64)
            else:
                b_mean, b_var = x.astype(np.float64), np.zeros(x.shape)
            if mean is None:
                count, mean, m2 = n, b_mean, b_var * n
                continue
            # Chan et al.'s exact merge of two sets of moments.
            total = count + n
            delta = b_mean - mean
            mean = mean + delta * (n / total)
            m2 = m2 + b_var * n + delta**2 * (count * n / total)
            count = total
        if mean is None:
            raise ValueError(f"Normalization layer '{self.name}': adapt() received no data (no batch, or empty "
                             "batches). Pass the training features, e.g. layer.adapt(x_train).")
        self.adapt_mean.assign(np.asarray(mean, dtype=np.float32))
        self.adapt_variance.assign(np.asarray(m2 / count, dtype=np.float32))
        self.count.assign(min(count, np.iinfo(np.int32).max))
        self._adapted = True

    def _adapt_shape(self, shape: tuple[int, ...]) -> None:
        if not self.built:
            self._maybe_build(tuple(shape))
            self._build_shape = tuple(d if i in self._keep else None for i, d in enumerate(shape))
            return
        if len(shape) != len(self._broadcast) or any(shape[d] != self._broadcast[d] for d in self._keep):
            raise ValueError(
                f"Normalization layer '{self.name}' was built for inputs of shape {self._build_shape} "
                f"(statistics of shape {tuple(self._broadcast)}), but adapt() received a batch of shape "
                f"{tuple(shape)}."
            )

    # ------------------------------------------------------------ call
    def _mean_std(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.input_mean is not None:
            return self._given_mean, self._given_std
        mean_w, var_w = self.adapt_mean.value, self.adapt_variance.value
        key = (mean_w._version, var_w._version, mean_w.device)
        if key != self._stats_key or self._stats is None:
            if not self._adapted:
                self._require_adapted()
            mean = mean_w.detach().reshape(self._broadcast).to(self._dtype)
            std = var_w.detach().sqrt().clamp_min(backend.epsilon()).reshape(self._broadcast).to(self._dtype)
            self._stats, self._stats_key = (mean, std), key
        return self._stats

    def _require_adapted(self) -> None:
        # Weights loaded from a file or set by set_weights count as adapted (one check).
        with torch.no_grad():
            loaded = bool(self.count.value > 0) or bool((self.adapt_mean.value != 0).any()) or bool(
                (self.adapt_variance.value != 1).any())
        if not loaded:
            raise ValueError(
                f"Normalization layer '{self.name}' has no statistics yet: call layer.adapt(data) with your "
                "training features before using it, or create it with mean= and variance=."
            )
        self._adapted = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if inputs.dtype == self._dtype else inputs.to(self._dtype)
        mean, std = self._mean_std(x)
        if self.invert:
            return x * std + mean
        return (x - mean) / std

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": None if self.input_mean is None else _plain(self.input_mean),
            "variance": None if self.input_variance is None else _plain(self.input_variance),
        }


def _is_nested_numbers(data: Any) -> bool:
    """True for a list of numbers or of lists of numbers (one array, not a list of batches)."""
    if not isinstance(data, (list, tuple)) or not data:
        return False
    first = data[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, (int, float, np.number)) and not isinstance(first, bool)


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, backend.Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"Normalization.adapt() needs numeric data. Received: an array of dtype {arr.dtype}")
    return arr
