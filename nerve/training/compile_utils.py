"""What `compile()` turns losses, loss weights and metrics into, per model output.

`CompiledLoss` computes the total loss (weighted per-output losses) and tracks
each as a running, batch-size-weighted mean on the device. `CompiledMetrics`
resolves metric names once the output shapes are known ("accuracy" becomes
binary, sparse or categorical accuracy, as in Keras) and updates them per batch.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from nerve import losses as losses_module
from nerve import metrics as metrics_module

__all__ = ["CompiledLoss", "CompiledMetrics", "MeanTracker"]


class MeanTracker:
    """A running mean kept on the device: `update(value, weight)`, `result()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total: torch.Tensor | None = None
        self.count = 0.0

    def reset_state(self) -> None:
        self.total = None
        self.count = 0.0

    def update(self, value: torch.Tensor, weight: int) -> None:
        value = value.detach() * weight
        self.total = value if self.total is None else self.total + value
        self.count += weight

    def result(self) -> torch.Tensor:
        if self.total is None or self.count == 0:
            return torch.tensor(0.0)
        return self.total / self.count

    def state(self) -> tuple[float, float]:
        """(total, count) as floats: what a data-parallel job sums over its processes."""
        return (0.0 if self.total is None else float(self.total), float(self.count))

    def load_state(self, total: float, count: float) -> None:
        self.total = torch.tensor(total, dtype=torch.float64)
        self.count = count


def _per_output(value: Any, output_names: list[str], what: str) -> list[Any]:
    """Spread a compile argument over the outputs: one for all, a list, or a dict by name."""
    n = len(output_names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(output_names))
        if unknown:
            raise ValueError(
                f"compile({what}=...) names outputs {unknown} that the model does not have. "
                f"The model's outputs are {output_names}. Received: {what}={value!r}"
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and what == "loss":
        if len(value) != n:
            raise ValueError(
                f"compile(loss=[...]) needs one loss per model output: the model has {n} outputs "
                f"{output_names}, but {len(value)} losses were given. Received: loss={value!r}"
            )
        return list(value)
    return [value] * n


def _sample_count(t: torch.Tensor) -> int:
    return int(t.shape[0])


class CompiledLoss:
    """The compiled objective: `loss(y_true, y_pred, sample_weight)` for every output.

    Args:
        loss: a loss (name, function or Loss object), a list with one per
            output, or a dict by output name.
        loss_weights: optional list or dict of scalar weights per output.
        output_names: names of the model's outputs (their layers' names).
    """

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]) -> None:
        self.output_names = output_names
        specs = _per_output(loss, output_names, "loss")
        self.fns: list[Any] = [None if s is None else _as_loss(s) for s in specs]
        if all(fn is None for fn in self.fns):
            raise ValueError(
                "compile() needs a loss for at least one output, e.g. "
                "loss='sparse_categorical_crossentropy'. Received: loss=None"
            )
        if loss_weights is None:
            self.weights = [1.0] * len(output_names)
        elif isinstance(loss_weights, dict):
            self.weights = [float(loss_weights.get(name, 1.0)) for name in output_names]
        else:
            loss_weights = list(loss_weights) if isinstance(loss_weights, (list, tuple)) else [loss_weights]
            if len(loss_weights) != len(output_names):
                raise ValueError(
                    f"loss_weights needs one weight per output ({len(output_names)}: {output_names}). "
                    f"Received: loss_weights={loss_weights!r}"
                )
            self.weights = [float(w) for w in loss_weights]
        self.multi = len(output_names) > 1
        self.total_tracker = MeanTracker("loss")
        self.trackers = [MeanTracker(f"{name}_loss") for name in output_names] if self.multi else []

    def names(self) -> list[str]:
        """The loss entries of the logs: 'loss', then one per output when there are several."""
        return ["loss"] + [t.name for t, fn in zip(self.trackers, self.fns) if fn is not None]

    def __call__(self, y_true: list[Any], y_pred: list[torch.Tensor], sample_weight: list[Any]) -> torch.Tensor:
        total: torch.Tensor | None = None
        n = _sample_count(y_pred[0])
        for i, fn in enumerate(self.fns):
            if fn is None:
                continue
            if y_true[i] is None:
                raise ValueError(
                    f"No target given for output '{self.output_names[i]}', which has a loss. "
                    "Pass y for every output with a loss."
                )
            value = fn(y_true[i], y_pred[i], sample_weight=sample_weight[i])
            if self.multi:
                self.trackers[i].update(value, n)
            weighted = value * self.weights[i] if self.weights[i] != 1.0 else value
            total = weighted if total is None else total + weighted
        assert total is not None
        return total

    def track_total(self, total: torch.Tensor, n: int) -> None:
        self.total_tracker.update(total, n)

    def all_trackers(self) -> list[MeanTracker]:
        return [self.total_tracker] + [t for t, fn in zip(self.trackers, self.fns) if fn is not None]

    def reset_state(self) -> None:
        for t in [self.total_tracker] + self.trackers:
            t.reset_state()


def _as_loss(spec: Any) -> Any:
    """A Loss object for any loss spec; plain functions get Keras's reduction and sample weights."""
    fn = losses_module.get(spec)
    if isinstance(fn, losses_module.Loss):
        return fn
    return losses_module.LossFunctionWrapper(fn, name=getattr(fn, "__name__", None))


def _is_accuracy(spec: Any) -> bool:
    return (isinstance(spec, str) and spec in ("accuracy", "acc")) or spec is getattr(
        metrics_module, "accuracy", None
    )


def _is_crossentropy(spec: Any) -> bool:
    return isinstance(spec, str) and spec in ("crossentropy", "ce")


def resolve_metric(spec: Any, y_true: Any, y_pred: torch.Tensor) -> Any:
    """Turn one metric spec into a Metric, using shapes for "accuracy" like Keras."""
    if _is_accuracy(spec) or _is_crossentropy(spec):
        name = spec if isinstance(spec, str) else "accuracy"
        true_rank = y_true.dim() if isinstance(y_true, torch.Tensor) else None
        # Keras 3 decides from shapes alone (not from the loss, as tf.keras 2 did).
        binary = y_pred.shape[-1] == 1
        sparse = true_rank is not None and (
            true_rank < y_pred.dim() or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
        )
        if _is_accuracy(spec):
            cls = (metrics_module.BinaryAccuracy if binary
                   else metrics_module.SparseCategoricalAccuracy if sparse
                   else metrics_module.CategoricalAccuracy)
        else:
            cls = (metrics_module.BinaryCrossentropy if binary
                   else metrics_module.SparseCategoricalCrossentropy if sparse
                   else metrics_module.CategoricalCrossentropy)
        return cls(name=name)
    metric = metrics_module.get(spec)
    if isinstance(spec, str):
        metric.name = spec  # Keras keeps the user's spelling as the log key ("mae", "AUC")
    return metric


def _loss_name(fn: Any) -> str:
    if fn is None:
        return ""
    if isinstance(fn, losses_module.Loss):
        fn = getattr(fn, "fn", fn)
    return getattr(fn, "__name__", type(fn).__name__)


class CompiledMetrics:
    """Metrics per output, resolved on the first batch (when shapes are known).

    Args:
        metrics: a metric, a list of metrics (for every output), a list of
            lists (one per output) or a dict by output name.
        weighted_metrics: same forms; these also use sample weights.
        output_names: names of the model's outputs.
    """

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list[str]) -> None:
        self.output_names = output_names
        self.specs = self._spread(metrics, "metrics")
        self.weighted_specs = self._spread(weighted_metrics, "weighted_metrics")
        self.metrics: list[list[Any]] | None = None
        self.weighted: list[list[Any]] | None = None

    def _spread(self, metrics: Any, what: str) -> list[list[Any]]:
        n = len(self.output_names)
        if metrics is None:
            return [[] for _ in range(n)]
        if isinstance(metrics, dict):
            per = _per_output(metrics, self.output_names, what)
            return [_as_list(m) for m in per]
        if isinstance(metrics, (list, tuple)):
            if len(metrics) == n and all(isinstance(m, (list, tuple, type(None))) for m in metrics):
                return [_as_list(m) for m in metrics]  # one list per output
            if n == 1:
                return [list(metrics)]
            if len(metrics) == n:
                return [_as_list(m) for m in metrics]  # one metric per output
            raise ValueError(
                f"The model has {n} outputs {self.output_names}; pass {what} as a list with one entry "
                f"(a metric or a list of metrics) per output, or as a dict by output name. "
                f"Received: {what}={metrics!r}"
            )
        return [[metrics] for _ in range(n)]

    @property
    def built(self) -> bool:
        return self.metrics is not None

    def build(self, y_true: Sequence[Any], y_pred: Sequence[torch.Tensor]) -> None:
        """Create the metric objects for these outputs; called once, on the first batch."""
        def make(specs: list[list[Any]]) -> list[list[Any]]:
            out = []
            for i, per in enumerate(specs):
                objs = []
                for spec in per:
                    m = resolve_metric(spec, y_true[i], y_pred[i])
                    objs.append(m)
                out.append(objs)
            return out

        self.metrics = make(self.specs)
        self.weighted = make(self.weighted_specs)
        multi = len(self.output_names) > 1
        self._log_names: list[str] = []
        seen: set[str] = set()
        for i, name in enumerate(self.output_names):
            for group, prefix in ((self.metrics[i], ""), (self.weighted[i], "weighted_")):
                for m in group:
                    key = f"{name}_{prefix}{m.name}" if multi else f"{prefix}{m.name}"
                    base, k = key, 1
                    while key in seen:
                        key = f"{base}_{k}"
                        k += 1
                    seen.add(key)
                    self._log_names.append(key)

    def update(self, y_true: Sequence[Any], y_pred: Sequence[torch.Tensor], sample_weight: Sequence[Any]) -> None:
        assert self.metrics is not None and self.weighted is not None
        with torch.no_grad():
            for i in range(len(self.output_names)):
                if y_true[i] is None:
                    continue
                for m in self.metrics[i]:
                    m.update_state(y_true[i], y_pred[i])
                for m in self.weighted[i]:
                    m.update_state(y_true[i], y_pred[i], sample_weight=sample_weight[i])

    def named(self) -> list[tuple[str, Any]]:
        """(log key, metric) pairs in compile order."""
        if self.metrics is None or self.weighted is None:
            return []
        objs = [m for i in range(len(self.output_names)) for m in self.metrics[i] + self.weighted[i]]
        return list(zip(self._log_names, objs))

    def reset_state(self) -> None:
        for _, m in self.named():
            m.reset_state()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
