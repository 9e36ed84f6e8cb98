"""Gradient clipping and scaling on lists of tensors with multi-tensor (`torch._foreach_*`) ops.

Each function takes the gradients split by device/dtype group (a list of lists),
returns them in the same shape, and works in place only when `inplace` is True
(the gradients then belong to the optimizer, as `.grad` tensors in `step()` do).
Nothing here reads a value back to the host, so no device sync happens.
"""

from __future__ import annotations

import torch

GroupedGrads = list[list[torch.Tensor]]


def scale(grads: GroupedGrads, divisor: float, inplace: bool) -> GroupedGrads:
    """Divide every gradient by `divisor` (undoing a loss scale factor)."""
    if inplace:
        for gs in grads:
            torch._foreach_div_(gs, divisor)
        return grads
    return [torch._foreach_div(gs, divisor) for gs in grads]


def clip_by_value(grads: GroupedGrads, limit: float, inplace: bool) -> GroupedGrads:
    """Clamp every gradient element to [-limit, limit]."""
    out = []
    for gs in grads:
        if not inplace:
            gs = torch._foreach_clamp_min(gs, -limit)
        else:
            torch._foreach_clamp_min_(gs, -limit)
        torch._foreach_clamp_max_(gs, limit)
        out.append(gs)
    return out


def clip_by_norm(grads: GroupedGrads, clipnorm: float, inplace: bool) -> GroupedGrads:
    """Rescale each gradient on its own so its L2 norm is at most `clipnorm`.

    A gradient of norm n becomes `g * clipnorm / max(n, clipnorm)`, as in Keras.
    """
    out = []
    for gs in grads:
        factors = torch._foreach_norm(gs)
        torch._foreach_clamp_min_(factors, clipnorm)
        torch._foreach_reciprocal_(factors)
        torch._foreach_mul_(factors, clipnorm)
        if inplace:
            torch._foreach_mul_(gs, factors)
        else:
            gs = torch._foreach_mul(gs, factors)
        out.append(gs)
    return out


def global_norm(grads: GroupedGrads) -> torch.Tensor:
    """The L2 norm of all gradients taken together, as a 0-d tensor on the first group's device."""
    partial = [torch.linalg.vector_norm(torch.stack(torch._foreach_norm(gs))) for gs in grads if gs]
    if len(partial) == 1:
        return partial[0]
    device = partial[0].device
    return torch.linalg.vector_norm(torch.stack([p.to(device, torch.float32) for p in partial]))


def clip_by_global_norm(grads: GroupedGrads, clipnorm: float, inplace: bool) -> GroupedGrads:
    """Rescale all gradients together so their joint L2 norm is at most `clipnorm`.

    As in Keras, a non-finite global norm turns every gradient into NaN rather
    than silently passing it through.
    """
    total = global_norm(grads)
    factor = torch.clamp(total.reciprocal(), max=1.0 / clipnorm) * clipnorm + (total - total)
    out = []
    for gs in grads:
        f = factor if not gs or factor.device == gs[0].device else factor.to(gs[0].device)
        if f.dtype != gs[0].dtype:
            f = f.to(gs[0].dtype)
        if inplace:
            torch._foreach_mul_(gs, f)
        else:
            gs = torch._foreach_mul(gs, f)
        out.append(gs)
    return out
