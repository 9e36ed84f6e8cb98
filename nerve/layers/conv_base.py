"""What the convolution, pooling and spatial layers share: argument checks, TF's 'same' padding, layout.

Layout: the user's images are channels-last `(N, H, W, C)`, as in Keras. Inside,
`to_nchw` turns them into an NCHW-*logical* view whose memory stays NHWC — torch's
`channels_last` memory format — with no copy; torch's conv/pool kernels keep that
format, and `from_nchw` permutes the result back to a contiguous NHWC tensor, again
with no copy. 1-D layers run as 2-D ones on a unit height `(N, 1, L, C)`, so they use
the same channels-last kernels and also return contiguous `(N, L, C)` tensors.

'same' padding follows TensorFlow/Keras exactly: the total padding of a dimension is
`max((ceil(n / s) - 1) * s + k_eff - n, 0)` and the odd extra pixel goes to the
bottom/right (torch's `padding="same"` is symmetric and only works with stride 1).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from nerve import activations, initializers, regularizers
from nerve.layers.layer import Layer

__all__ = [
    "BaseConv",
    "check_rank",
    "conv_output_length",
    "from_nchw",
    "normalize_choice",
    "normalize_data_format",
    "normalize_tuple",
    "same_padding",
    "spatial_layout",
    "to_nchw",
]

Shape = tuple[int | None, ...]
DATA_FORMATS = ("channels_last", "channels_first")


# ---------------------------------------------------------------- argument checks
def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} layer '{layer.name}'"


def normalize_tuple(layer: Layer, arg: str, value: Any, n: int, allow_zero: bool = False) -> tuple[int, ...]:
    """Turn an int or a sequence of `n` ints into an `n`-tuple; all positive (or >= 0 with `allow_zero`)."""
    items = [value] * n if _is_int(value) else list(value) if isinstance(value, (list, tuple)) else None
    lowest = 0 if allow_zero else 1
    if items is None or len(items) != n or not all(_is_int(v) and int(v) >= lowest for v in items):
        sign = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{_where(layer)}: {arg} must be a {sign} integer or a tuple of {n} {sign} integers. "
            f"Received: {arg}={value!r}"
        )
    return tuple(int(v) for v in items)


def normalize_choice(layer: Layer, arg: str, value: Any, options: Sequence[str]) -> str:
    """Return `value` lower-cased if it is one of `options`, else raise a ValueError listing them."""
    lowered = value.lower() if isinstance(value, str) else value
    if lowered not in options:
        raise ValueError(
            f"{_where(layer)}: {arg} must be one of {list(options)}. Received: {arg}={value!r}"
        )
    return lowered


def normalize_data_format(layer: Layer, value: Any) -> str:
    """None means "channels_last", Keras's default image data format."""
    return normalize_choice(layer, "data_format", value or "channels_last", DATA_FORMATS)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (
        hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0 and str(v.dtype).startswith(("int", "uint")))


# ---------------------------------------------------------------- shapes and padding
def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's 'same' padding of one dimension: (before, after), the extra pixel after."""
    k_eff = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def conv_output_length(size: int | None, kernel: int, padding: str, stride: int, dilation: int = 1) -> int | None:
    """Output length of a convolution or pooling along one dimension (None stays None)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    k_eff = (kernel - 1) * dilation + 1
    return (size - k_eff) // stride + 1 if size >= k_eff else 0


def to_nchw(x: torch.Tensor, data_format: str, rank: int) -> torch.Tensor:
    """A 4-D NCHW-logical view of `x` (no copy); channels-last data keeps its NHWC memory."""
    if data_format == "channels_last":
        return (x.unsqueeze(1) if rank == 1 else x).permute(0, 3, 1, 2)
    return x.unsqueeze(2) if rank == 1 else x


def from_nchw(y: torch.Tensor, data_format: str, rank: int) -> torch.Tensor:
    """Undo `to_nchw` on a result (a view: contiguous when torch kept channels_last)."""
    if data_format == "channels_last":
        y = y.permute(0, 2, 3, 1)
        return y.squeeze(1) if rank == 1 else y
    return y.squeeze(2) if rank == 1 else y


def spatial_layout(rank: int, data_format: str) -> str:
    """E.g. "(batch, height, width, channels)" for error messages and docs."""
    dims = ["steps"] if rank == 1 else ["height", "width"]
    dims = ["channels", *dims] if data_format == "channels_first" else [*dims, "channels"]
    return f"(batch, {', '.join(dims)})"


def check_rank(layer: Layer, input_shape: Shape, rank: int, data_format: str) -> None:
    """Raise a ValueError naming the layer unless the input has `rank` spatial dims + batch + channels."""
    if len(input_shape) != rank + 2:
        hint = " help: add a channels axis, e.g. x[..., None] or a Reshape layer." if (
            len(input_shape) == rank + 1) else ""
        raise ValueError(
            f"Input of {_where(layer)} must have rank {rank + 2} {spatial_layout(rank, data_format)}, "
            f"but received input of rank {len(input_shape)} with shape {tuple(input_shape)}.{hint}"
        )


# ---------------------------------------------------------------- base class
class BaseConv(Layer):
    """Shared parts of the convolution layers: spatial arguments, rank checks, padding, bias, config.

    Subclasses create their kernels in `build` (after calling `_input_channels`),
    compute in `call`, and name their output channels in `_output_channels`.
    """

    rank = 2
    _paddings: tuple[str, ...] = ("valid", "same")

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        bias_initializer: Any = "zeros",
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        n = self.rank
        self.kernel_size = normalize_tuple(self, "kernel_size", kernel_size, n)
        self.strides = normalize_tuple(self, "strides", strides, n)
        self.padding = normalize_choice(self, "padding", padding, self._paddings)
        self.data_format = normalize_data_format(self, data_format)
        self.dilation_rate = normalize_tuple(self, "dilation_rate", dilation_rate, n)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{_where(self)}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)
        self._linear = self.activation is activations.linear
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = bias_constraint
        self.bias = None
        # Torch arguments on the 4-D view (1-D layers get a unit height).
        pad1 = (1,) if n == 1 else ()
        self._k2 = pad1 + self.kernel_size
        self._s2 = pad1 + self.strides
        self._d2 = pad1 + self.dilation_rate
        self._caxis = -1 if self.data_format == "channels_last" else 1

    # ------------------------------------------------------------ shapes
    def _spatial(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:])

    def _input_channels(self, input_shape: Shape) -> int:
        """Check the rank and return the (known) number of input channels."""
        check_rank(self, input_shape, self.rank, self.data_format)
        channels = input_shape[self._caxis]
        if channels is None:
            raise ValueError(
                f"{_where(self)} needs a known number of input channels (axis {self._caxis} with "
                f"data_format='{self.data_format}'). Received: input_shape={tuple(input_shape)}"
            )
        self._check_output_size(input_shape)
        return int(channels)

    def _output_spatial(self, spatial: Shape) -> Shape:
        return tuple(
            conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
        )

    def _check_output_size(self, input_shape: Shape) -> None:
        spatial = self._spatial(input_shape)
        out = self._output_spatial(spatial)
        if any(o is not None and o <= 0 for o in out):
            k_eff = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(
                f"{_where(self)}: with padding='{self.padding}', the kernel {self.kernel_size} "
                + (f"(dilated to {k_eff}) " if k_eff != self.kernel_size else "")
                + f"is larger than the input's spatial size {spatial}, so the output would be empty. "
                f"help: use padding='same', a smaller kernel_size, or larger inputs. "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def _output_channels(self, in_channels: int | None) -> int | None:
        raise NotImplementedError

    def _check_input_shape(self, input_shape: Any) -> None:
        check_rank(self, input_shape, self.rank, self.data_format)
        built = self._build_shape[self._caxis] if self._build_shape is not None else None
        got = input_shape[self._caxis]
        if built is not None and got is not None and got != built:
            raise ValueError(
                f"Input of {_where(self)} is incompatible with the layer: it was built for {built} input "
                f"channels (axis {self._caxis}), received input shape {tuple(input_shape)}."
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_rank(self, input_shape, self.rank, self.data_format)
        self._check_output_size(input_shape)
        spatial = self._output_spatial(self._spatial(input_shape))
        channels = self._output_channels(input_shape[self._caxis])
        if self.data_format == "channels_last":
            return (input_shape[0], *spatial, channels)
        return (input_shape[0], channels, *spatial)

    # ------------------------------------------------------------ call helpers
    def _prepare(self, inputs: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Check the rank, return the NCHW view (padded if needed) and the symmetric torch padding."""
        if inputs.dim() != self.rank + 2:
            check_rank(self, tuple(inputs.shape), self.rank, self.data_format)
        x = to_nchw(inputs, self.data_format, self.rank)
        if self.padding == "valid":
            return x, (0, 0)
        if self.padding == "causal":
            return F.pad(x, ((self._k2[1] - 1) * self._d2[1], 0)), (0, 0)
        (top, bottom), (left, right) = (
            same_padding(n, k, s, d) for n, k, s, d in zip(x.shape[2:], self._k2, self._s2, self._d2)
        )
        if top == bottom and left == right:
            return x, (top, left)
        return F.pad(x, (left, right, top, bottom)), (0, 0)

    def _finish(self, y: torch.Tensor) -> torch.Tensor:
        y = from_nchw(y, self.data_format, self.rank)
        return y if self._linear else self.activation(y)

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(size,), initializer=self.bias_initializer, name="bias",
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            # As Dense: nerve has no constraints module yet, so constraints are not serialized.
            "bias_constraint": None,
        }
