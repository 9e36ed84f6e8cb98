"""The base class of nerve's optimizers: Keras 3's options and semantics over multi-tensor torch updates.

How a step runs (the hot path of training):

1. `build(params)` groups the parameters by (device, dtype) once and creates
   each optimizer's slot tensors (momenta, velocities, ...) beside them.
2. `step()` reads every built parameter's `.grad`, then, for each group, runs
   the whole update as a handful of `torch._foreach_*` calls or one fused
   kernel (Adam/AdamW), under `torch.no_grad()`, and sets the grads to None.

The step counter and the learning rate live in CPU Variables, mirrored by
Python numbers that are refreshed only when the tensor was changed from
outside (noticed through torch's in-place version counter). Updates therefore
receive plain Python scalars: no device sync and no extra kernels per step.

Order of operations, as in Keras: drop missing gradients, undo the loss scale,
(gradient accumulation), clip, decoupled weight decay `p *= 1 - wd * lr`, the
optimizer's own update, EMA of the weights, constraints, `iterations += 1`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from nerve import backend
from nerve.backend import Variable
from nerve.optimizers import _checks, _gradients
from nerve.optimizers._group import ParamGroup, host_scalar

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of all optimizers, with the options Keras gives every optimizer.

    Subclasses declare their slots and write the update for one group of
    parameters with multi-tensor ops; this class does the rest (learning rate
    and schedules, clipping, weight decay, EMA, gradient accumulation,
    constraints, state and config).

    Args:
        learning_rate: a float >= 0, or a schedule: any callable taking the step
            (`iterations`, like Keras's `LearningRateSchedule`) or no argument,
            returning the learning rate.
        weight_decay: if set, decoupled decay `p *= 1 - weight_decay * lr` before
            each update (default None).
        clipnorm: if set, each gradient is rescaled to an L2 norm of at most this (default None).
        clipvalue: if set, gradients are clipped elementwise to [-clipvalue, clipvalue] (default None).
        global_clipnorm: if set, all gradients are rescaled together to a joint
            norm of at most this (default None). Only one of the clip options may be set.
        use_ema: keep an exponential moving average of the weights (default False).
        ema_momentum: the EMA's momentum (default 0.99).
        ema_overwrite_frequency: every this many steps, copy the average into
            the weights (default None: only `finalize_variable_values()` does).
        loss_scale_factor: gradients are divided by this before use; `scale_loss`
            multiplies the loss by it (default None).
        gradient_accumulation_steps: update only every this many steps, with
            the mean gradient of those steps (default None).
        name: the optimizer's name (default the snake-cased class name, made unique).

    Example:
        >>> import torch, nerve
        >>> w = torch.nn.Parameter(torch.ones(3))
        >>> opt = nerve.optimizers.SGD(learning_rate=0.1)
        >>> opt.build([w])
        >>> (w * w).sum().backward()
        >>> opt.step()  # w is now 0.8 everywhere and w.grad is None
    """

    # Whether `_update_group` applies the decoupled weight decay itself (fused).
    _handles_weight_decay = False

    def __init__(
        self,
        learning_rate: float | Callable[..., Any],
        *,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            _checks.reject_unknown_kwargs(type(self).__init__, Optimizer.__init__, kwargs, type(self).__name__)
        self.name = name if name is not None else backend.unique_name(backend.to_snake_case(type(self).__name__))
        self.weight_decay = _checks.optional_non_negative("weight_decay", weight_decay)
        self.clipnorm = _checks.optional_non_negative("clipnorm", clipnorm)
        self.clipvalue = _checks.optional_non_negative("clipvalue", clipvalue)
        self.global_clipnorm = _checks.optional_non_negative("global_clipnorm", global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.use_ema = _checks.boolean("use_ema", use_ema)
        self.ema_momentum = _checks.in_range("ema_momentum", ema_momentum, 0.0, 1.0)
        self.ema_overwrite_frequency = (
            None
            if ema_overwrite_frequency is None
            else _checks.positive_int("ema_overwrite_frequency", ema_overwrite_frequency, 1)
        )
        if loss_scale_factor is not None and _checks.as_float("loss_scale_factor", loss_scale_factor) <= 0:
            raise ValueError(
                f"Argument `loss_scale_factor` must be > 0. Received: loss_scale_factor={loss_scale_factor!r}"
            )
        self.loss_scale_factor = None if loss_scale_factor is None else float(loss_scale_factor)
        self.gradient_accumulation_steps = (
            None
            if gradient_accumulation_steps is None
            else _checks.positive_int("gradient_accumulation_steps", gradient_accumulation_steps, 2)
        )

        self.built = False
        self._refs: list[Any] = []
        self._params: list[torch.Tensor] = []
        self._index: dict[int, int] = {}
        self._groups: list[ParamGroup] = []
        self._slot_tensors: dict[str, list[torch.Tensor]] = {}
        self._slot_variables: list[Variable] = []
        self._extra_variables: dict[str, Variable] = {}
        self._constraints: list[tuple[int, Any, Callable[[Any], Any]]] = []
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern[str] | None = None
        self._pending_state: dict[str, Any] | None = None

        self._iterations = Variable(
            host_scalar("int64", 0), name="iteration", trainable=False, path=f"{self.name}/iteration"
        )
        self._iter_host = 0
        self._iter_version = self._iterations.value._version

        self._lr_variable: Variable | None = None
        self._lr_schedule: Callable[..., Any] | None = None
        self._lr_schedule_takes_step = True
        self._set_learning_rate(learning_rate)

    # ------------------------------------------------------------------ subclass hooks
    def _slot_layout(self) -> list[tuple[str, ...]]:
        """Slot names per parameter; names in one tuple are interleaved per parameter (Keras's order)."""
        return []

    def _slot_initial_value(self, name: str) -> float:
        return 0.0

    def _build_extra(self) -> dict[str, Variable]:
        """Optimizer-wide state Variables besides the per-parameter slots (e.g. Nadam's product)."""
        return {}

    def _begin_step(self, lr: float, step: int) -> None:
        """Called once before each update, for optimizer-wide state (e.g. Nadam's product)."""

    def _step_constants(self, lr: float, step: int, dtype: torch.dtype) -> Any:
        """Python-side numbers one update needs, computed once per step and weight dtype.

        Keras computes these scalars (bias corrections, ...) in the weights' dtype,
        so subclasses round them the same way with `scalar_type(dtype)`.
        """
        return lr

    def _update_group(
        self, group: ParamGroup, grads: list[torch.Tensor], lr: float, consts: Any, owned: bool = False
    ) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement `_update_group(group, grads, lr, consts, owned)`, which "
            "updates `group.params` in place from `grads` with torch._foreach_* ops."
        )

    def _extra_config(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ learning rate
    def _set_learning_rate(self, value: Any) -> None:
        if isinstance(value, Variable):
            value = value.value
        if _checks.is_schedule(value):
            self._lr_schedule = value
            self._lr_schedule_takes_step = _checks.takes_step(value)
            self._lr_variable = None
            return
        lr = _checks.in_range("learning_rate", value, 0.0) if _checks.is_number(value) else None
        if lr is None:
            raise ValueError(
                "Argument `learning_rate` should be a float >= 0, or a schedule (a callable taking "
                f"the step and returning the learning rate). Received: learning_rate={value!r}"
            )
        if self._lr_variable is None:
            self._lr_schedule = None
            self._lr_variable = Variable(
                host_scalar(backend.floatx(), lr),
                name="learning_rate",
                trainable=False,
                path=f"{self.name}/learning_rate",
            )
            self._lr_version = -1
        else:
            self._lr_variable.assign(lr)

    @property
    def learning_rate(self) -> Variable:
        """The learning rate as a 0-d Variable (with a schedule: its value at the current step).

        Assigning a number changes it in place for the next step; assigning a
        callable installs a schedule, and a number replaces a schedule.
        """
        if self._lr_variable is not None:
            return self._lr_variable
        return Variable(host_scalar(backend.floatx(), self._current_lr()), name="learning_rate", trainable=False)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_learning_rate(value)

    # Keras 2 spelling, still used by some callbacks and tutorials.
    lr = learning_rate

    def _current_lr(self) -> float:
        if self._lr_schedule is not None:
            value = self._lr_schedule(self._iterations) if self._lr_schedule_takes_step else self._lr_schedule()
            return float(value.value if isinstance(value, Variable) else value)
        t = self._lr_variable.value  # type: ignore[union-attr]
        if t._version != self._lr_version:
            self._lr_host = float(t)
            self._lr_version = t._version
        return self._lr_host

    # ------------------------------------------------------------------ iterations
    @property
    def iterations(self) -> Variable:
        """The number of steps applied so far (an int64 Variable).

        With `gradient_accumulation_steps`, counts updates, as in Keras.
        """
        if self.gradient_accumulation_steps:
            return Variable(
                self._iterations.value // self.gradient_accumulation_steps, name="iteration", trainable=False
            )
        return self._iterations

    def _host_iterations(self) -> int:
        t = self._iterations.value
        if t._version != self._iter_version:
            self._iter_host = int(t)
            self._iter_version = t._version
        return self._iter_host

    def _advance(self, raw: int) -> None:
        t = self._iterations.value
        t.add_(1)
        self._iter_host = raw + 1
        self._iter_version = t._version

    # ------------------------------------------------------------------ building
    @staticmethod
    def _tensor_of(item: Any) -> torch.Tensor:
        t = item.value if isinstance(item, Variable) else item
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                "Optimizers update torch tensors, torch.nn.Parameters or nerve Variables. "
                f"Received: an object of type {type(item).__name__}"
            )
        if not t.is_floating_point():
            raise TypeError(f"Only floating-point weights can be trained. Received: a tensor of dtype {t.dtype}")
        return t

    @staticmethod
    def _label(item: Any, i: int) -> str:
        label = getattr(item, "path", None) or getattr(item, "name", None)
        return str(label) if label else f"variable_{i}"

    def build(self, variables: Iterable[Any]) -> None:
        """Create the optimizer's state for these weights (Parameters, tensors or Variables).

        Calling it again with the same weights does nothing. With a different
        list it rebuilds: weights seen before keep their state, new ones get
        fresh state and the ones left out are forgotten.
        """
        refs = list(variables)
        params = [self._tensor_of(v) for v in refs]
        if self.built and len(params) == len(self._params) and all(a is b for a, b in zip(params, self._params)):
            return
        old = {id(p): i for i, p in enumerate(self._params)}
        old_slots = self._slot_tensors
        layout = self._slot_layout()
        names = [n for names in layout for n in names]
        base_names = (["average"] if self.use_ema else []) + (
            ["gradient_accumulator"] if self.gradient_accumulation_steps else []
        )
        all_names = base_names + names

        self._refs, self._params = refs, params
        self._index = {id(p): i for i, p in enumerate(params)}
        if len(self._index) != len(params):
            raise ValueError("The same weight was passed to the optimizer twice. Received: a list with duplicates")
        self._slot_tensors = {}
        for name in all_names:
            tensors = []
            for p in params:
                j = old.get(id(p))
                if j is not None and name in old_slots:
                    tensors.append(old_slots[name][j])
                else:
                    fill = self._slot_initial_value(name)
                    with torch.inference_mode(False):
                        t = torch.zeros_like(p, memory_format=torch.preserve_format, requires_grad=False)
                    if fill:
                        t.fill_(fill)
                    tensors.append(t)
            self._slot_tensors[name] = tensors

        # Slot Variables in Keras's order: EMA averages, accumulators, then the
        # optimizer's own slots, interleaved per weight within each tuple.
        labels = [self._label(r, i).replace("/", "_") for i, r in enumerate(refs)]
        order = [(n,) for n in base_names] + layout
        self._slot_variables = [
            Variable(
                self._slot_tensors[n][i], name=f"{labels[i]}_{n}", trainable=False, path=f"{self.name}/{labels[i]}_{n}"
            )
            for names in order
            for i in range(len(params))
            for n in names
        ]
        if not self._extra_variables:
            self._extra_variables = self._build_extra()
        self._constraints = [(i, r, c) for i, r in enumerate(refs) if (c := getattr(r, "constraint", None)) is not None]
        self.built = True
        self._regroup()
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    def _uses_weight_decay(self, i: int) -> bool:
        if id(self._params[i]) in self._exclude_ids or id(self._refs[i]) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None:
            name = getattr(self._refs[i], "name", None)
            if name is not None and self._exclude_pattern.search(str(name)):
                return False
        return True

    def _regroup(self) -> None:
        by_key: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for i, p in enumerate(self._params):
            by_key.setdefault((p.device, p.dtype), []).append(i)
        self._groups = [
            ParamGroup(
                idx,
                [self._params[i] for i in idx],
                {n: [ts[i] for i in idx] for n, ts in self._slot_tensors.items()},
                [self._uses_weight_decay(i) for i in idx],
            )
            for idx in by_key.values()
        ]

    def exclude_from_weight_decay(
        self, var_list: Sequence[Any] | None = None, var_names: Sequence[str] | None = None
    ) -> None:
        """Leave some weights out of weight decay.

        Args:
            var_list: weights (Variables, Parameters or tensors) to exclude (default None).
            var_names: substrings; a weight whose `name` contains one is excluded,
                e.g. `["bias"]` (default None). Weights passed as bare tensors have
                no name, so pass Variables to use this.
        """
        self._exclude_ids = set()
        for v in var_list or ():
            self._exclude_ids.add(id(v))
            if isinstance(v, Variable):
                self._exclude_ids.add(id(v.value))
        self._exclude_pattern = re.compile("|".join(map(re.escape, set(var_names)))) if var_names else None
        if self.built:
            self._regroup()

    # ------------------------------------------------------------------ applying
    def step(self) -> None:
        """Update every built weight that has a `.grad`, then set those grads to None.

        This is the one call per training step, after `loss.backward()`. The
        grads are consumed: clipping, loss-scale and SGD's fused momentum may
        change them in place before they are dropped. A weight without a grad
        is skipped with a warning (as in Keras); if none has one, ValueError.
        """
        if not self.built:
            raise RuntimeError(
                f"Optimizer '{self.name}' must be built before step(). "
                "help: call `optimizer.build(trainable_params)` once before training."
            )
        params = self._params
        grads = [p.grad for p in params]
        with torch.no_grad():
            self._apply(grads, None, True)
        for p in params:
            p.grad = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the grads of the built weights (`step()` already does this)."""
        for p in self._params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> Variable:
        """Apply `(gradient, variable)` pairs, as in Keras; returns `iterations`."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        """Apply gradients to variables (builds on first call), as in Keras.

        Args:
            grads: gradients (tensors, arrays or None), one per variable.
            trainable_variables: the variables (default None: the ones built,
                in order). Variables not seen before are added to the optimizer.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built. "
                    "help: call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._params):
                raise ValueError(
                    f"Expected one gradient per built variable ({len(self._params)}). Received: {len(grads)} gradients"
                )
            indices = None
        else:
            refs = list(trainable_variables)
            if len(refs) != len(grads):
                raise ValueError(
                    "Expected as many gradients as variables. "
                    f"Received: {len(grads)} gradients for {len(refs)} variables"
                )
            tensors = [self._tensor_of(v) for v in refs]
            if not self.built:
                self.build(refs)
            elif any(id(t) not in self._index for t in tensors):
                known = {id(p) for p in self._params}
                self.build(self._refs + [r for r, t in zip(refs, tensors) if id(t) not in known])
            indices = [self._index[id(t)] for t in tensors]
            if indices == list(range(len(self._params))):
                indices = None
        params = self._params
        for k, g in enumerate(grads):
            if g is not None:
                p = params[k if indices is None else indices[k]]
                if isinstance(g, Variable):
                    g = g.value
                if not isinstance(g, torch.Tensor):
                    g = torch.as_tensor(np.asarray(g), dtype=p.dtype, device=p.device)
                elif g.dtype != p.dtype or g.device != p.device:
                    g = g.to(device=p.device, dtype=p.dtype)
                if g.shape != p.shape:
                    raise ValueError(
                        f"Gradient {k} has shape {tuple(g.shape)} but its variable has shape {tuple(p.shape)}. "
                        f"Received: gradient of shape {tuple(g.shape)}"
                    )
                if g.stride() != p.stride():  # fused kernels want matching layouts
                    g = torch.empty_like(p, requires_grad=False).copy_(g)
                grads[k] = g.detach()
        with torch.no_grad():
            self._apply(grads, indices, False)

    def _route(
        self, grads: list[torch.Tensor], indices: list[int] | None
    ) -> tuple[list[ParamGroup], list[list[torch.Tensor]]]:
        """Split gradients (for all weights, or for `indices`) by group."""
        if indices is None:
            if len(self._groups) == 1:
                return self._groups, [grads]
            return self._groups, [[grads[i] for i in g.indices] for g in self._groups]
        where = {i: k for k, i in enumerate(indices)}
        groups, grouped = [], []
        for g in self._groups:
            pos = [k for k, i in enumerate(g.indices) if i in where]
            if pos:
                groups.append(g if len(pos) == len(g.indices) else g.subset(pos))
                grouped.append([grads[where[g.indices[k]]] for k in pos])
        return groups, grouped

    def _apply(self, grads: list[Any], indices: list[int] | None, owned: bool) -> None:
        n = len(grads)
        if n == 0:
            return
        missing = [k for k in range(n) if grads[k] is None]
        if missing:
            if len(missing) == n:
                raise ValueError(
                    "No gradients provided for any variable. help: check that the loss depends on the "
                    "trainable weights and that `loss.backward()` ran before `step()`."
                )
            names = [self._label(self._refs[k if indices is None else indices[k]], k) for k in missing]
            warnings.warn(f"Gradients do not exist for variables {names} when minimizing the loss.", stacklevel=3)
            keep = [k for k in range(n) if grads[k] is not None]
            indices = [k if indices is None else indices[k] for k in keep]
            grads = [grads[k] for k in keep]
        groups, grouped = self._route(grads, indices)

        if self.loss_scale_factor is not None:
            grouped = _gradients.scale(grouped, self.loss_scale_factor, owned)
            owned = True

        raw = self._host_iterations()
        accumulate = self.gradient_accumulation_steps
        if accumulate:
            if (raw + 1) % accumulate:
                for group, gs in zip(groups, grouped):
                    torch._foreach_add_(group.slots["gradient_accumulator"], gs)
                self._finish(groups, indices, raw)
                return
            new = []
            for group, gs in zip(groups, grouped):
                gs = torch._foreach_add(gs, group.slots["gradient_accumulator"])
                torch._foreach_div_(gs, float(accumulate))
                new.append(gs)
            grouped, owned = new, True
            step = raw // accumulate + 1
        else:
            step = raw + 1

        if self.clipnorm:
            grouped = _gradients.clip_by_norm(grouped, self.clipnorm, owned)
        elif self.global_clipnorm:
            grouped = _gradients.clip_by_global_norm(grouped, self.global_clipnorm, owned)
        elif self.clipvalue:
            grouped = _gradients.clip_by_value(grouped, self.clipvalue, owned)

        lr = self._current_lr()
        self._begin_step(lr, step)
        wd = self.weight_decay
        consts: dict[torch.dtype, Any] = {}
        for group, gs in zip(groups, grouped):
            dtype = group.dtype
            if dtype not in consts:
                consts[dtype] = self._step_constants(lr, step, dtype)
            if wd and not self._handles_weight_decay and group.decay_params:
                torch._foreach_mul_(group.decay_params, 1.0 - wd * lr)
            self._update_group(group, gs, lr, consts[dtype], owned)
            if accumulate:
                torch._foreach_zero_(group.slots["gradient_accumulator"])
        self._finish(groups, indices, raw)

    def _finish(self, groups: list[ParamGroup], indices: list[int] | None, raw: int) -> None:
        if self.use_ema:
            self._update_average(raw // self.gradient_accumulation_steps if self.gradient_accumulation_steps else raw)
        if self._constraints:
            active = None if indices is None else set(indices)
            for i, ref, constraint in self._constraints:
                if active is None or i in active:
                    p = self._params[i]
                    p.copy_(backend.convert_to_tensor(constraint(ref), dtype=p.dtype, device=p.device))
        self._advance(raw)

    # ------------------------------------------------------------------ EMA
    def _update_average(self, iterations: int) -> None:
        momentum = self.ema_momentum if iterations != 0 else 0.0
        for group in self._groups:
            averages = group.slots["average"]
            torch._foreach_mul_(averages, momentum)
            torch._foreach_add_(averages, group.params, alpha=1.0 - momentum)
        if self.ema_overwrite_frequency and (iterations + 1) % self.ema_overwrite_frequency == 0:
            self._overwrite_with_average()

    @torch.no_grad()
    def _overwrite_with_average(self) -> None:
        for group in self._groups:
            torch._foreach_copy_(group.params, group.slots["average"])

    def finalize_variable_values(self, var_list: Sequence[Any] | None = None) -> None:
        """At the end of training with `use_ema=True`, copy the moving averages into the weights."""
        if self.use_ema and self.built:
            self._overwrite_with_average()

    def scale_loss(self, loss: Any) -> Any:
        """Multiply the loss by `loss_scale_factor` (if set) before computing gradients."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # ------------------------------------------------------------------ state
    @property
    def variables(self) -> list[Variable]:
        """The optimizer's Variables in Keras's order: iterations, learning rate, then the slots."""
        head = [self._iterations] + ([self._lr_variable] if self._lr_variable is not None else [])
        return head + self._slot_variables + list(self._extra_variables.values())

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a plain dict of tensors (copies) and hyper-parameters."""
        return {
            "class_name": type(self).__name__,
            "config": self.get_config(),
            "iterations": self._iterations.value.detach().clone(),
            "learning_rate": None if self._lr_variable is None else self._lr_variable.value.detach().clone(),
            "slots": {name: [t.detach().clone() for t in ts] for name, ts in self._slot_tensors.items()},
            "extra": {name: v.value.detach().clone() for name, v in self._extra_variables.items()},
            "shapes": [tuple(p.shape) for p in self._params],
        }

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict()`: step count, learning rate and slots.

        Before `build()`, the state is kept and restored when the optimizer is
        built. The hyper-parameters in `state["config"]` are informative: this
        optimizer keeps its own, except the learning rate.
        """
        if state.get("class_name") not in (None, type(self).__name__):
            raise ValueError(
                f"Cannot load the state of a {state['class_name']} into {type(self).__name__} '{self.name}'. "
                f"Received: state with class_name={state['class_name']!r}"
            )
        slots = state.get("slots", {})
        if not self.built and any(len(ts) for ts in slots.values()):
            self._pending_state = state
            return
        shapes = [tuple(s) for s in state.get("shapes", [tuple(p.shape) for p in self._params])]
        if slots and shapes != [tuple(p.shape) for p in self._params]:
            raise ValueError(
                f"Optimizer '{self.name}' was built for weights of shapes {[tuple(p.shape) for p in self._params]}. "
                f"Received: a state for weights of shapes {shapes}"
            )
        if set(slots) != set(self._slot_tensors) and any(len(ts) for ts in slots.values()):
            raise ValueError(
                f"Optimizer '{self.name}' keeps slots {sorted(self._slot_tensors)}. "
                f"Received: a state with slots {sorted(slots)}"
            )
        for name, tensors in slots.items():
            for dst, src in zip(self._slot_tensors[name], tensors):
                dst.copy_(backend.convert_to_tensor(src, dtype=dst.dtype, device=dst.device))
        for name, value in state.get("extra", {}).items():
            if name in self._extra_variables:
                self._extra_variables[name].assign(value)
        self._iterations.assign(state["iterations"])
        if state.get("learning_rate") is not None and self._lr_variable is not None:
            self._lr_variable.assign(state["learning_rate"])

    def save_own_variables(self, store: dict[str, Any]) -> None:
        """Write `variables` into `store` as numpy arrays keyed "0", "1", ... (Keras's format)."""
        for i, v in enumerate(self.variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store: dict[str, Any]) -> None:
        """Read back what `save_own_variables` wrote; warns and skips if the counts differ."""
        own = self.variables
        if len(store.keys()) != len(own):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has {len(own)} variables "
                f"whereas the saved optimizer has {len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        for i, v in enumerate(own):
            v.assign(store[str(i)])

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, with Keras's key names."""
        if self._lr_schedule is None:
            learning_rate: Any = float(self._lr_variable.value)  # type: ignore[union-attr]
        else:
            from nerve.optimizers._registry import serialize_schedule

            learning_rate = serialize_schedule(self._lr_schedule)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            **self._extra_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Optimizer:
        """Create an optimizer from `get_config()`'s output (Keras configs work too)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from nerve.optimizers._registry import deserialize_schedule

            config["learning_rate"] = deserialize_schedule(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        lr = "schedule" if self._lr_schedule is not None else f"{float(self._lr_variable.value):g}"  # type: ignore[union-attr]
        return f"<{type(self).__name__} name={self.name}, learning_rate={lr}, built={self.built}>"
