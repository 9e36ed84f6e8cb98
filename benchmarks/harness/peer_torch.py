"""The hand-written PyTorch loop: the fastest honest eager loop a PyTorch user writes.

Data go to the device once as tensors; each epoch draws a `randperm` on the device and slices
batches with `index_select`; the step is forward, `cross_entropy` from logits, backward, Adam
(fused, with convolutional models in channels_last memory format: PyTorch's own performance
advice; the reference row uses torch's default Adam and default NCHW layout); loss and accuracy sums stay
on the device and are read once at the end of the epoch; validation is one no-grad pass over the
held-out tail (in chunks of 2048 samples, summed on the device). Same split as Keras's
`validation_split` (the last fraction, before shuffling), same partial last batch.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness import torch_models
from harness.clock import EpochClock
from harness.workloads import Workload

EVAL_CHUNK = 2048


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensors(workload: Workload, x: np.ndarray, y: np.ndarray | None, dev: torch.device) -> tuple:
    tx = torch.from_numpy(x)
    if workload.channels:  # NHWC with one channel -> NCHW is a reshape
        tx = tx.reshape(len(x), 1, 28, 28)
    ty = None if y is None else torch.from_numpy(y).to(dev)
    return tx.to(dev), ty


def split_at(n: int, validation_split: float) -> int:
    """Keras's split: the first ceil(n * (1 - split)) samples train."""
    return math.ceil(n * (1.0 - validation_split)) if validation_split else n


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for i in range(0, len(x), EVAL_CHUNK):
        logits = model(x[i:i + EVAL_CHUNK])
        yb = y[i:i + EVAL_CHUNK]
        loss_sum += F.cross_entropy(logits, yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def train(workload: Workload, x: np.ndarray, y: np.ndarray, epochs: int, fast: bool) -> dict[str, Any]:
    start = time.perf_counter()
    dev = device()
    torch.manual_seed(0)
    model = torch_models.build(workload.name, workload.features).to(dev)
    tx, ty = to_tensors(workload, x, y, dev)
    if fast and workload.channels:
        model = model.to(memory_format=torch.channels_last)
        tx = tx.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True if fast else None)
    n_train = split_at(len(tx), workload.validation_split)
    xt, yt, xv, yv = tx[:n_train], ty[:n_train], tx[n_train:], ty[n_train:]
    batch = workload.batch
    result: dict[str, Any] = {"epoch_s": [], "epoch_cpu_s": [], "accuracy": [], "val_accuracy": [], "loss": []}
    clock = EpochClock(result, start)
    for _ in range(epochs):
        clock.begin()
        model.train()
        perm = torch.randperm(n_train, device=dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        for i in range(0, n_train, batch):
            idx = perm[i:i + batch]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                correct += (logits.argmax(1) == yb).sum()
        result["loss"].append(loss_sum.item() / n_train)
        result["accuracy"].append(correct.item() / n_train)
        if len(xv):
            result["val_accuracy"].append(evaluate(model, xv, yv)[1])
        clock.end()
    return result


def predict(workload: Workload, x: np.ndarray, repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    dev = device()
    torch.manual_seed(0)
    model = torch_models.build(workload.name).to(dev).eval()
    result: dict[str, Any] = {"epoch_s": [], "epoch_cpu_s": []}
    clock = EpochClock(result, start)
    for _ in range(repeats):
        clock.begin()
        with torch.inference_mode():  # numpy in, numpy probabilities out, as predict() does
            tx = torch.from_numpy(x).to(dev)
            out = torch.cat([torch.softmax(model(tx[i:i + workload.batch]), 1)
                             for i in range(0, len(tx), workload.batch)]).cpu().numpy()
        clock.end()
    result["output_shape"] = list(out.shape)
    return result


def run(workload: Workload, data: tuple, epochs: int, *, fast: bool = True) -> dict[str, Any]:
    """`fast`: fused Adam and channels_last (the `torch` row); else torch's defaults (`torch-default-adam`)."""
    if workload.kind == "predict":
        return predict(workload, data[0], epochs)
    return train(workload, data[0], data[1], epochs, fast)


def versions() -> dict[str, Any]:
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "device": str(device())}
