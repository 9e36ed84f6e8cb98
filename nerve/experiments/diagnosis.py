"""Diagnose training curves with numbers: best epoch, overfitting, underfitting, divergence, NaN, plateau.

`diagnose(history)` reads the per-epoch logs of a run (a History or a plain
dict of lists) and returns a `Diagnosis`: a list of `Finding`s, each a kind,
the epoch it starts at, one English sentence with the numbers and the numbers
themselves. It also replays the monitored curve through a real EarlyStopping
and ReduceLROnPlateau to say what they would have done on this run. Epochs are
0-based in `Finding.epoch` and 1-based in messages, as Keras prints them.

Example:
    >>> history = model.fit(x, y, epochs=60, validation_split=0.2)
    >>> print(history.diagnose())
    >>> "overfitting" in history.diagnose()
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nerve.callbacks.callback import Callback
from nerve.callbacks.early_stopping import EarlyStopping
from nerve.callbacks.monitor import is_improvement, resolve_mode, scalar_or_none
from nerve.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = ["Diagnosis", "Finding", "diagnose"]

# Kinds that mean something should change; "good_fit" is found only when none of them is
# (the notes "plateau" and "still_improving" do not rule it out).
PROBLEMS = frozenset({"nan", "divergence", "overfitting", "underfitting", "no_validation",
                      "vanishing_gradients", "exploding_gradients"})


@dataclass
class Finding:
    """One thing the curves show.

    Attributes:
        kind: e.g. "overfitting", "underfitting", "nan", "divergence", "plateau",
            "still_improving", "vanishing_gradients", "exploding_gradients",
            "no_validation", "good_fit"; counterfactuals are "early_stopping"
            and "reduce_lr_on_plateau".
        epoch: the 0-based epoch it starts at, or None.
        message: one English sentence with the numbers (epochs 1-based).
        data: the numbers behind the message.
    """

    kind: str
    epoch: int | None
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-serialisable plain types (non-finite numbers become None)."""
        return {"kind": self.kind, "epoch": self.epoch, "message": self.message, "data": _jsonable(self.data)}

    def __str__(self) -> str:
        where = "" if self.epoch is None else f" (epoch {self.epoch + 1})"
        return f"{self.kind}{where}: {self.message}"


@dataclass
class Diagnosis:
    """What `diagnose` found: the findings, the counterfactuals and the monitor's best epoch.

    `kinds` and `kind in diagnosis` cover `findings`; `get(kind)` also finds
    the counterfactuals ("early_stopping", "reduce_lr_on_plateau"). "good_fit"
    is a finding only when no problem is (plateau and still_improving are notes
    that may come with it). `best_epoch` is 0-based.
    """

    findings: list[Finding]
    counterfactuals: list[Finding]
    monitor: str
    mode: str
    best_epoch: int | None
    best_value: float | None
    epochs: int

    @property
    def kinds(self) -> set[str]:
        """The kinds of the findings, e.g. {"overfitting", "plateau"}."""
        return {f.kind for f in self.findings}

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def get(self, kind: str) -> Finding | None:
        """The first finding or counterfactual of this kind, or None."""
        return next((f for f in self.findings + self.counterfactuals if f.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as JSON-serialisable plain types (for reports)."""
        return {
            "monitor": self.monitor, "mode": self.mode, "epochs": self.epochs,
            "best_epoch": self.best_epoch, "best_value": _jsonable(self.best_value),
            "findings": [f.to_dict() for f in self.findings],
            "counterfactuals": [f.to_dict() for f in self.counterfactuals],
        }

    def __str__(self) -> str:
        better = "lower" if self.mode == "min" else "higher"
        best = ("no finite value" if self.best_epoch is None
                else f"best {_f(self.best_value)} at epoch {self.best_epoch + 1}")
        lines = [f"Diagnosis of {self.epochs} epochs, monitor {self.monitor!r} ({better} is better): {best}."]
        lines += [f"  - {f}" for f in self.findings]
        if self.counterfactuals:
            lines.append("On this run's curve:")
            lines += [f"  - {f.message}" for f in self.counterfactuals]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Diagnosis monitor={self.monitor!r} best_epoch={self.best_epoch} kinds={sorted(self.kinds)}>"


def diagnose(
    history: Any,
    monitor: str | None = None,
    *,
    mode: str = "auto",
    gradient_norms: Any = None,
    patience: int = 5,
    min_delta: float = 0.0,
    smoothing: int = 3,
    overfit_margin: float = 0.1,
    overfit_gap: float = 0.1,
    overfit_loss_ratio: float = 2.0,
    underfit_accuracy: float = 0.6,
    underfit_gap: float = 0.05,
    underfit_loss_drop: float = 0.1,
    still_improving_rate: float = 0.01,
    divergence_factor: float = 3.0,
    vanishing_ratio: float = 1e-2,
    exploding_norm: float = 1e3,
    exploding_growth: float = 1e2,
    early_stopping: Mapping[str, Any] | None = None,
    reduce_lr: Mapping[str, Any] | None = None,
) -> Diagnosis:
    """Say, with numbers, what a run's curves show, and what EarlyStopping/ReduceLROnPlateau would have done.

    Args:
        history: a History (what `fit` returns) or a dict `{key: [value per epoch]}`.
        monitor: the key the best epoch, plateau and counterfactuals watch
            (default None: "val_loss" if logged, else "loss").
        mode: "auto", "min" or "max" for the monitor (default "auto", decided
            by `nerve.callbacks.monitor.resolve_mode`).
        gradient_norms: `{layer: [mean norm per epoch]}`, input side first, or a
            `GradientMonitor` (default None: no gradient findings).
        patience: epochs without improvement that make a "plateau", and the
            patience of the EarlyStopping counterfactual (default 5).
        min_delta: smallest change that counts as an improvement, as in
            EarlyStopping (default 0.0).
        smoothing: epochs averaged when comparing the end of a curve with
            another point, to ignore noise (default 3).
        overfit_margin: "overfitting" needs the val_loss at the end (mean of
            `smoothing` epochs) above its level at its minimum by this fraction,
            while loss fell over the same span (default 0.1, i.e. 10%) ...
        overfit_gap: ... or, whatever val_loss does, training accuracy above
            validation accuracy by more than this at the end (default 0.1) ...
        overfit_loss_ratio: ... or, with no accuracy logged, val_loss more than
            this many times loss at the end (default 2.0).
        underfit_accuracy: "underfitting" when the training accuracy at the end
            is below this ... (default 0.6)
        underfit_gap: ... and the validation accuracy is within this of it (default 0.05).
        underfit_loss_drop: without an accuracy key, "underfitting" when the
            training loss fell by less than this fraction of its first value (default 0.1).
        still_improving_rate: "still_improving" when the monitor improved by more
            than this fraction per epoch over the last `smoothing` epochs and is
            best at one of the last two (default 0.01, i.e. 1% per epoch).
        divergence_factor: "divergence" when the training loss exceeds this many
            times its lowest value so far, having climbed at least half-way back
            to its first value (default 3.0).
        vanishing_ratio: "vanishing_gradients" when the first layer's gradient
            norm over the last layer's (median over epochs) is below this (default 1e-2).
        exploding_norm: "exploding_gradients" when a layer's norm exceeds this or
            is not finite (default 1e3) ...
        exploding_growth: ... or the total norm grows by this factor from the
            first epoch (default 1e2).
        early_stopping: extra arguments of the EarlyStopping counterfactual
            (default None: `EarlyStopping(monitor, patience=patience, min_delta=min_delta)`).
        reduce_lr: extra arguments of the ReduceLROnPlateau counterfactual
            (default None: its own defaults but `patience=max(1, patience // 2)`).

    Returns:
        A `Diagnosis`; `print()` it for the report, `"overfitting" in d` to test.

    Example:
        >>> d = diagnose({"loss": [0.9, 0.5, 0.3, 0.2, 0.1, 0.05], "val_loss": [1.0, 0.6, 0.5, 0.55, 0.62, 0.7]},
        ...              smoothing=2)
        >>> d.best_epoch, "overfitting" in d
        (2, True)
    """
    curves, labels = _curves(history)
    n = len(labels)
    if monitor is None:
        monitor = "val_loss" if "val_loss" in curves else "loss"
    if monitor not in curves:
        raise ValueError(
            f"diagnose: the monitor {monitor!r} is not in the history. Available keys: "
            f"{', '.join(map(repr, curves)) or 'none'}. Received: monitor={monitor!r}"
        )
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"diagnose: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, int) or smoothing < 1:
        raise ValueError(f"diagnose: smoothing must be an integer >= 1. Received: smoothing={smoothing!r}")
    direction = resolve_mode(monitor, mode)[0]
    best_i = _best_index(curves[monitor], direction, 0.0)

    findings: list[Finding] = []
    nan = _nan(curves, labels)
    if nan is not None:
        findings.append(nan)
    # The shape checks look at the epochs before the loss or the monitor stopped being finite.
    n_ok = min((_first_non_finite(curves[key]) for key in {"loss", "val_loss", monitor} & set(curves)), default=n)
    ok = {k: v[:n_ok] for k, v in curves.items()}
    k = min(smoothing, max(1, n_ok - 1))

    diverged = _divergence(ok.get("loss"), labels, divergence_factor)
    overfit = _overfitting(ok, labels, smoothing, overfit_margin, overfit_gap, overfit_loss_ratio)
    findings += [f for f in (diverged, overfit) if f is not None]
    if nan is None and diverged is None and overfit is None:
        under = _underfitting(ok, labels, k, underfit_accuracy, underfit_gap, underfit_loss_drop)
        findings += [under] if under is not None else []
    if not any(key.startswith("val_") for key in curves):
        findings.append(Finding("no_validation", None, "no validation metrics were logged, so overfitting "
                                "cannot be seen: pass validation_split or validation_data to fit.", {}))
    if diverged is None and not (overfit is not None and monitor.startswith("val_")):
        plateau = _plateau(ok[monitor], labels, monitor, direction, patience, min_delta)
        findings += [plateau] if plateau is not None else []
    if nan is None and diverged is None:
        still = _still_improving(ok[monitor], labels, monitor, direction, k, still_improving_rate)
        findings += [still] if still is not None else []
    if gradient_norms is not None:
        findings += _gradient_findings(getattr(gradient_norms, "norms", gradient_norms), labels,
                                       vanishing_ratio, exploding_norm, exploding_growth)
    if not any(f.kind in PROBLEMS for f in findings):
        findings.insert(0, _good_fit(ok, labels, monitor, best_i, k))

    counterfactuals = [
        _early_stopping_counterfactual(curves[monitor], labels, monitor, direction,
                                       {"patience": patience, "min_delta": min_delta, **(early_stopping or {})}),
        _reduce_lr_counterfactual(curves, labels, monitor, direction,
                                  {"patience": max(1, patience // 2), **(reduce_lr or {})}),
    ]
    best_value = None if best_i is None else float(curves[monitor][best_i])
    return Diagnosis(findings, counterfactuals, monitor, direction,
                     None if best_i is None else labels[best_i], best_value, n)


# ---------------------------------------------------------------------- reading
def _curves(history: Any) -> tuple[dict[str, np.ndarray], list[int]]:
    if isinstance(history, Callback) and hasattr(history, "history"):
        raw, epochs = history.history, list(getattr(history, "epoch", []))
    elif isinstance(history, Mapping):
        raw, epochs = history, []
    else:
        raise TypeError(
            "diagnose needs a History (what fit returns) or a dict {key: [value per epoch]}. "
            f"Received: {type(history).__name__}"
        )
    curves: dict[str, np.ndarray] = {}
    for key, values in raw.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            continue
        floats = [scalar_or_none(v) for v in values]
        if all(f is not None or v is None for f, v in zip(floats, values)):
            curves[str(key)] = np.array([math.nan if f is None else f for f in floats], dtype=np.float64)
    n = max((len(v) for v in curves.values()), default=0)
    if n == 0:
        raise ValueError(f"diagnose: the history holds no epochs of numbers. Received keys: {list(raw)}")
    labels = [int(e) for e in epochs] if len(epochs) == n else list(range(n))
    return curves, labels


def _first_non_finite(values: np.ndarray) -> int:
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if bad.size else len(values)


def _best_index(values: np.ndarray, direction: str, min_delta: float) -> int | None:
    best, best_i = None, None
    for i, v in enumerate(values):
        if math.isfinite(v) and is_improvement(float(v), best, direction, min_delta):
            best, best_i = float(v), i
    return best_i


def _end(values: np.ndarray, k: int) -> float:
    return float(np.mean(values[-k:]))


def _accuracy_key(curves: Mapping[str, np.ndarray]) -> str | None:
    for key in ("accuracy", "acc"):
        if key in curves:
            return key
    for key in curves:
        if not key.startswith("val_") and {"accuracy", "acc"} & set(key.lower().split("_")):
            return key
    return None


# ---------------------------------------------------------------------- findings
def _nan(curves: Mapping[str, np.ndarray], labels: list[int]) -> Finding | None:
    firsts = {key: _first_non_finite(v) for key, v in curves.items()}
    i = min(firsts.values())
    if i >= len(labels):
        return None
    keys = sorted((key for key, j in firsts.items() if j == i), key=lambda s: (s not in ("loss", "val_loss"), s))
    key = keys[0]
    value = "NaN" if math.isnan(curves[key][i]) else "Inf"
    last = f"; its last finite value was {_f(curves[key][i - 1])} at epoch {labels[i - 1] + 1}" if i else ""
    also = f" (so did {', '.join(keys[1:])})" if len(keys) > 1 else ""
    return Finding("nan", labels[i], f"{key} became {value} at epoch {labels[i] + 1}{also}{last}: lower the "
                   "learning rate, check the inputs for NaN and scale them, or clip gradients.",
                   {"key": key, "keys": keys, "value": value.lower()})


def _divergence(loss: np.ndarray | None, labels: list[int], factor: float) -> Finding | None:
    if loss is None or len(loss) < 2:
        return None
    low = np.minimum.accumulate(loss)
    for i in range(1, len(loss)):
        m = low[i - 1]
        if m > 0 and loss[i] >= factor * m and loss[i] - m >= 0.5 * (loss[0] - m):
            j = int(np.flatnonzero(loss[:i] == m)[0])
            ratio = float(loss[i] / m)
            return Finding("divergence", labels[i], f"loss grew {ratio:.3g}x from its lowest, {_f(m)} at epoch "
                           f"{labels[j] + 1}, to {_f(loss[i])} at epoch {labels[i] + 1}: training diverged; "
                           "lower the learning rate or clip gradients.",
                           {"factor": ratio, "lowest": float(m), "lowest_epoch": labels[j], "value": float(loss[i])})
    return None


def _overfitting(c: Mapping[str, np.ndarray], labels: list[int], k: int, margin: float, max_gap: float,
                 max_ratio: float) -> Finding | None:
    tr, va = c.get("loss"), c.get("val_loss")
    if tr is None or va is None or min(len(tr), len(va)) < k + 1:
        return None
    n = min(len(tr), len(va))
    tr, va = tr[:n], va[:n]
    i = int(np.argmin(va))
    stalled = n - 1 - i >= k  # the val_loss's best is at least `k` epochs old
    lo, hi = max(0, i - k // 2), min(n, i + k // 2 + 1)
    va_ref, tr_ref, va_end, tr_end = float(np.mean(va[lo:hi])), float(np.mean(tr[lo:hi])), _end(va, k), _end(tr, k)
    rising = stalled and va_end - va_ref > margin * abs(va_ref) and tr_end < tr_ref
    acc = _accuracy_key(c)
    if acc is not None and len(c[acc]) >= n and len(c.get(f"val_{acc}", ())) >= n:
        gaps, limit, what = c[acc][:n] - c[f"val_{acc}"][:n], max_gap, f"{acc} - val_{acc}"
    elif np.all(tr > 0):
        gaps, limit, what = va / tr, max_ratio, "val_loss / loss"
    else:
        gaps, limit, what = None, math.inf, ""
    gap_end = math.nan if gaps is None else _end(gaps, k)
    wide = gaps is not None and gap_end > limit
    if not (rising or wide):
        return None
    rise = float(va[-1] - va[i])
    pct = 100.0 * rise / abs(va[i]) if va[i] else math.inf
    data: dict[str, Any] = {
        "val_loss_min": float(va[i]), "val_loss_min_epoch": labels[i], "val_loss_end": float(va[-1]),
        "rise": rise, "rise_pct": pct, "smoothed_rise_pct": 100.0 * (va_end - va_ref) / abs(va_ref) if va_ref else None,
        "loss_at_min": float(tr[i]), "loss_end": float(tr[-1]), "loss_gap": float(va[-1] - tr[-1]),
        "gap": what, "gap_end": gap_end, "gap_limit": limit, "val_rising": rising,
    }
    if acc is not None and "accuracy_gap" not in data and gaps is not None and what.startswith(acc):
        data["accuracy_gap"] = float(gaps[-1])
    if stalled:
        epoch = i
        trend = "risen" if rising else "not improved"
        story = (f"val_loss has {trend} since its minimum at epoch {labels[i] + 1} ({_f(va[i])} -> {_f(va[-1])} at "
                 f"epoch {labels[n - 1] + 1}, {rise:+.4g}, {pct:+.0f}%) while loss "
                 f"{'kept falling' if tr[-1] < tr[i] else 'went'} ({_f(tr[i])} -> {_f(tr[-1])})")
    else:
        below = np.flatnonzero(gaps <= limit)  # type: ignore[operator]
        epoch = min(n - 1, int(below[-1]) + 1 if below.size else 0)
        story = (f"the gap between training and validation has exceeded its limit since epoch {labels[epoch] + 1}, "
                 "although val_loss still improves")
    if gaps is not None:
        story += f"; at the end {what} = {_f(gap_end)} (mean of the last {k} epochs, limit {limit:g})"
    return Finding("overfitting", labels[epoch], f"{story}: more data, regularisation (Dropout, L2) or "
                   "EarlyStopping(restore_best_weights=True) would help.", data)


def _underfitting(c: Mapping[str, np.ndarray], labels: list[int], k: int, min_accuracy: float, gap: float,
                  min_drop: float) -> Finding | None:
    n = len(c["loss"]) if "loss" in c else 0
    acc = _accuracy_key(c)
    advice = "a larger model, more epochs or a higher learning rate may help."
    if acc is not None and len(c[acc]) >= 2:
        a_end = _end(c[acc], k)
        val = c.get(f"val_{acc}")
        v_end = _end(val, k) if val is not None and len(val) >= 2 else None
        if a_end < min_accuracy and (v_end is None or a_end - v_end < gap):
            vs = "" if v_end is None else f" and val_{acc} is as high ({_f(v_end)}, gap {a_end - v_end:+.2g})"
            return Finding("underfitting", None, f"{acc} is only {_f(a_end)} at the end (mean of the last {k} "
                           f"epochs){vs}: the model underfits; {advice}",
                           {"accuracy_key": acc, "accuracy": a_end, "val_accuracy": v_end,
                            "threshold": min_accuracy})
        return None
    if n >= 3 and c["loss"][0] != 0:
        first, end = float(c["loss"][0]), _end(c["loss"], k)
        drop = (first - end) / abs(first)
        if drop < min_drop:
            return Finding("underfitting", None, f"loss fell only {100 * drop:.1f}% in {n} epochs ({_f(first)} -> "
                           f"{_f(end)}, mean of the last {k}): the model barely learns; check the inputs' scale, "
                           f"or {advice}", {"loss_first": first, "loss_end": end, "drop": drop, "threshold": min_drop})
    return None


def _plateau(values: np.ndarray, labels: list[int], monitor: str, direction: str, patience: int,
             min_delta: float) -> Finding | None:
    i = _best_index(values, direction, min_delta)
    if i is None or len(values) - 1 - i < max(1, patience):
        return None
    stalled = len(values) - 1 - i
    by = f" by more than {min_delta:g}" if min_delta else ""
    return Finding("plateau", labels[i], f"{monitor} has not improved{by} for the last "
                   f"{stalled} epochs: its best, {_f(values[i])}, was at epoch {labels[i] + 1}.",
                   {"epochs_without_improvement": stalled, "best_epoch": labels[i], "best_value": float(values[i]),
                    "patience": patience, "min_delta": min_delta})


def _still_improving(values: np.ndarray, labels: list[int], monitor: str, direction: str, k: int,
                     rate: float) -> Finding | None:
    n = len(values)
    if n < k + 1 or values[-k - 1] == 0 or _best_index(values, direction, 0.0) not in (n - 1, n - 2):
        return None
    start, end = float(values[-k - 1]), float(values[-1])
    per_epoch = (start - end if direction == "min" else end - start) / abs(start) / k
    if per_epoch <= rate:
        return None
    return Finding("still_improving", labels[n - 1], f"{monitor} was still improving at the end, by "
                   f"{100 * per_epoch:.2g}% per epoch over the last {k} epochs ({_f(start)} -> {_f(end)}): "
                   "training longer should help.",
                   {"rate_per_epoch": per_epoch, "start": start, "end": end, "epochs": k})


def _good_fit(c: Mapping[str, np.ndarray], labels: list[int], monitor: str, best_i: int | None,
              k: int) -> Finding:
    parts = [] if best_i is None else [f"{monitor} is best at epoch {labels[best_i] + 1} of {len(labels)} "
                                       f"({_f(c[monitor][best_i])})"]
    data: dict[str, Any] = {}
    if "loss" in c and "val_loss" in c and len(c["loss"]) and len(c["val_loss"]):
        tr, va = _end(c["loss"], k), _end(c["val_loss"], k)
        data.update(loss_end=tr, val_loss_end=va, loss_gap=va - tr)
        parts.append(f"loss {_f(tr)} and val_loss {_f(va)} stay close at the end (gap {va - tr:+.3g})")
    return Finding("good_fit", None, "no sign of over- or underfitting: " + (", and ".join(parts) or "the curves "
                   "look healthy") + ".", data)


def _gradient_findings(norms: Mapping[str, Sequence[float]], labels: list[int], ratio_limit: float,
                       norm_limit: float, growth_limit: float) -> list[Finding]:
    names = list(norms)
    arrays = [np.asarray(norms[name], dtype=np.float64) for name in names]
    out: list[Finding] = []
    m = min((len(a) for a in arrays), default=0)
    if m == 0:
        return out
    epoch = (lambda e: labels[e] if e < len(labels) else e)
    for e in range(m):
        bad = [name for name, a in zip(names, arrays) if not math.isfinite(a[e]) or a[e] > norm_limit]
        if bad:
            value = float(np.asarray(norms[bad[0]], dtype=np.float64)[e])
            out.append(Finding("exploding_gradients", epoch(e), f"the gradient norm of {bad[0]} reached {value:.3g} "
                               f"at epoch {epoch(e) + 1} (limit {norm_limit:g}): gradients explode; lower the "
                               "learning rate or clip them (e.g. optimizer clipnorm=1.0).",
                               {"layer": bad[0], "layers": bad, "norm": value, "limit": norm_limit}))
            break
    else:
        total = np.sqrt(np.sum(np.stack([a[:m] for a in arrays]) ** 2, axis=0))
        growth = total / total[0] if total[0] > 0 else np.ones(m)
        e = int(np.argmax(growth))
        if growth[e] > growth_limit:
            out.append(Finding("exploding_gradients", epoch(e), f"the total gradient norm grew {growth[e]:.3g}x from "
                               f"epoch {epoch(0) + 1} to epoch {epoch(e) + 1} ({total[0]:.3g} -> {total[e]:.3g}): "
                               "gradients explode; lower the learning rate or clip them.",
                               {"growth": float(growth[e]), "first": float(total[0]), "norm": float(total[e]),
                                "limit": growth_limit}))
    if len(arrays) >= 2:
        first, last = arrays[0][:m], arrays[-1][:m]
        valid = np.isfinite(first) & np.isfinite(last) & (last > 0)
        if valid.any():
            ratios = first[valid] / last[valid]
            ratio = float(np.median(ratios))
            if ratio < ratio_limit:
                out.append(Finding(
                    "vanishing_gradients", None, f"the first layer's gradient norm ({names[0]}, "
                    f"{float(np.median(first[valid])):.3g}) is {ratio:.3g} times the last layer's ({names[-1]}, "
                    f"{float(np.median(last[valid])):.3g}), median over {int(valid.sum())} epochs: gradients vanish "
                    "on the way back; use relu-like activations, He initialisation or batch normalisation.",
                    {"ratio": ratio, "ratios": ratios.tolist(), "first_layer": names[0], "last_layer": names[-1],
                     "threshold": ratio_limit}))
    return out


# ---------------------------------------------------------------------- counterfactuals
class _ReplayOptimizer:
    """Holds a float32 learning rate, as nerve's optimizers do."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    @property
    def learning_rate(self) -> float:
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._lr = float(np.float32(value))


class _ReplayModel:
    """The little of a model that EarlyStopping and ReduceLROnPlateau touch, to replay a logged curve."""

    def __init__(self, learning_rate: float = 1.0) -> None:
        self.stop_training = False
        self.optimizer = _ReplayOptimizer(learning_rate)
        self.metrics: list[Any] = []

    def get_weights(self) -> list[Any]:
        return []

    def set_weights(self, weights: Any) -> None:
        pass


def _replay(callback: Callback, values: np.ndarray, labels: list[int], monitor: str,
            learning_rate: float = 1.0) -> tuple[int | None, list[float]]:
    """Feed the curve to the callback's hooks as fit would; the index it stopped at, and the LR of each epoch."""
    model = _ReplayModel(learning_rate)
    callback.set_model(model)  # type: ignore[arg-type]
    callback.set_params({"epochs": len(values), "steps": None, "verbose": 0})
    callback.on_train_begin({})
    stopped, lrs = None, []
    for i, (label, value) in enumerate(zip(labels, values)):
        callback.on_epoch_begin(label, {})
        lrs.append(model.optimizer.learning_rate)
        callback.on_epoch_end(label, {monitor: float(value)})
        if model.stop_training:
            stopped = i
            break
    callback.on_train_end({})
    lrs.append(model.optimizer.learning_rate)
    return stopped, lrs


def _early_stopping_counterfactual(values: np.ndarray, labels: list[int], monitor: str, direction: str,
                                   kwargs: dict[str, Any]) -> Finding:
    es = EarlyStopping(**{"monitor": monitor, "mode": direction, **kwargs})
    stopped, _ = _replay(es, values, labels, monitor)
    n = len(values)
    call = f"EarlyStopping(monitor={monitor!r}, patience={es.patience})"
    data: dict[str, Any] = {"patience": es.patience, "min_delta": es.min_delta, "stopped": stopped is not None,
                            "stop_epoch": None if stopped is None else labels[stopped],
                            "epochs_run": n if stopped is None else stopped + 1,
                            "epochs_saved": 0 if stopped is None else n - 1 - stopped,
                            "best_epoch": es.best_epoch if es.best is not None else None, "best_value": es.best}
    kept = "" if es.best is None else (f"; with restore_best_weights=True it would keep {monitor} {_f(es.best)} "
                                       f"from epoch {es.best_epoch + 1}")
    if stopped is None:
        return Finding("early_stopping", None, f"{call} would not have stopped this run of {n} epochs{kept}.", data)
    data["value_at_stop"] = float(values[stopped])
    return Finding("early_stopping", labels[stopped], f"{call} would have stopped at epoch {labels[stopped] + 1} of "
                   f"{n}, saving {data['epochs_saved']} epochs{kept} (the run ended at {_f(values[-1])}).", data)


def _reduce_lr_counterfactual(curves: Mapping[str, np.ndarray], labels: list[int], monitor: str, direction: str,
                              kwargs: dict[str, Any]) -> Finding:
    logged = curves.get("learning_rate")
    known = logged is not None and len(logged) > 0 and math.isfinite(logged[0]) and logged[0] > 0
    lr0 = float(logged[0]) if known else 1.0
    rlr = ReduceLROnPlateau(**{"monitor": monitor, "mode": direction, **kwargs})
    _, lrs = _replay(rlr, curves[monitor], labels, monitor, lr0)
    cuts = [i for i in range(len(lrs) - 1) if lrs[i + 1] < lrs[i]]
    call = f"ReduceLROnPlateau(monitor={monitor!r}, patience={rlr.patience}, factor={rlr.factor:g})"
    data = {"patience": rlr.patience, "factor": rlr.factor, "reduce_epochs": [labels[i] for i in cuts],
            "learning_rates": lrs[:-1], "initial_lr": lr0 if known else None, "final_lr": lrs[-1],
            "relative": not known}
    if not cuts:
        return Finding("reduce_lr_on_plateau", None, f"{call} would not have lowered the learning rate "
                       f"({monitor} improved by more than {rlr.min_delta:g} at least every {rlr.patience} epochs).",
                       data)
    at = _and([str(labels[i] + 1) for i in cuts])
    to = (f"from {lrs[0]:.3g} to {lrs[-1]:.3g}" if known else f"to {lrs[-1] / lrs[0]:.3g} times the starting rate")
    return Finding("reduce_lr_on_plateau", labels[cuts[0]], f"{call} would have lowered the learning rate at the "
                   f"end of epoch{'s' if len(cuts) > 1 else ''} {at}, {to}.", data)


# ---------------------------------------------------------------------- formatting
def _f(x: Any) -> str:
    return "n/a" if x is None else f"{float(x):.4g}"


def _and(items: list[str], most: int = 6) -> str:
    if len(items) > most:
        return ", ".join(items[:most - 1]) + f" and {len(items) - most + 1} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x
