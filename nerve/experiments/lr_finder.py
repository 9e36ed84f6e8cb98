"""A learning-rate range test: train briefly with an exponentially rising learning rate, read the loss curve.

Leslie Smith's idea, popularised by fastai's `lr_find`: the loss stays flat
while the learning rate is too small to matter, falls once it is large enough,
and blows up when it is too large. A good learning rate sits on the falling
part, well before the bottom. `find_lr` runs that test on a compiled model with
the trainer's own training step, then puts the weights, the optimizer state
and the random number generators back as they were, so the next `fit` starts
exactly where it would have started without the test.

    >>> result = nerve.experiments.find_lr(model, x_train, y_train)
    >>> result                       # LRFinderResult(steps=..., suggestion=...)
    >>> model.optimizer.learning_rate = result.suggestion
    >>> result.plot(path="lr_find.png")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nerve.training import data_adapter

__all__ = ["LRFinderResult", "centered_losses", "find_lr", "minimum_lr", "steepest_lr", "useful_range", "valley_lr"]


# ---------------------------------------------------------------------- suggestion rules (pure functions)
def _finite_prefix(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points before the first NaN/inf loss (a diverged run ends with one)."""
    bad = np.flatnonzero(~np.isfinite(losses))
    end = int(bad[0]) if bad.size else len(losses)
    return lrs[:end], losses[:end]


def _half_window(n: int) -> int:
    return max(1, n // 20)


def centered_losses(raw_losses: Any) -> np.ndarray:
    """A smoothing of the raw losses without lag: each point is the median of itself and its ±h neighbours.

    h = max(1, n // 20) (±5 of 100 steps); windows shrink at the ends. The
    median ignores single spikes. Computed up to the first NaN/inf loss,
    NaN from there on.
    """
    raw = np.asarray(raw_losses, dtype=float)
    _, finite = _finite_prefix(raw, raw)
    out = np.full(raw.shape, np.nan)
    h = _half_window(len(raw))
    for i in range(len(finite)):
        out[i] = np.median(finite[max(0, i - h):i + h + 1])
    return out


def useful_range(lrs: Any, raw_losses: Any) -> tuple[np.ndarray, np.ndarray]:
    """The learning rates and centred losses up to where the loss climbs back (too large from there on).

    The range ends before the first point where `centered_losses` exceeds both
    its starting level and its lowest level so far plus 3 × the noise (the
    raw losses' robust spread around the centred curve), or at the first
    NaN/inf loss. What happens past that point (a loss that falls again after
    blowing up) says nothing about good learning rates.
    """
    lrs = np.asarray(lrs, dtype=float)
    raw = np.asarray(raw_losses, dtype=float)
    curve = centered_losses(raw)
    lrs, curve = _finite_prefix(lrs[:len(curve)], curve)
    if not curve.size:
        return lrs, curve
    noise = 1.4826 * float(np.median(np.abs(raw[:len(curve)] - curve)))
    lowest = np.minimum.accumulate(curve)
    over = np.flatnonzero(curve > np.maximum(curve[0], lowest + 3.0 * noise))
    end = int(over[0]) if over.size else len(curve)
    return lrs[:end], curve[:end]


def minimum_lr(lrs: Any, raw_losses: Any) -> float | None:
    """The learning rate of the lowest (centred) loss in the useful range, divided by 10.

    The bottom of the curve is already too fast to train stably; a tenth of it
    is a safe, conservative choice. None without a finite loss.
    """
    lrs, curve = useful_range(lrs, raw_losses)
    if not curve.size:
        return None
    return float(lrs[int(np.argmin(curve))] / 10.0)


def steepest_lr(lrs: Any, raw_losses: Any) -> float | None:
    """The learning rate where the (centred) loss falls fastest per decade of learning rate.

    Searched in the useful range up to the lowest loss. The slope
    d(loss)/d(log10 lr) is measured by central differences over ±max(1, n // 20)
    points (n steps in all), so one noisy batch cannot win. None when the loss never falls or
    fewer than 3 points lead to the lowest loss.
    """
    h = _half_window(len(np.asarray(raw_losses)))
    lrs, curve = useful_range(lrs, raw_losses)
    n = len(curve)
    bottom = int(np.argmin(curve)) if n else 0
    if bottom < 2:
        return None
    logs = np.log10(lrs)
    best_slope, best_i = 0.0, None
    for i in range(bottom + 1):
        lo, hi = max(0, i - h), min(n - 1, i + h)
        slope = (curve[hi] - curve[lo]) / (logs[hi] - logs[lo])
        if slope < best_slope:
            best_slope, best_i = slope, i
    return None if best_i is None else float(lrs[best_i])


def valley_lr(lrs: Any, raw_losses: Any) -> float | None:
    """The learning rate at which the (centred) loss is halfway down its fall to its lowest point.

    The fall runs from the highest loss before the bottom to the bottom, in
    the useful range. For a smooth curve this is near `steepest_lr`, but it
    compares levels rather than slopes, so noise moves it less. None when the
    loss never falls.
    """
    lrs, curve = useful_range(lrs, raw_losses)
    bottom = int(np.argmin(curve)) if curve.size else 0
    if bottom < 2:
        return None
    top = int(np.argmax(curve[:bottom + 1]))
    high, low = curve[top], curve[bottom]
    if not high > low:
        return None
    halfway = (high + low) / 2.0
    return float(lrs[top + int(np.argmax(curve[top:bottom + 1] <= halfway))])


@dataclass(frozen=True, repr=False, eq=False)
class LRFinderResult:
    """The outcome of `find_lr`: one point per training step taken.

    Attributes:
        lrs: the learning rate of each step (float64 array, rising geometrically).
        losses: the exponentially smoothed, bias-corrected training loss after
            each step: the running average that decides when to stop.
        raw_losses: the loss of each step's batch, unsmoothed.
        diverged: whether the test stopped early because the smoothed loss
            exceeded `diverge_factor` times its minimum or became NaN.
        centered_losses: the raw losses smoothed without lag (a centred running median).

    Suggestions (learning rates, or None when the curve does not allow one)
    are read from `centered_losses`, not from `losses`: a running average
    lags behind, it averages the last ~1/(1 - smoothing) steps (50 with 0.98,
    four decades of learning rate in a 100-step test), so its fall shows at
    learning rates several times too large. They only look at the useful
    range (`useful_range`): up to where the centred loss climbs back above its
    starting level, what comes after says nothing about good learning rates.

        suggestion: `steepest`, or `minimum` when there is no steepest point.
        steepest: where the loss falls fastest per decade of learning rate, before its lowest point.
        minimum: the learning rate of the lowest loss, divided by 10 (more conservative).
        valley: where the loss is halfway down its fall to the lowest point.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    diverged: bool = False

    @property
    def centered_losses(self) -> np.ndarray:
        return centered_losses(self.raw_losses)

    @property
    def steepest(self) -> float | None:
        return steepest_lr(self.lrs, self.raw_losses)

    @property
    def minimum(self) -> float | None:
        return minimum_lr(self.lrs, self.raw_losses)

    @property
    def valley(self) -> float | None:
        return valley_lr(self.lrs, self.raw_losses)

    @property
    def suggestion(self) -> float | None:
        """The learning rate to try: `steepest`, falling back to `minimum`."""
        steepest = self.steepest
        return steepest if steepest is not None else self.minimum

    def plot(self, **kwargs: Any) -> Any:
        """Draw the loss against the learning rate (log scale), suggestion marked.

        Keyword arguments go to `nerve.experiments.plot_lr_finder` (`ax=`,
        `path=`, `dpi=`). Needs matplotlib. Returns the matplotlib Figure.
        """
        from nerve.experiments.plots import plot_lr_finder

        return plot_lr_finder(self, **kwargs)

    def __len__(self) -> int:
        return len(self.lrs)

    def __repr__(self) -> str:
        def fmt(v: float | None) -> str:
            return "None" if v is None else f"{v:.2e}"

        if not len(self.lrs):
            return "LRFinderResult(steps=0)"
        return (
            f"LRFinderResult(steps={len(self.lrs)}, lr={self.lrs[0]:.1e}..{self.lrs[-1]:.1e}, "
            f"suggestion={fmt(self.suggestion)}, steepest={fmt(self.steepest)}, "
            f"minimum={fmt(self.minimum)}, valley={fmt(self.valley)}, diverged={self.diverged})"
        )


# ---------------------------------------------------------------------- the test
def _check_args(model: Any, start_lr: float, end_lr: float, num_steps: int, smoothing: float,
                diverge_factor: float) -> None:
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise RuntimeError(
            "find_lr needs a compiled model: call model.compile(optimizer=..., loss=...) first, e.g. "
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')."
        )
    if not (isinstance(start_lr, (int, float)) and isinstance(end_lr, (int, float))
            and math.isfinite(start_lr) and math.isfinite(end_lr) and 0 < start_lr < end_lr):
        raise ValueError(
            "find_lr needs 0 < start_lr < end_lr (finite numbers), e.g. start_lr=1e-7, end_lr=10. "
            f"Received: start_lr={start_lr!r}, end_lr={end_lr!r}"
        )
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2. Received: num_steps={num_steps!r}")
    if not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), e.g. 0.98. Received: smoothing={smoothing!r}")
    if not isinstance(diverge_factor, (int, float)) or not diverge_factor > 1:
        raise ValueError(f"diverge_factor must be a number > 1, e.g. 4. Received: diverge_factor={diverge_factor!r}")


class _Snapshot:
    """Everything a few training steps change: weights, optimizer state, learning rate, random generators."""

    def __init__(self, model: Any, device: torch.device) -> None:
        optimizer = model.optimizer
        self.weights = [(v.value, v.value.detach().clone()) for v in model.weights]
        self.optimizer_state = optimizer.state_dict()
        self.schedule = optimizer._lr_schedule  # restored as the schedule object itself
        self.device = device
        self.cpu_rng = torch.get_rng_state()
        self.device_rng = None
        if device.type == "cuda":
            self.device_rng = torch.cuda.get_rng_state(device)
        elif device.type == "mps":
            self.device_rng = torch.mps.get_rng_state()
        # Layers with their own seeded generator (Dropout(seed=...), noise, augmentation).
        self.generators = []
        for module in model.modules():
            if "_generator" not in vars(module):
                continue
            gen = vars(module)["_generator"]
            if gen is None or isinstance(gen, torch.Generator):
                self.generators.append((module, gen, None if gen is None else gen.get_state()))

    def restore_learning_rate(self, optimizer: Any) -> None:
        if self.schedule is not None:
            optimizer.learning_rate = self.schedule
        else:
            optimizer.learning_rate = float(self.optimizer_state["learning_rate"])

    @torch.no_grad()
    def restore(self, model: Any) -> None:
        for live, saved in self.weights:
            live.copy_(saved)
        self.restore_learning_rate(model.optimizer)
        model.optimizer.load_state_dict(self.optimizer_state)
        torch.set_rng_state(self.cpu_rng)
        if self.device_rng is not None:
            if self.device.type == "cuda":
                torch.cuda.set_rng_state(self.device_rng, self.device)
            else:
                torch.mps.set_rng_state(self.device_rng)
        for module, gen, state in self.generators:
            if gen is None:
                module._generator = None
            else:
                gen.set_state(state)


def find_lr(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    restore: bool = True,
    verbose: int = 0,
) -> LRFinderResult:
    """Run a learning-rate range test on a compiled model and suggest a learning rate.

    Takes up to `num_steps` training steps on shuffled batches (cycling over
    the data as often as needed), with the learning rate rising geometrically
    from `start_lr` (first step) to `end_lr` (last step), and records the
    training loss of each step. The loss is smoothed with a bias-corrected
    exponential moving average; the test stops early once the smoothed loss
    exceeds `diverge_factor` times its minimum or becomes NaN. Each step is the
    trainer's own (`fit`'s step: same loss, regularization and optimizer).

    A learning-rate schedule on the optimizer is replaced by the test's rates
    during the test and put back afterwards.

    Args:
        model: a compiled model (`model.compile(optimizer=..., loss=...)`).
        x, y: training data as in `fit` (arrays, or `x` an iterable of `(x, y)` batches).
        start_lr: the first learning rate, > 0 (default 1e-7).
        end_lr: the learning rate of the last step, > start_lr (default 10.0).
        num_steps: the most steps to take, >= 2 (default 100).
        batch_size: samples per step for array data (default 32).
        smoothing: the moving average's factor in [0, 1) (default 0.98; 0 = no smoothing).
        diverge_factor: stop when the smoothed loss exceeds this times its minimum (default 4.0).
        restore: put the weights, the optimizer state (slots, iterations),
            and the random generators back afterwards (default True). With
            False the trained weights and slots stay; the learning rate (or
            schedule) is restored either way.
        verbose: 1 prints a one-line summary (default 0).

    Returns:
        An `LRFinderResult` with `lrs`, `losses`, `raw_losses`, `suggestion`
        (where the lag-free smoothed loss falls fastest), `minimum`, `valley` and `plot()`.

    Example:
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> result = nerve.experiments.find_lr(model, x_train, y_train)
        >>> model.optimizer.learning_rate = result.suggestion
        >>> model.fit(x_train, y_train, epochs=10)
    """
    _check_args(model, start_lr, end_lr, num_steps, smoothing, diverge_factor)
    device = model._device()
    data = data_adapter.adapt(x, y, batch_size=batch_size, shuffle=True, device=device)
    if isinstance(data, data_adapter.ArrayData) and data.y is None:
        raise ValueError("find_lr needs targets: pass y, or x as an iterable of (x, y) batches. Received: y=None")
    model._prepare(data, "fit")
    model._collect_regularizers()
    if not model.trainable_weights:
        raise ValueError(f"Model '{model.name}' has no trainable weights, so no learning rate changes anything.")
    model._prepare_optimizer()  # builds the optimizer's slots as fit would, before the snapshot

    optimizer = model.optimizer
    tracker = model._compiled_loss.total_tracker
    snapshot = _Snapshot(model, device)
    ratio = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    lrs: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    average, best, diverged = 0.0, math.inf, False
    try:
        optimizer.learning_rate = float(start_lr)
        model.train()
        while len(lrs) < num_steps and not diverged:
            took_any = False
            for bx, by, bsw in data:
                took_any = True
                if by is None:
                    raise ValueError("find_lr needs targets: each batch must be (x, y) or (x, y, sample_weight).")
                lr = start_lr * ratio ** len(lrs)
                optimizer.learning_rate = lr
                tracker.reset_state()
                model._train_step(bx, by, bsw)
                loss = float(tracker.total) / tracker.count  # the one host sync per step
                average = smoothing * average + (1.0 - smoothing) * loss
                value = average / (1.0 - smoothing ** (len(lrs) + 1))
                lrs.append(lr)
                raw.append(loss)
                smoothed.append(value)
                if not math.isfinite(value) or value > diverge_factor * best:
                    diverged = True
                    break
                best = min(best, value)
                if len(lrs) >= num_steps:
                    break
            if not took_any:  # a one-shot generator ran dry
                break
    finally:
        model.eval()
        model.reset_metrics()
        if restore:
            snapshot.restore(model)
        else:
            snapshot.restore_learning_rate(optimizer)
    if not lrs:
        raise ValueError("find_lr received no batches; the data is empty.")
    result = LRFinderResult(np.asarray(lrs), np.asarray(smoothed), np.asarray(raw), diverged)
    if verbose:
        stop = "stopped early: the loss diverged" if diverged else "no divergence"
        print(f"find_lr: {len(lrs)} steps, learning rate {lrs[0]:.1e} to {lrs[-1]:.1e} ({stop}); "
              f"suggestion {result.suggestion if result.suggestion is None else f'{result.suggestion:.2e}'}")
    return result
