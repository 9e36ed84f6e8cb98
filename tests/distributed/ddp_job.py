"""A training script as users write it, run by the distributed tests under torchrun (or alone).

Usage: python ddp_job.py OUT_DIR [--batch 32] [--epochs 3] [--shuffle 0|1] [--patience N]
       [--kill-rank R --kill-epoch E] [--backup DIR] [--sync-bn]

Writes OUT_DIR/rank<R>.npz (final weights) and OUT_DIR/history<R>.json; checkpoints and the CSV log
go to OUT_DIR. The digits data are loaded the same way on every process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import nerve as keras  # noqa: E402


class KillAt(keras.callbacks.Callback):
    """SIGKILL this process in the middle of an epoch (a crash no Python code sees), hang it, or raise."""

    def __init__(self, rank: int, epoch: int, hang: str = "kill") -> None:
        super().__init__()
        self.rank, self.epoch, self.current, self.hang = rank, epoch, 0, hang

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 3 and keras.distribution.rank() == self.rank:
            if self.hang == "hang":
                time.sleep(3600)
            if self.hang == "raise":
                raise RuntimeError(f"injected failure on rank {self.rank}")
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--shuffle", type=int, default=1)
    parser.add_argument("--patience", type=int, default=0)
    parser.add_argument("--kill-rank", type=int, default=-1)
    parser.add_argument("--kill-epoch", type=int, default=-1)
    parser.add_argument("--hang", action="store_const", const="hang", default="kill", dest="how",
                        help="hang instead of dying")
    parser.add_argument("--raise", action="store_const", const="raise", dest="how",
                        help="raise an exception instead of dying")
    parser.add_argument("--first-attempt-only", action="store_true",
                        help="kill only in torchrun's first attempt (TORCHELASTIC_RESTART_COUNT=0)")
    parser.add_argument("--backup", default=None)
    parser.add_argument("--bn", action="store_true")
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--dropout", action="store_true")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--loader", action="store_true", help="train from a torch DataLoader (no shuffle)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--unseeded-split", action="store_true", help="shuffle the data with fresh entropy")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    if args.sync_bn:
        keras.distribution.set_distribution(keras.distribution.DataParallel(sync_batchnorm=True))
    (x, y), _ = keras.datasets.digits.load_data()
    x = x.reshape(len(x), -1).astype("float32") / 255.0
    x, y = x[:args.samples], y[:args.samples]
    if args.unseeded_split:  # the classic mistake: every process gets its own order
        order = np.random.default_rng().permutation(len(x))
        x, y = x[order], y[order]
    layers = [keras.Input((64,)), keras.layers.Dense(32, activation="relu")]
    if args.bn:
        layers.append(keras.layers.BatchNormalization())
    if args.dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    saves = []
    save = model.save
    model.save = lambda *a, **k: (saves.append(a[0]), save(*a, **k))  # count the checkpoint writes
    model.compile(optimizer=args.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [
        keras.callbacks.ModelCheckpoint(os.path.join(args.out, "best.keras"), monitor="val_loss",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(os.path.join(args.out, "log.csv")),
    ]
    if args.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, min_delta=10.0,
                                                       verbose=1))
    if args.kill_rank >= 0 and not (args.first_attempt_only and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0"):
        callbacks.append(KillAt(args.kill_rank, args.kill_epoch, args.how))
    if args.backup:
        callbacks.append(keras.callbacks.BackupAndRestore(args.backup))
    if args.loader:
        import torch

        n = int(len(x) * 0.8)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(x[:n]), torch.from_numpy(y[:n]).long()),
            batch_size=args.batch)
        history = model.fit(loader, epochs=args.epochs, validation_data=(x[n:], y[n:]), callbacks=callbacks,
                            verbose=2)
    else:
        history = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, validation_split=0.2,
                            shuffle=bool(args.shuffle), callbacks=callbacks, verbose=2)
    rank = keras.distribution.rank()
    np.savez(os.path.join(args.out, f"rank{rank}.npz"), *[w for w in model.get_weights()])
    evaluated = model.evaluate(x[800:], y[800:], batch_size=50, verbose=0, return_dict=True)
    predicted = model.predict(x[:101], batch_size=16, verbose=0)
    with open(os.path.join(args.out, f"history{rank}.json"), "w") as f:
        json.dump({"history": history.history, "epochs": history.epoch, "evaluate": evaluated,
                   "predict_shape": list(predicted.shape), "predict_sum": float(predicted.sum()),
                   "world_size": keras.distribution.world_size(),
                   "saves": len(saves)}, f)


if __name__ == "__main__":
    main()
