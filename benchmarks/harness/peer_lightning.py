"""The PyTorch Lightning peer, written as a Lightning user writes it.

A LightningModule around the hand loop's torch model (cross-entropy from logits, fused Adam,
loss and accuracy logged per epoch), `DataLoader(TensorDataset(...), batch_size, shuffle=True)`
for training and an unshuffled one for validation, and a `Trainer` with logging, checkpoints,
the progress bar, the model summary and the sanity-check validation turned off. Epoch time runs
from `on_train_epoch_start` to `on_train_epoch_end`, which Lightning calls after the epoch's
validation.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from harness import torch_models
from harness.clock import EpochClock
from harness.peer_torch import split_at, to_tensors
from harness.workloads import Workload


class Classifier(L.LightningModule):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _metrics(self, batch: tuple, prefix: str) -> torch.Tensor:
        x, y = batch
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.log(f"{prefix}loss", loss, on_step=False, on_epoch=True)
        self.log(f"{prefix}accuracy", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True)
        return loss

    def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
        return self._metrics(batch, "")

    def validation_step(self, batch: tuple, batch_idx: int) -> None:
        self._metrics(batch, "val_")

    def predict_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
        return torch.softmax(self.model(batch[0]), 1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-3, eps=1e-7, fused=True)


class EpochTimer(L.Callback):
    def __init__(self, start: float, result: dict[str, Any]) -> None:
        self.result, self.clock = result, EpochClock(result, start)

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.begin()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.end()
        for key in ("loss", "accuracy", "val_accuracy"):
            if key in trainer.callback_metrics:
                self.result[key].append(float(trainer.callback_metrics[key]))


def trainer(epochs: int, callbacks: list) -> L.Trainer:
    return L.Trainer(max_epochs=epochs, accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                     callbacks=callbacks)


def run(workload: Workload, data: tuple, epochs: int) -> dict[str, Any]:
    warnings.filterwarnings("ignore")  # the num_workers hint, the TPU/GPU availability lines
    start = time.perf_counter()
    torch.manual_seed(0)
    module = Classifier(torch_models.build(workload.name, workload.features))
    x, y = data
    tx, ty = to_tensors(workload, x, y if y is not None else np.zeros(len(x), np.int64), torch.device("cpu"))
    result: dict[str, Any] = {"epoch_s": [], "epoch_cpu_s": [], "loss": [], "accuracy": [], "val_accuracy": []}
    if workload.kind == "predict":
        loader = DataLoader(TensorDataset(tx), batch_size=workload.batch)
        tr = trainer(1, [])
        clock = EpochClock(result, start)
        for _ in range(epochs):
            clock.begin()
            out = torch.cat(tr.predict(module, loader)).numpy()
            clock.end()
        result["output_shape"] = list(out.shape)
        return result
    n_train = split_at(len(tx), workload.validation_split)
    train_loader = DataLoader(TensorDataset(tx[:n_train], ty[:n_train]), batch_size=workload.batch, shuffle=True)
    val_loader = None
    if n_train < len(tx):
        val_loader = DataLoader(TensorDataset(tx[n_train:], ty[n_train:]), batch_size=workload.batch)
    trainer(epochs, [EpochTimer(start, result)]).fit(module, train_loader, val_loader)
    return result


def versions() -> dict[str, Any]:
    return {"lightning": L.__version__, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
