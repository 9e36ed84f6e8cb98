"""LambdaCallback: the functions given are called at their hooks; the others cost nothing."""

from __future__ import annotations

import pytest
from callbacks_testutil import mlp

from nerve.callbacks import CallbackList, LambdaCallback


def test_hooks_are_called_with_keras_arguments(digits_data):
    x, y = digits_data
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, float(logs["loss"]) > 0)),
        on_train_end=lambda logs: calls.append(("train_end",)),
        on_test_end=lambda logs: calls.append(("test_end", sorted(logs))),
    )
    mlp().fit(x[:64], y[:64], epochs=2, batch_size=32, validation_split=0.5, verbose=0, callbacks=[cb])
    assert calls == [
        ("train_begin",),
        ("epoch_begin", 0), ("batch_end", 0, True), ("test_end", ["accuracy", "loss"]),
        ("epoch_end", 0, ["accuracy", "loss", "val_accuracy", "val_loss"]),
        ("epoch_begin", 1), ("batch_end", 0, True), ("test_end", ["accuracy", "loss"]),
        ("epoch_end", 1, ["accuracy", "loss", "val_accuracy", "val_loss"]),
        ("train_end",),
    ]


def test_keras1_batch_aliases_work(digits_data):
    x, y = digits_data
    seen = []
    cb = LambdaCallback(on_batch_begin=lambda batch, logs: seen.append(("begin", batch)),
                        on_batch_end=lambda batch, logs: seen.append(("end", batch)))
    mlp().fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0, callbacks=[cb])
    assert seen == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]


def test_only_given_hooks_are_dispatched():
    cbs = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: None)])
    assert cbs.wants("on_epoch_end")
    assert not cbs.wants("on_train_batch_end") and not cbs.wants("on_train_batch_begin")
    assert not CallbackList([LambdaCallback()]).wants("on_epoch_end")


def test_instances_do_not_share_hooks():
    a, b = [], []
    first = LambdaCallback(on_epoch_end=lambda e, logs: a.append(e))
    second = LambdaCallback(on_train_begin=lambda logs: b.append("x"))
    first.on_epoch_end(3, {})
    second.on_epoch_end(4, {})  # the base no-op
    second.on_train_begin({})
    assert (a, b) == ([3], ["x"])
    assert isinstance(first, LambdaCallback) and isinstance(second, LambdaCallback)


def test_unknown_hook_is_refused():
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_ends'.*Valid hooks"):
        LambdaCallback(on_epoch_ends=lambda e, logs: None)


def test_non_callable_is_refused():
    with pytest.raises(TypeError, match="on_epoch_end must be a function"):
        LambdaCallback(on_epoch_end="print")
