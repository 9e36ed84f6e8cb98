"""Learning-rate schedules: the learning rate as a function of the optimizer step, as in Keras.

Pass one as an optimizer's learning rate: the optimizer calls it with its
`iterations` before every update.

    >>> from nerve.optimizers import Adam
    >>> from nerve.optimizers.schedules import ExponentialDecay
    >>> opt = Adam(learning_rate=ExponentialDecay(0.01, decay_steps=1000, decay_rate=0.9))

A schedule takes the step as an int, a float, a 0-d tensor or array, or a
nerve Variable, and returns a 0-d float32 tensor; given a 1-d tensor or array
of steps it returns the rates for all of them (handy for plotting). A single
step is computed with Python floats, so the per-update cost stays a few
microseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from nerve.backend import Variable

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]

Step = Any  # int | float | torch.Tensor | np.ndarray | Variable


def _step_value(step: Step, owner: str) -> float | torch.Tensor:
    """The step as a Python float, or as a float64 tensor when several steps are given."""
    if isinstance(step, Variable):
        step = step.value
    if isinstance(step, torch.Tensor):
        if step.dim() == 0:
            return float(step.item())
        return step.detach().to(torch.float64)
    if isinstance(step, (np.ndarray, np.generic)):
        if np.ndim(step) == 0:
            return float(step)
        return torch.as_tensor(np.asarray(step, dtype=np.float64))
    if isinstance(step, (int, float)) and not isinstance(step, bool):
        return float(step)
    if isinstance(step, (list, tuple)):
        return torch.as_tensor(step, dtype=torch.float64)
    raise TypeError(
        f"{owner}: the step must be a number, a tensor or array of numbers, or a Variable. "
        f"Received: step={step!r} of type {type(step).__name__}"
    )


def _result(value: float | torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(torch.float32)
    return torch.tensor(value, dtype=torch.float32)


def _floor(x: Any) -> Any:
    return torch.floor(x) if isinstance(x, torch.Tensor) else float(math.floor(x))


def _ceil(x: Any) -> Any:
    return torch.ceil(x) if isinstance(x, torch.Tensor) else float(math.ceil(x))


def _cos(x: Any) -> Any:
    return torch.cos(x) if isinstance(x, torch.Tensor) else math.cos(x)


def _log(x: Any) -> Any:
    return torch.log(x) if isinstance(x, torch.Tensor) else math.log(x)


def _minimum(x: Any, limit: float) -> Any:
    return torch.clamp(x, max=limit) if isinstance(x, torch.Tensor) else min(x, limit)


def _positive(owner: str, name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"{owner}: argument `{name}` must be > 0. Received: {name}={value!r}")
    return value


class LearningRateSchedule:
    """Base class of learning-rate schedules: `schedule(step)` returns the learning rate at that step.

    Subclass it, write `__call__(self, step)` and `get_config()`; `from_config`
    then rebuilds it from the config, so optimizers using it can be saved.

    Example:
        >>> class InverseStep(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (float(step) + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> opt = nerve.optimizers.SGD(learning_rate=InverseStep(0.1))
    """

    def __call__(self, step: Step) -> Any:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Create the schedule from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class _StepDecay(LearningRateSchedule):
    """Shared by the schedules that decay with `step / decay_steps` (optionally floored)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: str | None = None) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive(type(self).__name__, "decay_steps", decay_steps)
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _decay(self, progress: float) -> float:
        raise NotImplementedError

    def __call__(self, step: Step) -> torch.Tensor:
        p = _step_value(step, self.name) / float(self.decay_steps)
        if self.staircase:
            p = _floor(p)
        return _result(self._decay(p))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps for one factor of `decay_rate` (> 0).
        decay_rate: the factor per `decay_steps`.
        staircase: decay in whole steps, `floor(step / decay_steps)` (default False).
        name: a name (default "ExponentialDecay").

    Example:
        >>> lr = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
        >>> float(lr(100))
        0.05000000074505806
    """

    def _decay(self, progress: float) -> float:
        return float(self.initial_learning_rate) * float(self.decay_rate) ** progress


class InverseTimeDecay(_StepDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the step scale (> 0).
        decay_rate: how fast the rate falls.
        staircase: use `floor(step / decay_steps)` (default False).
        name: a name (default "InverseTimeDecay").

    Example:
        >>> lr = InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    """

    def _decay(self, progress: float) -> float:
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * progress)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, then `values[1]` up to `boundaries[1]`, ..., then `values[-1]`.

    Args:
        boundaries: increasing step numbers.
        values: one more rate than boundaries.
        name: a name (default "PiecewiseConstant").

    Example:
        >>> lr = PiecewiseConstantDecay(boundaries=[1000, 2000], values=[0.1, 0.01, 0.001])
        >>> float(lr(1500))
        0.009999999776482582
    """

    def __init__(self, boundaries: list[float], values: list[float], name: str = "PiecewiseConstant") -> None:
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} "
                f"of length {len(values)}."
            )
        if any(b >= a for a, b in zip(boundaries[1:], boundaries, strict=False)):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase. Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Step) -> torch.Tensor:
        s = _step_value(step, self.name)
        if isinstance(s, torch.Tensor):
            index = torch.bucketize(s, torch.tensor(self.boundaries, dtype=torch.float64, device=s.device))
            return torch.tensor(self.values, dtype=torch.float32, device=s.device)[index]
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if s <= boundary:
                return _result(float(value))
        return _result(float(self.values[-1]))

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, with step capped at decay_steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps to reach `end_learning_rate` (> 0).
        end_learning_rate: the final rate (default 0.0001).
        power: the polynomial's power (default 1.0: linear).
        cycle: restart the decay after each multiple of decay_steps instead of
            staying at the end rate (default False).
        name: a name (default "PolynomialDecay").

    Example:
        >>> lr = PolynomialDecay(0.1, decay_steps=1000, end_learning_rate=0.01)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Step) -> torch.Tensor:
        s = _step_value(step, self.name)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            if isinstance(s, torch.Tensor):
                multiplier = torch.where(s == 0, torch.ones_like(s), torch.ceil(s / decay_steps))
            else:
                multiplier = 1.0 if s == 0 else _ceil(s / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            s = _minimum(s, decay_steps)
        p = s / decay_steps
        initial, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return _result((initial - end) * (1.0 - p) ** float(self.power) + end)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


def _cosine(fraction: Any, alpha: float) -> Any:
    return (1.0 - alpha) * 0.5 * (1.0 + _cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate to `alpha * initial` over `decay_steps`, after an optional linear warmup.

    Without warmup: `initial * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)`,
    step capped at decay_steps. With `warmup_target`, the rate first rises
    linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then decays from `warmup_target`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps of the cosine decay (> 0).
        alpha: the final rate as a fraction of the starting one (default 0.0).
        name: a name (default "CosineDecay").
        warmup_target: the rate reached after warmup (default None: no warmup).
        warmup_steps: steps of the warmup (default 0).

    Example:
        >>> lr = CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=100)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("CosineDecay", "decay_steps", decay_steps)
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step: Step) -> torch.Tensor:
        s = _step_value(step, self.name)
        initial, alpha, decay_steps = float(self.initial_learning_rate), float(self.alpha), float(self.decay_steps)
        if self.warmup_target is None:
            s = _minimum(s, decay_steps)
            return _result(initial * _cosine(s / decay_steps, alpha))
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        s = _minimum(s, decay_steps + warmup)
        if isinstance(s, torch.Tensor):
            rising = (target - initial) * (s / max(warmup, 1.0)) + initial
            falling = target * _cosine((s - warmup) / decay_steps, alpha)
            return _result(torch.where(s < warmup, rising, falling))
        if s < warmup:
            return _result((target - initial) * (s / warmup) + initial)
        return _result(target * _cosine((s - warmup) / decay_steps, alpha))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period is `t_mul` times longer and starts `m_mul` times lower.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: steps of the first period (> 0).
        t_mul: growth of each period's length (default 2.0).
        m_mul: factor on each period's starting rate (default 1.0).
        alpha: the lowest rate as a fraction of the initial one (default 0.0).
        name: a name (default "SGDRDecay").

    Example:
        >>> lr = CosineDecayRestarts(0.1, first_decay_steps=1000)
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0, m_mul: float = 1.0,
                 alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Step) -> torch.Tensor:
        fraction = _step_value(step, self.name) / float(self.first_decay_steps)
        t_mul, m_mul, alpha = float(self.t_mul), float(self.m_mul), float(self.alpha)
        if t_mul == 1.0:
            restart = _floor(fraction)
            fraction = fraction - restart
        else:
            restart = _floor(_log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - t_mul ** restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul ** restart
        decayed = 0.5 * m_mul ** restart * (1.0 + _cos(math.pi * fraction))
        return _result(float(self.initial_learning_rate) * ((1.0 - alpha) * decayed + alpha))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """A schedule as a JSON-ready dict in Keras's layout (`class_name`, `config`, ...)."""
    from nerve.optimizers._registry import serialize_schedule

    return serialize_schedule(schedule)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from `serialize()`'s output or a Keras schedule config."""
    from nerve.optimizers._registry import deserialize_schedule

    return deserialize_schedule(config, custom_objects)
