"""Keras 3's model summary table, drawn with rich."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from nerve.models.model import Model

__all__ = ["print_summary", "readable_memory_size"]


def readable_memory_size(num_bytes: float) -> str:
    """Format a byte count as Keras does: `5.38 KB`, `0.00 B`."""
    units = ["B", "KB", "MB", "GB", "TB"]
    size, i = float(num_bytes), 0
    while size >= 1024 and i < len(units) - 1:
        size /= 1024
        i += 1
    return f"{size:.2f} {units[i]}"


def _count(weights: list) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _nbytes(weights: list) -> int:
    return int(sum(int(np.prod(w.shape)) * w.value.element_size() for w in weights))


def _format_shape(layer: Any) -> str:
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError, RuntimeError):
        return "?"
    if isinstance(shape, dict):
        return str({k: tuple(v) for k, v in shape.items()})
    if isinstance(shape, list) and shape and isinstance(shape[0], tuple):
        return ", ".join(str(tuple(s)) for s in shape) if len(shape) > 1 else str(tuple(shape[0]))
    return str(tuple(shape))


def _is_sequential_like(model: "Model") -> bool:
    from nerve.models.sequential import Sequential

    graph = getattr(model, "_graph", None)
    if isinstance(model, Sequential) or graph is None:
        return True
    seen_layers: set[int] = set()
    for node in graph.nodes:
        if len(node.input_tensors) > 1 or id(node.layer) in seen_layers:
            return False
        seen_layers.add(id(node.layer))
    if len(graph.flat_inputs) > 1 or len(graph.flat_outputs) > 1:
        return False
    # A chain: every node consumes the output of the previous one.
    for prev, node in zip(graph.nodes, graph.nodes[1:]):
        if node.input_tensors[0].node is not prev:
            return False
    return True


def print_summary(
    model: "Model",
    line_length: int | None = None,
    positions: list[float] | None = None,
    print_fn: Callable[..., Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
    layer_range: Any = None,
) -> None:
    """Print the summary of `model` (see `Model.summary`)."""
    import rich.console
    import rich.markup
    import rich.table

    from nerve.layers.layer import Layer

    sequential_like = _is_sequential_like(model)
    graph = getattr(model, "_graph", None)
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError(f"line_length={line_length} is too narrow to print the summary.")
        widths.append(width)
        current += width
    columns = [rich.table.Column(h, justify=a, width=w) for h, a, w in zip(header, align, widths)]  # type: ignore[arg-type]
    table = rich.table.Table(*columns, width=line_length, show_lines=True)
    graph_nodes = set(id(n) for n in graph.nodes) if graph is not None else set()

    def connections(layer: Layer) -> str:
        parts = []
        for node in layer._inbound_nodes:
            if id(node) not in graph_nodes:
                continue
            for t in node.input_tensors:
                h = t._history
                parts.append(f"{h.layer.name}[{h.node_index}][{h.tensor_index}]")
        return ", ".join(parts) or "-"

    def rows_for(layer: Layer, level: int = 0) -> list[list[str]]:
        prefix = "   " * level + "└ " if level else ""
        kind = "Functional" if getattr(layer, "_graph", None) is not None and type(layer).__name__ == "Model" \
            else type(layer).__name__
        name = f"{prefix}{rich.markup.escape(layer.name)} ({rich.markup.escape(kind)})"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [name, _format_shape(layer), params]
        if not sequential_like:
            row.append(connections(layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [row]
        if expand_nested and getattr(layer, "layers", None):
            for sub in layer.layers:
                rows.extend(rows_for(sub, level + 1))
        return rows

    layers = list(model.layers)
    if layer_range is not None:
        import re

        names = [layer.name for layer in layers]
        start = next((i for i, n in enumerate(names) if re.match(layer_range[0], n)), None)
        end = next((i for i in reversed(range(len(names))) if re.match(layer_range[1], names[i])), None)
        if start is None or end is None:
            raise ValueError(f"layer_range {layer_range} matches no layers; the layers are {names}.")
        layers = layers[start:end + 1]
    for layer in layers:
        for row in rows_for(layer):
            table.add_row(*row)

    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    opt = getattr(model, "optimizer", None)
    opt_vars = list(getattr(opt, "variables", []) or []) if getattr(model, "_optimizer_params", None) else []
    total_count = _count(trainable) + _count(non_trainable) + _count(opt_vars)
    total_bytes = _nbytes(trainable) + _nbytes(non_trainable) + _nbytes(opt_vars)

    if print_fn is not None:
        console = rich.console.Console(highlight=False, force_terminal=False, color_system=None, width=line_length + 8)
        console.begin_capture()
    else:
        console = rich.console.Console(highlight=False)
    console.print(f'[bold]Model: "{rich.markup.escape(model.name)}"[/bold]')
    console.print(table)
    console.print(f"[bold] Total params: [/bold]{total_count:,} ({readable_memory_size(total_bytes)})")
    console.print(
        f"[bold] Trainable params: [/bold]{_count(trainable):,} ({readable_memory_size(_nbytes(trainable))})"
    )
    console.print(
        f"[bold] Non-trainable params: [/bold]{_count(non_trainable):,} "
        f"({readable_memory_size(_nbytes(non_trainable))})"
    )
    if opt_vars:
        console.print(
            f"[bold] Optimizer params: [/bold]{_count(opt_vars):,} ({readable_memory_size(_nbytes(opt_vars))})"
        )
    if print_fn is not None:
        print_fn(console.end_capture())
