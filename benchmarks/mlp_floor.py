"""How fast can an eager PyTorch step on seed 0's MLP be? The matrix products alone, against the whole step.

Issue 6 asks nerve to train seed 0's MLP (784-64-128-256-128-64-10, relu, batch 128, 375
steps = one epoch of 48k samples) 1.25x faster than Keras on JAX. This script measures, in one
process and one sitting, on random data of the same shapes:

- `gemm`: only the matrix products of one training epoch (forward addmm, backward mm for the
  kernel gradients and, past the first layer, for the input gradients), each timed on its own
  shapes with no autograd, no elementwise work and no optimizer: no eager step can beat it;
- `forward`: the forward pass under no_grad;
- `step`: the hand-written step (cross-entropy from logits, backward, fused Adam, `index_select`
  batches), as in the `torch` row of `benchmarks/run.py`;
- `nerve`: `model.fit` of the same network for one epoch, no validation.

It prints s/epoch for each and the time left for everything that is not a matrix product. With
`--target S` (Keras-on-JAX's s/epoch for the same epoch, taken from benchmarks/RESULTS.md) it
prints what 1.25x faster than S leaves for the non-GEMM work per step.

Run: python benchmarks/mlp_floor.py [--repeats 5] [--target 0.39]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SIZES = [784, 64, 128, 256, 128, 64, 10]
SAMPLES = 48_000
BATCH = 128


def gemm_epoch(steps: int) -> None:
    """The epoch's matrix products, shape for shape, and nothing else."""
    gen = torch.Generator().manual_seed(0)
    acts = [torch.randn(BATCH, n, generator=gen) for n in SIZES]
    weights = [torch.randn(o, i, generator=gen) for i, o in zip(SIZES[:-1], SIZES[1:])]
    biases = [torch.randn(o, generator=gen) for o in SIZES[1:]]
    for _ in range(steps):
        for k, (w, b) in enumerate(zip(weights, biases)):
            torch.addmm(b, acts[k], w.t())                   # forward
            torch.mm(acts[k + 1].t(), acts[k])              # d kernel
            if k:                                           # d input (the data need none)
                torch.mm(acts[k + 1], w)


def torch_model() -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i, o in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def time_epochs(run, repeats: int) -> float:
    run()  # warm-up: first-call allocations and dispatch caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=None, help="Keras-on-JAX s/epoch to compare with")
    args = parser.parse_args()

    torch.manual_seed(0)
    steps = -(-SAMPLES // BATCH)
    x = torch.rand(SAMPLES, SIZES[0])
    y = torch.randint(0, 10, (SAMPLES,))
    model = torch_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True)

    def forward_epoch() -> None:
        with torch.no_grad():
            for i in range(0, SAMPLES, BATCH):
                model(x[i:i + BATCH])

    def step_epoch() -> None:
        perm = torch.randperm(SAMPLES)
        for i in range(0, SAMPLES, BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    import nerve as keras

    net = keras.Sequential([keras.Input((SIZES[0],))]
                           + [keras.layers.Dense(n, activation="relu") for n in SIZES[1:-1]]
                           + [keras.layers.Dense(SIZES[-1], activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    xn, yn = x.numpy(), y.numpy().astype(np.int64)

    def nerve_epoch() -> None:
        net.fit(xn, yn, batch_size=BATCH, epochs=1, verbose=0)

    rows = {
        "gemm": time_epochs(lambda: gemm_epoch(steps), args.repeats),
        "forward": time_epochs(forward_epoch, args.repeats),
        "step": time_epochs(step_epoch, args.repeats),
        "nerve": time_epochs(nerve_epoch, args.repeats),
    }
    flop = 2 * 3 * SAMPLES * sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {steps} steps of {BATCH}; "
          f"{flop / 1e9:.1f} GFLOP per training epoch (first layer's input gradient not needed)")
    for name, s in rows.items():
        print(f"  {name:8s} {s:.3f} s/epoch")
    gemm = rows["gemm"]
    for name in ("step", "nerve"):
        rest = rows[name] - gemm
        print(f"  {name}: matrix products {gemm / rows[name]:.0%} of the epoch; everything else "
              f"{rest:.3f} s = {rest / steps * 1e6:.0f} us/step")
    if args.target:
        goal = args.target / 1.25
        left = goal - gemm
        print(f"  1.25x faster than {args.target:.3f} s/epoch means {goal:.3f} s/epoch including validation: "
              f"{left:.3f} s ({left / steps * 1e6:.0f} us/step) beyond the matrix products for autograd, "
              f"activations, loss, optimizer, batching and validation")


if __name__ == "__main__":
    main()
