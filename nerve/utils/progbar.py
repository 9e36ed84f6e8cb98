"""Keras-style console progress bar.

This module depends on the standard library only, so it can be imported and
tested without torch.  Values handed to :class:`Progbar` (Python numbers,
numpy scalars, 0-d torch tensors, ...) are kept as they are and turned into
Python floats only when a line is actually printed, so a training loop that
passes device tensors pays for a host/device sync only at display time.

Display modes for ``verbose=1``:

* dynamic (a terminal, a Jupyter kernel, PyCharm's console): the line is
  redrawn in place with ``\\r`` and coloured with ANSI codes, byte for byte
  like Keras 3.
* plain (stdout is a pipe or a file, e.g. CI logs): nothing is written while
  the bar runs; the finished line is written once, without ANSI codes.

Set ``NERVE_PROGRESS=tty`` or ``NERVE_PROGRESS=plain`` to force a mode.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Tuple, Union

__all__ = ["Progbar"]

# Clock used for every time measurement; tests may replace it.
_clock: Callable[[], float] = time.monotonic

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_WHITE = "\x1b[37m"
_RESET = "\x1b[0m"
_BAR_CHAR = "\u2501"  # heavy horizontal line, as drawn by Keras 3
_BAR_CHAR_FALLBACK = "="

# Stateless (averaged) values are kept unconverted until display; after this
# many pending entries they are folded into a float sum to bound memory.
_MAX_PENDING = 1024

Values = Union[Sequence[Tuple[str, Any]], Mapping[str, Any], None]


def _env_mode() -> Optional[bool]:
    """Return True/False when NERVE_PROGRESS forces tty/plain, else None."""
    mode = os.environ.get("NERVE_PROGRESS", "").strip().lower()
    if mode in ("tty", "dynamic", "1", "true"):
        return True
    if mode in ("plain", "0", "false"):
        return False
    return None


def _stdout_is_dynamic() -> bool:
    """Decide whether sys.stdout can redraw a line in place."""
    forced = _env_mode()
    if forced is not None:
        return forced
    if "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ:
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # closed or detached stream
        return False


def _as_float(value: Any) -> float:
    """Convert a scalar-like value (float, numpy scalar, tensor) to float."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        # Multi-element arrays/tensors: Keras shows their mean.
        mean = getattr(value, "mean", None)
        if mean is not None:
            return float(mean())
        import numpy as np  # only needed for plain Python sequences

        return float(np.mean(value))


def _format_number(value: float, use_abs: bool = True) -> str:
    """Format a metric value with Keras's rule: 4 decimals, else scientific."""
    big = abs(value) > 1e-3 if use_abs else value > 1e-3
    return f"{value:.4f}" if big else f"{value:.4e}"


def _format_step_time(seconds: float, unit_name: str) -> str:
    """Format the time per unit as `Ns/unit`, `Nms/unit` or `Nus/unit`."""
    if seconds == 0 or seconds >= 1:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(eta: float) -> str:
    """Format a remaining time as `Ns`, `M:SS` or `H:MM:SS` (truncated)."""
    whole = int(eta)
    if eta > 3600:
        hours, rest = divmod(whole, 3600)
        return "%d:%02d:%02d" % (hours, rest // 60, rest % 60)
    if eta > 60:
        return "%d:%02d" % (whole // 60, whole % 60)
    return "%ds" % whole


class _Line:
    """Builds a styled line and its plain twin side by side."""

    __slots__ = ("styled", "plain")

    def __init__(self) -> None:
        self.styled: list[str] = []
        self.plain: list[str] = []

    def add(self, text: str, style: Optional[str] = None) -> None:
        self.plain.append(text)
        self.styled.append(text if style is None else f"{style}{text}{_RESET}")

    def texts(self) -> Tuple[str, str]:
        return "".join(self.styled), "".join(self.plain)


class _Metric:
    """Weighted mean of recorded values, converted to float only on demand."""

    __slots__ = ("total", "weight", "pending")

    def __init__(self) -> None:
        self.total: Optional[float] = None
        self.weight = 0
        self.pending: list[Tuple[Any, int]] = []

    def set(self, value: Any) -> None:
        """Forget the history and show ``value`` as given."""
        self.total, self.weight, self.pending = None, 1, [(value, 1)]

    def accumulate(self, value: Any, weight: int) -> None:
        """Add ``value`` with ``weight`` to the running mean."""
        self.pending.append((value, weight))
        self.weight += weight
        if len(self.pending) > _MAX_PENDING:
            self._fold()

    def _fold(self) -> None:
        for value, weight in self.pending:
            part = _as_float(value) * weight
            self.total = part if self.total is None else self.total + part
        self.pending = []

    def value(self) -> float:
        """Return the mean as a float (this is where conversion happens)."""
        self._fold()
        return (self.total or 0.0) / max(1, self.weight)


class Progbar:
    """Displays a progress bar that looks like Keras 3's ``keras.utils.Progbar``.

    Args:
        target: Total number of steps expected, or ``None`` if unknown.
            Default: required.
        width: Width of the bar in characters. Default: ``20``.
        verbose: ``0`` silent, ``1`` live bar, ``2`` one line when finished.
            Default: ``1``.
        interval: Minimum number of seconds between two redraws (the final
            update is always drawn). Default: ``0.05``.
        stateful_metrics: Names whose values are shown as given instead of
            being averaged over steps. Default: ``None`` (average all).
        unit_name: Name of one step in the time-per-step field.
            Default: ``"step"``.
        stateless_metrics: Alternative to ``stateful_metrics``: only these
            names are averaged, every other name is shown as given. Default:
            ``None``. Passing both raises ``ValueError``.

    Example:
        >>> bar = Progbar(3, verbose=2)
        >>> for step in range(1, 4):
        ...     bar.update(step, [("loss", 0.25)])  # doctest: +SKIP
        3/3 - 0s - 20us/step - loss: 0.2500
    """

    def __init__(
        self,
        target: Optional[int],
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Optional[Iterable[str]] = None,
        unit_name: str = "step",
        stateless_metrics: Optional[Iterable[str]] = None,
    ) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar accepts `stateful_metrics` or `stateless_metrics`, "
                "not both: the first lists names shown as given, the second "
                "lists names to average."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = (
            None if stateless_metrics is None else set(stateless_metrics)
        )
        self.dynamic = _stdout_is_dynamic()

        self._metrics: dict[str, _Metric] = {}  # insertion order = display
        self._seen_so_far = 0
        self._start = _clock()
        self._last_draw: Optional[float] = None
        self._first_step_end: Optional[float] = None
        self._prev_width = 0

    # ------------------------------------------------------------------ API
    def update(
        self,
        current: int,
        values: Values = None,
        finalize: Optional[bool] = None,
    ) -> None:
        """Moves the bar to step ``current`` and records ``values``.

        Args:
            current: Index of the current step (1-based count of steps done).
            values: ``(name, value)`` pairs (or a mapping) for this step.
                Default: ``None``.
            finalize: Whether this is the last update. Default: ``None``,
                meaning ``current >= target`` (never when ``target`` is None).

        Example:
            >>> bar = Progbar(10, verbose=0)
            >>> bar.update(5, [("loss", 0.1)])
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or (), finalize)
        self._seen_so_far = current

        now = _clock()
        step_time = self._step_time(current, now)

        if self.verbose == 1:
            if self.dynamic:
                if (
                    not finalize
                    and self._last_draw is not None
                    and now - self._last_draw < self.interval
                ):
                    return
                self._draw_dynamic(current, now, step_time, finalize)
            elif finalize:
                _styled, plain = self._live_line(current, now, step_time, finalize)
                self._write(plain + "\n")
        elif self.verbose == 2:
            if finalize and self._known_target():
                self._write(self._summary_line(current, now, step_time) + "\n")
        self._last_draw = now

    def add(self, n: int, values: Values = None) -> None:
        """Advances the bar by ``n`` steps; see :meth:`update` for ``values``.

        Args:
            n: Number of steps to add to the current position.
            values: ``(name, value)`` pairs for these steps. Default: ``None``.

        Example:
            >>> bar = Progbar(10, verbose=0)
            >>> bar.add(2, [("loss", 0.1)])
        """
        self.update(self._seen_so_far + n, values)

    # ------------------------------------------------------------ internals
    def _averaged(self, name: str) -> bool:
        if self.stateless_metrics is not None:
            return name in self.stateless_metrics
        return name not in self.stateful_metrics

    def _record(self, current: int, values: Values, finalize: bool) -> None:
        items = values.items() if isinstance(values, Mapping) else values
        for name, value in items:
            metric = self._metrics.get(name)
            if metric is None:
                metric = self._metrics[name] = _Metric()
            if finalize or not self._averaged(name):
                # Keras shows the value given with the final update as-is.
                metric.set(value)
            else:
                metric.accumulate(value, max(current - self._seen_so_far, 1))

    def _step_time(self, current: int, now: float) -> float:
        """Seconds per step, ignoring the (usually slow) first step."""
        if not current:
            return 0.0
        if current > 1 and self._first_step_end is not None:
            per_step = (now - self._first_step_end) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._first_step_end = now
        return per_step

    def _known_target(self) -> bool:
        return self.target is not None and self.target > 0

    def _counter(self, current: int) -> str:
        digits = len(str(int(self.target)))
        return "%*d/%d" % (digits, current, self.target)

    def _live_line(
        self, current: int, now: float, step_time: float, finalize: bool
    ) -> Tuple[str, str]:
        """Return the verbose=1 line as (ANSI-styled, plain) strings."""
        line = _Line()
        if self._known_target():
            line.add(self._counter(current), _BOLD)
            line.add(" ")
            filled = int(self.width * (float(current) / self.target))
            if filled > 0:
                line.add(_BAR_CHAR * filled, _GREEN)
            line.add(_BAR_CHAR * (self.width - filled), _WHITE)
        else:
            line.add("%7d/Unknown" % current)
        line.add(" ")
        if self._known_target() and not finalize:
            line.add(_format_eta(step_time * (self.target - current)), _BOLD)
        else:
            line.add(f"{now - self._start:.0f}s", _BOLD)
        line.add(" " + _format_step_time(step_time, self.unit_name))
        for name, metric in self._metrics.items():
            line.add(f" - {name}: {_format_number(metric.value())}")
        return line.texts()

    def _summary_line(self, current: int, now: float, step_time: float) -> str:
        """Return the verbose=2 line (no ANSI codes, no line break)."""
        parts = [
            self._counter(current),
            f"{now - self._start:.0f}s",
            _format_step_time(step_time, self.unit_name),
        ]
        text = " - ".join(parts)
        for name, metric in self._metrics.items():
            # Keras's verbose=2 line compares the signed value, not abs().
            text += f" - {name}: {_format_number(metric.value(), use_abs=False)}"
        return text

    def _draw_dynamic(
        self, current: int, now: float, step_time: float, finalize: bool
    ) -> None:
        styled, plain = self._live_line(current, now, step_time, finalize)
        width = len(plain)
        message = "\b" * self._prev_width + "\r" + styled
        if self._prev_width > width:
            message += " " * (self._prev_width - width)
        if finalize:
            message += "\n"
        self._write(message)
        self._prev_width = width

    @staticmethod
    def _write(message: str) -> None:
        stream = sys.stdout
        try:
            stream.write(message)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "utf-8"
            message = message.replace(_BAR_CHAR, _BAR_CHAR_FALLBACK)
            stream.write(message.encode(encoding, "replace").decode(encoding))
        stream.flush()
