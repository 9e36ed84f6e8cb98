"""The Trainer: compile, fit, evaluate and predict — the one training loop of nerve.

`Model` inherits from `Trainer`. The loop keeps everything on the device:
data is moved once, batches are gathered there, the loss and metrics are
accumulated there, and values are read back to the host only when a progress
bar redraws or an epoch ends.
"""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
from typing import Any

import torch

from nerve import optimizers as optimizers_module
from nerve.callbacks.callback_list import CallbackList, LazyLogs
from nerve.callbacks.history import History
from nerve.callbacks.progbar_logger import ProgbarLogger
from nerve.distribution import data_parallel, runtime
from nerve.training import data_adapter
from nerve.training.checks import (
    check_names,
    check_has_layers,
    check_fit_arguments,
    adapt_validation,
    target_name,
    builtin_loss_fn,
    check_targets,
)
from nerve.training.compile_utils import CompiledLoss, CompiledMetrics

__all__ = ["Trainer"]


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


class Trainer:
    """Training, evaluation and prediction for `Model` (mixed in; not used alone)."""

    compiled: bool = False
    optimizer: Any = None
    stop_training: bool = False
    # Set for the duration of a data-parallel fit/evaluate/predict (nerve.distribution):
    _replicas: data_parallel.DataParallel | None = None
    _train_forward: Any = None  # DistributedDataParallel around the training forward

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: name or optimizer instance (default "rmsprop", as in Keras).
            loss: a loss name, function or Loss object; a list or dict for
                several outputs.
            loss_weights: optional list or dict of scalar weights per output.
            metrics: a metric, a list of metrics, a list of lists or a dict by
                output name. A single string (`metrics="accuracy"`) and the
                function `nerve.metrics.accuracy` are accepted too (Keras 3
                refuses both); "accuracy" becomes binary, sparse or categorical
                accuracy from the shapes of labels and outputs.
            weighted_metrics: metrics that use `sample_weight` / `class_weight`.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss:
                accepted for Keras compatibility; nerve always runs eagerly on torch.

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        self.optimizer = optimizers_module.get(optimizer)
        check_names(loss, metrics, weighted_metrics)
        self.loss = loss
        self._compile_args = {
            "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        self._compiled_loss: CompiledLoss | None = None
        self._compiled_metrics: CompiledMetrics | None = None
        self._optimizer_params: list[torch.nn.Parameter] | None = None
        self.compiled = True
        if loss is not None and self.built:
            self._make_compiled_objects()

    def _make_compiled_objects(self) -> None:
        names = self._output_names()
        if self._compiled_loss is None:
            args = self._compile_args
            if args["loss"] is None:
                raise ValueError(
                    "compile() was called without a loss, so the model cannot be trained or evaluated. "
                    "Call model.compile(optimizer=..., loss=...) with a loss, e.g. loss='mse'."
                )
            self._compiled_loss = CompiledLoss(args["loss"], args["loss_weights"], names)
            self._compiled_metrics = CompiledMetrics(args["metrics"], args["weighted_metrics"], names)

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {method}(). "
                "For example: model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                "metrics=['accuracy'])"
            )

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values `evaluate` returns: 'loss' first, then the metrics."""
        if self._compiled_loss is None:
            return ["loss"] if self.compiled else []
        names = self._compiled_loss.names()
        if self._compiled_metrics is not None:
            keys = [k for k, _ in self._compiled_metrics.named()]
            # Keras's order: compile order for one output; sorted when keys carry output names.
            names += keys if len(self._output_names()) == 1 else sorted(keys)
        return names

    @property
    def metrics(self) -> list[Any]:
        """The metric objects the model tracks (after the first batch)."""
        if self._compiled_metrics is None:
            return []
        return [m for _, m in self._compiled_metrics.named()]

    def reset_metrics(self) -> None:
        """Reset the running loss and metric averages."""
        if self._compiled_loss is not None:
            self._compiled_loss.reset_state()
        if self._compiled_metrics is not None:
            self._compiled_metrics.reset_state()

    # ---------------------------------------------------------------- data
    def _flat_targets(self, y: Any) -> list[Any]:
        return data_adapter.match_names(y, self._output_names(), "output", self.name, required=False)

    def _flat_weights(self, sw: Any) -> list[Any]:
        return data_adapter.match_names(sw, self._output_names(), "output", self.name, required=False,
                                        broadcast=True)

    def _prepare(self, data: data_adapter.ArrayData | data_adapter.IterableData, method: str) -> None:
        """Build the model and compiled objects, and check the data, before any step."""
        check_has_layers(self, method)
        self._build_from_data(data)
        self._make_compiled_objects()
        self._check_data(data, method)

    def _check_data(self, data: data_adapter.ArrayData | data_adapter.IterableData, method: str,
                    validation: bool = False) -> None:
        """Refuse data this model cannot train on, before any step; once per call, never per step.

        Arrays are checked whole; an iterable by its first batch (which it keeps, so nothing is
        read twice). In order: the input shapes, x/y matching the outputs, NaN/Inf (fit and
        evaluate only; y only where a built-in loss reads it), and the targets against each
        output's loss (kind, range, shape) and the sample weights' shape.
        """
        if isinstance(data, data_adapter.ArrayData):
            x, y, sw = data.x, data.y, data.sample_weight
            first, where = getattr(data, "first_sample", 0), ""
        else:
            x, y, sw = data.peek()
            first, where = 0, " (first batch)"
        try:
            self._check_parts(x, y, sw, method, first, where)
        except ValueError as err:
            if not validation:
                raise
            source = (f"the last {data.num_samples} samples of x, which validation_split keeps for validation"
                      if first else "validation_data")
            raise ValueError(f"In {source}: {err}") from None

    def _check_parts(self, x: Any, y: Any, sw: Any, method: str, first: int, where: str) -> None:
        self._check_inputs(x)
        assert self._compiled_loss is not None
        names, fns = self._output_names(), self._compiled_loss.fns
        targets = self._flat_targets(y) if y is not None else [None] * len(names)
        weights = self._flat_weights(sw)
        if method in ("fit", "evaluate"):
            parts: list[tuple[str, Any]] = [("x", x)]
            for i, (fn, t) in enumerate(zip(fns, targets)):
                if t is not None and builtin_loss_fn(fn) is not None:  # a custom loss may mask NaN labels
                    parts.append((target_name(y, i, names[i]), t))
            parts.append(("sample_weight", sw))
            data_adapter.check_finite(parts, method, first, where)
        if y is None:
            return
        for i, (fn, t, shape) in enumerate(zip(fns, targets, self._output_shapes())):
            if fn is None or t is None or shape is None:
                continue
            check_targets(fn, t, shape, names[i], weights[i])

    def _apply_class_weight(self, data: data_adapter.ArrayData, class_weight: dict) -> None:
        if len(self._output_names()) != 1:
            raise ValueError("class_weight is only supported for models with a single output; use sample_weight.")
        y = data.y
        if y.dim() > 1 and y.shape[-1] > 1:
            labels = y.argmax(-1)
        else:
            labels = y.reshape(y.shape[0], -1)[:, 0].long()
        top = int(labels.max().item()) + 1
        table = torch.ones(max(top, max(int(k) for k in class_weight) + 1), device=y.device)
        for k, w in class_weight.items():
            table[int(k)] = float(w)
        weights = table[labels]
        data.sample_weight = weights if data.sample_weight is None else data.sample_weight * weights

    # ---------------------------------------------------------------- steps
    def _regularization_loss(self) -> torch.Tensor | None:
        terms = [reg(var.value) for var, reg in self._regularized]
        for layer in self._activity_layers:
            terms.extend(layer._activity_losses)
        if not terms:
            return None
        return torch.stack([t.reshape(()) for t in terms]).sum()

    def _collect_regularizers(self) -> None:
        from nerve.layers.layer import Layer

        self._regularized = []
        self._activity_layers = []
        self._constrained = []
        for module in self.modules():
            if isinstance(module, Layer):
                self._regularized.extend(module._weight_regularizers)
                if module.activity_regularizer is not None:
                    self._activity_layers.append(module)
                for var in module._trainable_vars + module._non_trainable_vars:
                    if getattr(var, "constraint", None) is not None:
                        self._constrained.append(var)

    def _loss_and_outputs(self, x: Any, y: Any, sw: Any, training: bool) -> tuple[torch.Tensor, list, list, list]:
        if training and self._train_forward is not None:
            y_pred = self._train_forward(x)  # DistributedDataParallel: backward all-reduces the gradients
        else:
            y_pred = self._forward_flat(x, training=training)
        ys = self._flat_targets(y)
        sws = self._flat_weights(sw)
        assert self._compiled_loss is not None and self._compiled_metrics is not None
        loss = self._compiled_loss(ys, y_pred, sws)
        reg = self._regularization_loss()
        if reg is not None:
            loss = loss + reg
        if not self._compiled_metrics.built:
            self._compiled_metrics.build(ys, y_pred)
        return loss, y_pred, ys, sws

    def _train_step(self, x: Any, y: Any, sw: Any, before_step: Any = None, step: int = 0,
                    scale: float = 1.0, count: int | None = None) -> None:
        """One optimizer step. Data-parallel: `count` is this process's share of the global
        batch and `scale` turns its mean loss into its part of the global mean."""
        loss, y_pred, ys, sws = self._loss_and_outputs(x, y, sw, training=True)
        if self._optimizer_params:
            (loss if scale == 1.0 else loss * scale).backward()
            if before_step is not None:  # CallbackList.on_before_optimizer_step, when a callback wants it
                before_step(step)
            self.optimizer.step()
        if self._constrained:
            with torch.no_grad():
                for var in self._constrained:
                    var.value.copy_(var.constraint(var.value))
        n = int(y_pred[0].shape[0]) if count is None else count
        if n:
            self._compiled_loss.track_total(loss, n)
            self._compiled_metrics.update(ys, y_pred, sws)

    def _test_step(self, x: Any, y: Any, sw: Any) -> None:
        loss, y_pred, ys, sws = self._loss_and_outputs(x, y, sw, training=False)
        self._compiled_loss.track_total(loss, int(y_pred[0].shape[0]))
        self._compiled_metrics.update(ys, y_pred, sws)

    def _current_logs(self) -> dict[str, torch.Tensor]:
        logs: dict[str, torch.Tensor] = {}
        if self._compiled_loss is not None:
            for tracker in self._compiled_loss.all_trackers():
                logs[tracker.name] = tracker.result()
        if self._compiled_metrics is not None:
            for key, metric in self._compiled_metrics.named():
                logs[key] = metric.result()
        return dict(sorted(logs.items()))

    def _read_logs(self) -> dict[str, Any]:
        """The logs as floats; in a data-parallel job, over all processes' samples."""
        if self._replicas is None:
            return LazyLogs(self._current_logs).as_dict()
        trackers = self._compiled_loss.all_trackers() if self._compiled_loss is not None else []
        packed = torch.tensor([v for t in trackers for v in t.state()], dtype=torch.float64)
        states = [(packed, "sum")] + [(var.value, getattr(var, "aggregation", "sum"))
                                      for m in self.metrics for var in m.variables]
        with self._replicas.global_state(states):
            saved = [(t.total, t.count) for t in trackers]
            for i, t in enumerate(trackers):
                t.load_state(float(packed[2 * i]), float(packed[2 * i + 1]))
            try:
                return LazyLogs(self._current_logs).as_dict()
            finally:
                for t, (total, count) in zip(trackers, saved):
                    t.total, t.count = total, count

    def _prepare_optimizer(self) -> None:
        params = [v.value for v in self.trainable_weights]
        if not params:
            warnings.warn(
                f"Model '{self.name}' has no trainable weights (all layers are frozen): fit will compute "
                "the loss and metrics but change nothing. Set layer.trainable = True to train.",
                stacklevel=3,
            )
        if self._optimizer_params is None or [id(p) for p in params] != [id(p) for p in self._optimizer_params]:
            self.optimizer.build(params)
            self._optimizer_params = params
        for p in params:
            p.grad = None

    def _make_callbacks(self, callbacks: Any, verbose: int, epochs: int, steps: int | None) -> CallbackList:
        # Keras's order: the user's callbacks, then History, then the progress bar,
        # so keys that callbacks add to the epoch logs reach both.
        user = list(callbacks or [])
        if not any(isinstance(cb, History) for cb in user):
            user.append(History())
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in user):
            user.append(ProgbarLogger(verbose=verbose))
        return CallbackList(user, model=self, epochs=epochs, steps=steps, verbose=verbose)

    # ---------------------------------------------------------------- fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: list | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool | str = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Train the model for `epochs` passes over the data; returns a History.

        Args:
            x: inputs: an array (numpy, torch, list), a list or dict of arrays
                for several inputs, or an iterable/DataLoader of `(x, y)` batches.
            y: targets, like `x` (omit when `x` yields batches).
            batch_size: samples per step (default 32).
            epochs: index of the last epoch (default 1).
            verbose: "auto" (=1), 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: list of `nerve.callbacks.Callback`.
            validation_split: fraction in (0, 1) of the data, taken from the
                end before shuffling, used only for validation.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight)`
                or an iterable of batches; takes precedence over validation_split.
            shuffle: shuffle the training samples each epoch (default True).
            class_weight: dict {class index: weight} scaling each sample's loss.
            sample_weight: array of per-sample loss weights.
            initial_epoch: epoch to start from (to resume a run; default 0).
            steps_per_epoch: batches per epoch (default: the whole data).
            validation_steps: batches per validation pass (default: all).
            validation_batch_size: batch size for validation (default batch_size).
            validation_freq: validate every this many epochs (default 1).

        Returns:
            A `History` whose `.history` maps `loss`, the metrics and their
            `val_` versions to one value per epoch (batch-size weighted averages).

        Example:
            >>> history = model.fit(x_train, y_train, epochs=20, batch_size=128,
            ...                     validation_split=0.2)
        """
        self._assert_compiled("fit")
        verbose = _resolve_verbose(verbose)
        check_fit_arguments(epochs, initial_epoch, validation_split, validation_freq, steps_per_epoch,
                             validation_steps, validation_batch_size)
        cap = os.environ.get("NERVE_MAX_EPOCHS")
        if cap:
            # Smoke-test switch: run tutorial scripts unchanged but short.
            epochs = min(int(epochs), int(initial_epoch) + int(cap))
        device = self._device()
        data = data_adapter.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                  steps=steps_per_epoch, device=device)
        val_data = None
        if validation_data is not None:
            vx, vy, vsw = data_adapter.unpack(validation_data) if not data_adapter.is_iterable_source(
                validation_data) else (validation_data, None, None)
            if vy is None and not data_adapter.is_iterable_source(vx):
                raise ValueError(
                    "validation_data needs targets: pass (x_val, y_val) or (x_val, y_val, sample_weight). "
                    f"Received: a {type(validation_data).__name__} of length "
                    f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}"
                )
            val_data = adapt_validation(vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                                         steps=validation_steps, device=device)
        elif validation_split:
            if not isinstance(data, data_adapter.ArrayData):
                raise ValueError(
                    "validation_split only works with arrays; with a DataLoader or generator, "
                    "pass validation_data instead."
                )
            data, val_data = data_adapter.train_validation_split(data, validation_split)
            if validation_batch_size:
                val_data.batch_size = data_adapter._check_batch_size(validation_batch_size)
            val_data.shuffle = False
        self._prepare(data, "fit")
        if val_data is not None and isinstance(val_data, data_adapter.ArrayData):
            self._check_data(val_data, "fit", validation=True)
        if class_weight:
            if not isinstance(data, data_adapter.ArrayData):
                raise ValueError("class_weight needs array data; weight the batches of your iterable instead.")
            self._apply_class_weight(data, class_weight)
        self._collect_regularizers()
        self._prepare_optimizer()
        dp = data_parallel.active()
        with self._data_parallel(dp):
            if dp is not None:
                data = dp.shard_train(data)
                if val_data is not None:
                    val_data = dp.shard_eval(val_data, "The validation data")
                # Kept out of the module tree (DDP holds the model: a registered child would make a cycle).
                self.__dict__["_train_forward"] = dp.wrap(self, self._optimizer_params or [])
                if verbose and runtime.is_main_process():
                    print(dp.describe(getattr(data, "batch_size", None)), flush=True)
            return self._fit_loop(data, val_data, callbacks, verbose, epochs, initial_epoch, validation_freq)

    @contextlib.contextmanager
    def _data_parallel(self, dp: data_parallel.DataParallel | None) -> Any:
        """Mark a data-parallel call; a lost peer becomes a DistributedError; processes leave together."""
        if dp is None:
            yield
            return
        self._replicas = dp
        try:
            with runtime.collective(f"{type(self).__name__} '{self.name}'"):
                yield
                runtime.barrier()  # e.g. rank 0's last checkpoint is on disk before anyone reads it
        finally:
            self._replicas = None
            if self.__dict__.pop("_train_forward", None) is not None:
                # DistributedDataParallel sits in reference cycles; freed only by the cyclic GC, it could
                # outlive the process group and abort the interpreter's exit ("terminate called ...").
                gc.collect()

    def _fit_loop(self, data: Any, val_data: Any, callbacks: Any, verbose: int, epochs: int,
                  initial_epoch: int, validation_freq: int) -> History:
        dp = self._replicas
        cbs = self._make_callbacks(callbacks, verbose, epochs, data.steps)
        want_begin = cbs.wants("on_train_batch_begin")
        want_end = cbs.wants("on_train_batch_end")
        before_step = cbs.on_before_optimizer_step if cbs.wants("on_before_optimizer_step") else None
        # Data-parallel: a callback may stop training after any batch (TerminateOnNaN), so the
        # processes then agree after every batch; the callbacks are the same on every process.
        agree_each_step = dp is not None and cbs.wants_on_every_process("on_train_batch_end",
                                                                        "on_train_batch_begin")
        self.stop_training = False
        self._callbacks = cbs.callbacks
        self._resume_epoch: int | None = None
        epoch_logs: dict[str, Any] = {}
        cbs.on_train_begin()
        if dp is not None:
            runtime.agree([-1 if self._resume_epoch is None else self._resume_epoch],
                          "the epoch to resume from (BackupAndRestore's backup_dir must be a folder every "
                          "process sees)")
        if self._resume_epoch is not None:  # set by BackupAndRestore
            initial_epoch = max(int(initial_epoch), self._resume_epoch)
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                self.train()
                for step, (bx, by, bsw) in enumerate(data):
                    if want_begin:
                        cbs.on_train_batch_begin(step)
                    if dp is None:
                        self._train_step(bx, by, bsw, before_step, step)
                    else:
                        self._train_step(bx, by, bsw, before_step, step, data.scale, data.count)
                    if want_end:
                        cbs.on_train_batch_end(step, LazyLogs(self._current_logs))
                    if agree_each_step:
                        self.stop_training = dp.any(self.stop_training, "agreeing to stop training")
                    if self.stop_training:
                        break
                epoch_logs = self._read_logs()
                if val_data is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_loop(val_data, cbs)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if dp is not None:  # EarlyStopping & co. decide on global logs; every process stops alike
                    self.stop_training = dp.any(self.stop_training, "agreeing to stop training")
                if self.stop_training:
                    break
        finally:
            self.eval()
        cbs.on_train_end(epoch_logs)
        history = next(cb for cb in cbs if isinstance(cb, History))
        self.history = history
        return history

    # ---------------------------------------------------------------- evaluate
    def _evaluate_loop(self, data: Any, cbs: CallbackList) -> dict[str, Any]:
        self.reset_metrics()
        self.eval()
        want_begin = cbs.wants("on_test_batch_begin")
        want_end = cbs.wants("on_test_batch_end")
        cbs.on_test_begin()
        with torch.no_grad():
            for step, (bx, by, bsw) in enumerate(data):
                if want_begin:
                    cbs.on_test_batch_begin(step)
                if by is None:
                    raise ValueError("evaluate needs targets: pass y, or batches of (x, y).")
                self._test_step(bx, by, bsw)
                if want_end:
                    cbs.on_test_batch_end(step, LazyLogs(self._current_logs))
        logs = self._read_logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list | None = None,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Compute the loss and metrics on data, in inference mode.

        Args:
            x, y, sample_weight: as in `fit`.
            batch_size: samples per batch (default 32).
            verbose: "auto" (=1), 0 or 1.
            steps: number of batches (default: all the data).
            callbacks: callbacks receiving the `on_test_*` hooks.
            return_dict: return `{name: value}` instead of a list.

        Returns:
            The loss alone if there are no metrics, else `[loss, *metrics]`
            in `model.metrics_names` order, or a dict with `return_dict=True`.

        Example:
            >>> loss, accuracy = model.evaluate(x_test, y_test)
        """
        self._assert_compiled("evaluate")
        verbose = _resolve_verbose(verbose)
        data_adapter.check_positive_int("steps", steps)
        data = data_adapter.adapt(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                  device=self._device())
        self._prepare(data, "evaluate")
        self._collect_regularizers()
        dp = data_parallel.active()
        with self._data_parallel(dp):
            if dp is not None:
                data = dp.shard_eval(data, "The data passed to evaluate()")
            cbs = CallbackList(
                list(callbacks or []) + ([ProgbarLogger(verbose=verbose)] if verbose else []),
                model=self, epochs=1, steps=data.steps, verbose=verbose,
            )
            return self._results(self._evaluate_loop(data, cbs), return_dict)

    # ---------------------------------------------------------------- predict
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> Any:
        """Return the model's outputs for `x` as numpy arrays, in inference mode.

        Args:
            x: inputs as in `fit` (targets in batches are ignored).
            batch_size: samples per batch (default 32).
            verbose: "auto" (=1), 0 or 1.
            steps: number of batches (default: all the data).
            callbacks: callbacks receiving the `on_predict_*` hooks.

        Returns:
            One array for a single-output model; a list (or dict) for several outputs.

        Example:
            >>> probabilities = model.predict(x_test)
            >>> classes = probabilities.argmax(axis=1)
        """
        verbose = _resolve_verbose(verbose)
        data_adapter.check_positive_int("steps", steps)
        data = data_adapter.adapt(x, batch_size=batch_size, steps=steps, device=self._device())
        dp = data_parallel.active()
        if dp is None or not isinstance(data, data_adapter.ArrayData) or steps is not None:
            return self._predict_loop(data, verbose, callbacks)  # iterables: every process predicts all
        with self._data_parallel(dp):
            self._build_from_data(data)
            return self._predict_loop(dp.shard_eval(data, "The data passed to predict()"), verbose, callbacks)

    def _predict_loop(self, data: Any, verbose: int, callbacks: list | None) -> Any:
        check_has_layers(self, "predict")
        self._build_from_data(data)
        if isinstance(data, data_adapter.ArrayData):
            self._check_inputs(data.x)
        cbs = CallbackList(
            list(callbacks or []) + ([ProgbarLogger(verbose=verbose)] if verbose else []),
            model=self, epochs=1, steps=data.steps, verbose=verbose,
        )
        want_begin = cbs.wants("on_predict_batch_begin")
        want_end = cbs.wants("on_predict_batch_end")
        chunks: list[list[torch.Tensor]] = []
        self.eval()
        cbs.on_predict_begin()
        with torch.no_grad():
            for step, (bx, _, _) in enumerate(data):
                if want_begin:
                    cbs.on_predict_batch_begin(step)
                outs = [o.detach() for o in self._forward_flat(bx, training=False)]
                chunks.append(outs)
                if want_end:
                    cbs.on_predict_batch_end(step, {"outputs": outs if len(outs) > 1 else outs[0]})
        cbs.on_predict_end()
        if not chunks:
            raise ValueError("predict received no batches; the data is empty.")
        flat = [torch.cat([c[i] for c in chunks]).cpu().numpy() for i in range(len(chunks[0]))]
        if self._replicas is not None:
            flat = self._replicas.gather_outputs(flat)
        return self._pack_outputs(flat)

    # ---------------------------------------------------------------- on batch
    def train_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Run one optimizer step on one batch; returns its loss and metrics.

        Example:
            >>> loss, acc = model.train_on_batch(x_batch, y_batch)
        """
        self._assert_compiled("train_on_batch")
        data = data_adapter.ArrayData(x, y, sample_weight, batch_size=None, device=self._device())
        data.batch_size = data.num_samples
        self._prepare(data, "train_on_batch")
        if class_weight:
            self._apply_class_weight(data, class_weight)
        self._collect_regularizers()
        self._prepare_optimizer()
        self.reset_metrics()
        self.train()
        self._train_step(data.x, data.y, data.sample_weight)
        self.eval()
        return self._results(self._read_logs(), return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> float | list[float] | dict[str, float]:
        """Compute the loss and metrics of one batch, without training."""
        self._assert_compiled("test_on_batch")
        data = data_adapter.ArrayData(x, y, sample_weight, batch_size=None, device=self._device())
        self._prepare(data, "test_on_batch")
        self._collect_regularizers()
        self.reset_metrics()
        self.eval()
        with torch.no_grad():
            self._test_step(data.x, data.y, data.sample_weight)
        return self._results(self._read_logs(), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Return the outputs for one batch as numpy arrays."""
        data = data_adapter.ArrayData(x, device=self._device())
        data.batch_size = data.num_samples
        return self._predict_loop(data, verbose=0, callbacks=None)

    def _results(self, logs: dict[str, Any], return_dict: bool) -> Any:
        """evaluate's return value: the dict, or its values in `metrics_names` order."""
        if return_dict:
            return logs
        ordered = [k for k in self.metrics_names if k in logs]
        values = [logs[k] for k in ordered] + [logs[k] for k in sorted(logs) if k not in ordered]
        return values[0] if len(values) == 1 else values
