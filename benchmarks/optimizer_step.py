"""Time optimizer steps alone: nerve's optimizers against torch.optim on the benchmark MLP's weights.

The weights are those of a 784-64-128-256-128-64-10 MLP (kernels and biases),
375 steps make one epoch of 48k samples at batch 128. Each step gives every
weight a fresh copy of a fixed gradient (as backward allocates new grads; some
optimizers consume grads in place), steps, and clears the gradients, for every
optimizer alike. The copies cost the same for all; `--no-copy` leaves them out
(then grads are shared across steps, which in-place consumers change).

Run: python benchmarks/optimizer_step.py [--steps 375] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nerve import optimizers  # noqa: E402

LAYERS = [784, 64, 128, 256, 128, 64, 10]


def make_weights(seed: int = 0) -> tuple[list[torch.nn.Parameter], list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    params, grads = [], []
    for fan_in, fan_out in zip(LAYERS[:-1], LAYERS[1:]):
        for shape in ((fan_out, fan_in), (fan_out,)):
            params.append(torch.nn.Parameter(torch.randn(shape, generator=gen) * 0.05))
            grads.append(torch.randn(shape, generator=gen) * 1e-3)
    return params, grads


def time_steps(
    make_step: Callable[[list[torch.nn.Parameter]], Callable[[], None]], steps: int, repeats: int, copy: bool
) -> tuple[float, float]:
    """Best-of-`repeats` seconds for `steps` steps (fresh weights and optimizer each repeat)."""
    times = []
    for _ in range(repeats):
        params, grads = make_weights()
        step = make_step(params)
        for p, g in zip(params, grads):  # warm-up step (builds state, first-call costs)
            p.grad = g
        step()
        start = time.perf_counter()
        for _ in range(steps):
            for p, g in zip(params, grads):
                p.grad = g.clone() if copy else g
            step()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def nerve_step(cls: type, **kwargs: object) -> Callable[[list[torch.nn.Parameter]], Callable[[], None]]:
    def make(params: list[torch.nn.Parameter]) -> Callable[[], None]:
        opt = cls(**kwargs)
        opt.build(params)
        return opt.step

    return make


def torch_step(cls: type, **kwargs: object) -> Callable[[list[torch.nn.Parameter]], Callable[[], None]]:
    def make(params: list[torch.nn.Parameter]) -> Callable[[], None]:
        opt = cls(params, **kwargs)

        def step() -> None:
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=375)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-copy", action="store_true", help="reuse the same grad tensors every step")
    args = parser.parse_args()

    cases = [
        ("nerve Adam", nerve_step(optimizers.Adam, learning_rate=1e-3)),
        ("torch Adam(fused=True)", torch_step(torch.optim.Adam, lr=1e-3, fused=True)),
        ("torch Adam(foreach=True)", torch_step(torch.optim.Adam, lr=1e-3, foreach=True)),
        ("torch Adam default", torch_step(torch.optim.Adam, lr=1e-3)),
        ("nerve AdamW", nerve_step(optimizers.AdamW, learning_rate=1e-3)),
        ("torch AdamW(fused=True)", torch_step(torch.optim.AdamW, lr=1e-3, weight_decay=0.004, fused=True)),
        ("nerve SGD", nerve_step(optimizers.SGD, learning_rate=0.01)),
        ("torch SGD(fused=True)", torch_step(torch.optim.SGD, lr=0.01, fused=True)),
        ("torch SGD(foreach=True)", torch_step(torch.optim.SGD, lr=0.01, foreach=True)),
        ("nerve SGD momentum=0.9", nerve_step(optimizers.SGD, learning_rate=0.01, momentum=0.9)),
        (
            "nerve SGD momentum=0.9 nesterov",
            nerve_step(optimizers.SGD, learning_rate=0.01, momentum=0.9, nesterov=True),
        ),
        ("torch SGD momentum=0.9 fused", torch_step(torch.optim.SGD, lr=0.01, momentum=0.9, fused=True)),
        ("nerve RMSprop", nerve_step(optimizers.RMSprop)),
        ("torch RMSprop(foreach=True)", torch_step(torch.optim.RMSprop, lr=1e-3, foreach=True)),
    ]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps, "
        f"best/median of {args.repeats}, grads {'shared' if args.no_copy else 'copied'} each step"
    )
    for name, make in cases:
        best, median = time_steps(make, args.steps, args.repeats, copy=not args.no_copy)
        print(f"{name:32s} {best * 1e3:8.1f} ms  (median {median * 1e3:.1f} ms, {best / args.steps * 1e6:.0f} us/step)")


if __name__ == "__main__":
    main()
