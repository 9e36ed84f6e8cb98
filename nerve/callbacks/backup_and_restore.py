"""BackupAndRestore: resume an interrupted fit from its last finished epoch."""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from nerve.callbacks.callback import Callback, print_msg
from nerve.distribution.runtime import is_main_process, rank
from nerve.saving.integrity import H5_USERBLOCK, verify

__all__ = ["BackupAndRestore"]

_FILE = "latest.h5"


def _write_state(group: h5py.Group, state: dict[str, Any]) -> None:
    """Store a callback's state_dict: arrays as datasets, lists of arrays as groups, the rest as JSON."""
    scalars = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (np.ndarray, torch.Tensor)) for v in value):
            sub = group.create_group(key)
            sub.attrs["list"] = True
            for i, v in enumerate(value):
                sub.create_dataset(str(i), data=np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v))
        else:
            scalars[key] = value
    group.attrs["json"] = json.dumps(scalars, default=float)


def _read_state(group: h5py.Group) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(group.attrs.get("json", "{}"))
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            state[key] = [np.asarray(item[str(i)][()]) for i in range(len(item))]
        else:
            state[key] = np.asarray(item[()])
    return state


def _non_finite(logs: Any) -> list[str]:
    """The log keys whose values are NaN or infinite."""
    bad = []
    for key, value in (logs or {}).items():
        try:
            if not math.isfinite(float(value)):
                bad.append(key)
        except (TypeError, ValueError):
            continue
    return bad


class BackupAndRestore(Callback):
    """Back up training at the end of every epoch; a restarted `fit` resumes from the last one.

    In a data-parallel job rank 0 writes the backup and every process reads it, so
    `backup_dir` must be a folder all processes see; the job may resume with a
    different number of processes.

    The backup (one HDF5 file, written atomically) holds the weights, the
    optimizer state, the epoch counter, the random number generators' states
    and the state of every other callback that has `state_dict()`, so the
    resumed run continues exactly as the interrupted one would have. When `fit`
    finishes normally the backup is deleted (unless `delete_checkpoint=False`).
    An epoch whose logs hold a NaN or infinite value (a diverged run, e.g. stopped
    by TerminateOnNaN) is not backed up, and the last good backup is kept when
    training ends that way (Keras would overwrite it with the NaN weights, then
    delete it).

    Args:
        backup_dir: folder for the backup file (created if missing).
        save_freq: "epoch" (default), or back up every this many batches too.
        delete_checkpoint: delete the backup when training completes (default True).

    Example:
        >>> model.fit(x, y, epochs=100, callbacks=[BackupAndRestore("backup")])
        >>> # killed at epoch 42; the same command again resumes at epoch 43
    """

    _runs_last = True  # see CallbackList: back up after, and restore after, the other callbacks

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir. Received: backup_dir=None")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive int. Received: save_freq={save_freq!r}")
        self.backup_dir = Path(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._epoch = 0
        self._batches = 0
        self._diverged = False

    @property
    def path(self) -> Path:
        return self.backup_dir / _FILE

    def _peers(self) -> list[Callback]:
        callbacks = getattr(self.model, "_callbacks", None)
        return [cb for cb in (callbacks or []) if cb is not self and hasattr(cb, "state_dict")]

    def on_train_begin(self, logs: Any = None) -> None:
        self._batches = 0
        self._diverged = False
        if not self.path.exists():
            return
        from nerve.saving.weights_io import read_optimizer, read_weights

        verify(self.path)  # a damaged backup is refused, not half-restored
        with h5py.File(self.path, "r") as handle:
            read_weights(handle["model"], self.model)
            read_optimizer(handle, self.model.optimizer)
            epoch = int(handle.attrs["epoch"])
            self._restore_rng(handle["rng"])
            if rank():  # rank 0's generators were saved; the others derive their own from them
                torch.manual_seed(int(torch.randint(0, 2**62, (1,))) + rank())
            peers = self._peers()
            saved = handle.get("callbacks")
            for i, cb in enumerate(peers):
                key = f"{i}_{type(cb).__name__}"
                if saved is not None and key in saved:
                    cb.load_state_dict(_read_state(saved[key]))
        self.model._resume_epoch = epoch + 1

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % int(self.save_freq) == 0:
            # A mid-epoch backup resumes at the start of this epoch.
            self._backup(self._epoch - 1)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        bad = _non_finite(logs)
        if bad:
            # The weights are likely NaN too: keep the last good backup rather than replace it.
            self._diverged = True
            print_msg(f"Epoch {epoch + 1}: BackupAndRestore keeps the backup of the last epoch with finite "
                      f"{', '.join(bad)} ({self.path}).", flush=True)
            return
        self._backup(epoch)

    def on_train_end(self, logs: Any = None) -> None:
        if self._diverged:
            return  # training ended on a non-finite loss: the last good state stays for a restart
        if self.delete_checkpoint and self.path.exists() and is_main_process():
            self.path.unlink()

    def _backup(self, epoch: int) -> None:
        from nerve.saving.atomic import atomic_path
        from nerve.saving.weights_io import write_optimizer, write_weights

        if not is_main_process():
            return  # data-parallel: the processes hold the same weights; rank 0 writes them

        with atomic_path(self.path, seal=True) as tmp:
            with h5py.File(tmp, "w", userblock_size=H5_USERBLOCK) as handle:
                handle.attrs["epoch"] = epoch
                write_weights(handle.create_group("model"), self.model)
                if self.model.optimizer is not None:
                    write_optimizer(handle, self.model.optimizer)
                self._save_rng(handle.create_group("rng"))
                peers = handle.create_group("callbacks")
                for i, cb in enumerate(self._peers()):
                    _write_state(peers.create_group(f"{i}_{type(cb).__name__}"), cb.state_dict())

    @staticmethod
    def _save_rng(group: h5py.Group) -> None:
        group.create_dataset("torch", data=torch.get_rng_state().numpy())
        if torch.cuda.is_available():
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                group.create_dataset(f"cuda_{i}", data=state.numpy())
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        group.create_dataset("numpy_keys", data=keys)
        group.attrs["numpy"] = json.dumps([kind, int(pos), int(has_gauss), float(cached)])
        group.attrs["python"] = json.dumps(random.getstate(), default=list)

    @staticmethod
    def _restore_rng(group: h5py.Group) -> None:
        torch.set_rng_state(torch.from_numpy(np.asarray(group["torch"][()], dtype=np.uint8)))
        if torch.cuda.is_available():
            states = [torch.from_numpy(np.asarray(group[k][()], dtype=np.uint8))
                      for k in sorted(k for k in group if k.startswith("cuda_"))]
            if len(states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(states)
        kind, pos, has_gauss, cached = json.loads(group.attrs["numpy"])
        np.random.set_state((kind, np.asarray(group["numpy_keys"][()]), pos, has_gauss, cached))
        version, internal, gauss = json.loads(group.attrs["python"])
        random.setstate((version, tuple(internal), gauss))
