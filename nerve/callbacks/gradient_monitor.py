"""GradientMonitor: record each layer's gradient norm during fit (vanishing and exploding gradients)."""

from __future__ import annotations

import math
from typing import Any

import torch

from nerve.callbacks.callback import Callback

__all__ = ["GradientMonitor", "layer_gradient_groups"]


def layer_gradient_groups(model: Any) -> list[tuple[str, list[torch.Tensor]]]:
    """The model's layers that have trainable weights, as `(name, [parameters])`, input side first.

    Walks `model.layers` in order. A layer that is itself a model (a Sequential
    or functional model used as a layer) is opened up: its layers are listed
    in its place, named `"<model name>/<layer name>"`, so a nested network
    still shows depth. Any other layer is one entry, its norm taken over all
    its trainable weights (sublayers included). A layer or parameter met twice
    (shared layers, tied weights) counts once, where it first appears.
    """
    from nerve.models.model import Model

    groups: list[tuple[str, list[torch.Tensor]]] = []
    seen_layers: set[int] = set()
    seen_params: set[int] = set()

    def walk(container: Any, prefix: str) -> None:
        for layer in getattr(container, "layers", None) or ():
            if id(layer) in seen_layers:
                continue
            seen_layers.add(id(layer))
            if isinstance(layer, Model):
                walk(layer, f"{prefix}{layer.name}/")
                continue
            params = []
            for var in layer.trainable_weights:
                param = getattr(var, "value", var)
                if isinstance(param, torch.Tensor) and param.requires_grad and id(param) not in seen_params:
                    seen_params.add(id(param))
                    params.append(param)
            if params:
                groups.append((f"{prefix}{layer.name}", params))

    walk(model, "")
    return groups


class GradientMonitor(Callback):
    """Record the L2 norm of each layer's gradient during fit, averaged per epoch.

    A layer's norm is taken over all its trainable weights together (kernel
    and bias), read after `loss.backward()` and before the optimizer step
    (the `on_before_optimizer_step` hook). Norms are summed on the device
    and read to the host once per epoch, so monitoring costs no per-batch
    synchronisation. The first layers of a deep sigmoid network show norms
    orders of magnitude below the last layer's: the vanishing gradient.

    Args:
        every_n_batches: measure one batch in this many, starting with the
            first of each epoch (default 1: every batch).
        log: also add `grad_norm/<layer>` keys to the epoch logs, so they reach
            History, CSVLogger and TensorBoard (default False).

    Attributes:
        norms: `{layer name: [mean norm of each epoch]}` in `model.layers`
            order (input side first), layers with trainable weights only;
            layers of a nested model are named `"<model>/<layer>"` (see
            `layer_gradient_groups`). Reset at the start of each fit.

    Example:
        >>> monitor = GradientMonitor()
        >>> model.fit(x, y, epochs=5, callbacks=[monitor])
        >>> monitor.norms["dense"][-1], monitor.norms["dense_9"][-1]
        >>> print(model.history.diagnose(gradient_norms=monitor))
    """

    def __init__(self, every_n_batches: int = 1, *, log: bool = False) -> None:
        super().__init__()
        if isinstance(every_n_batches, bool) or not isinstance(every_n_batches, int) or every_n_batches < 1:
            raise ValueError(
                "GradientMonitor: every_n_batches must be an integer >= 1. "
                f"Received: every_n_batches={every_n_batches!r}"
            )
        self.every_n_batches = every_n_batches
        self.log = bool(log)
        self.norms: dict[str, list[float]] = {}
        self._groups: list[tuple[str, list[torch.Tensor]]] = []
        self._params: list[torch.Tensor] = []
        self._layer_of: torch.Tensor | None = None
        self._sums: torch.Tensor | None = None
        self._count = 0

    def on_train_begin(self, logs: Any = None) -> None:
        self._groups = layer_gradient_groups(self.model)
        self.norms = {name: [] for name, _ in self._groups}
        self._params = [p for _, params in self._groups for p in params]
        device = self._params[0].device if self._params else None
        self._layer_of = torch.tensor([i for i, (_, params) in enumerate(self._groups) for _ in params],
                                      dtype=torch.long, device=device)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._sums, self._count = None, 0

    def on_before_optimizer_step(self, batch: int, logs: Any = None) -> None:
        if batch % self.every_n_batches or not self._groups:
            return
        with torch.no_grad():
            grads = [p.grad for p in self._params]
            if any(g is None for g in grads):  # a weight the loss does not reach counts as 0
                grads = [torch.zeros((), device=p.device) if g is None else g for p, g in zip(self._params, grads)]
            # one fused kernel for every weight's norm, then sum the squares per layer
            squares = torch.stack(torch._foreach_norm(grads)).float().square()
            per_layer = torch.zeros(len(self._groups), device=squares.device).index_add_(0, self._layer_of, squares)
            norms = per_layer.sqrt()
            self._sums = norms if self._sums is None else self._sums + norms
        self._count += 1

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self._sums is not None and self._count:
            means = (self._sums / self._count).tolist()  # the one host read of the epoch
        else:
            means = [math.nan] * len(self._groups)
        for (name, _), value in zip(self._groups, means):
            self.norms[name].append(float(value))
            if self.log and logs is not None:
                logs[f"grad_norm/{name}"] = float(value)
        self._sums, self._count = None, 0

    def plot(self, **kwargs: Any) -> Any:
        """Draw the norms per layer and epoch (log scale); keyword arguments go to `plot_gradient_norms`.

        Needs matplotlib. Returns the matplotlib Figure.

        Example:
            >>> monitor.plot(path="grad_norms.png")
        """
        from nerve.experiments.plots import plot_gradient_norms

        return plot_gradient_norms(self.norms, **kwargs)

    def __repr__(self) -> str:
        return f"<GradientMonitor layers={list(self.norms)} epochs={max(map(len, self.norms.values()), default=0)}>"
