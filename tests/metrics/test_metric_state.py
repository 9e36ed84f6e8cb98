"""Metric state: device tensors updated in place without host reads, variables, reset, subclasses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nerve import losses, metrics

ALL_METRICS = [
    ("Accuracy", {}, "labels"),
    ("BinaryAccuracy", {}, "binary"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.6], "top_k": 1}, "multilabel"),
    ("Recall", {"class_id": 1}, "multilabel"),
    ("TruePositives", {}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"multi_label": True, "curve": "PR"}, "multilabel"),
    ("AUC", {"thresholds": [0.2, 0.5]}, "binary"),
    ("MeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("R2Score", {"num_regressors": 1}, "regression_multi"),
    ("BinaryCrossentropy", {}, "binary"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("Hinge", {}, "pm1"),
]


class _HostReadError(AssertionError):
    pass


@pytest.fixture
def no_host_reads(monkeypatch):
    """Make every way of reading a tensor value on the host raise during the test."""

    def forbid(name):
        def method(self, *args, **kwargs):
            raise _HostReadError(f"Tensor.{name} reads a value back to the host")

        return method

    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, forbid(name))


@pytest.mark.parametrize("name, kwargs, kind", ALL_METRICS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ALL_METRICS)])
def test_update_and_result_never_read_tensors_back_to_the_host(name, kwargs, kind, rng, request):
    from metrics_testutil import make_batch

    metric = getattr(metrics, name)(**kwargs)
    batches = [tuple(torch.from_numpy(a) for a in make_batch(kind, rng)) for _ in range(2)]
    weights = torch.rand(len(batches[0][0]))
    request.getfixturevalue("no_host_reads")
    metric.update_state(*batches[0])
    metric.update_state(*batches[1], sample_weight=weights)
    result = metric.result()
    metric.reset_state()
    assert isinstance(result, torch.Tensor)


@pytest.mark.parametrize(
    "loss",
    [
        losses.SparseCategoricalCrossentropy(),
        losses.CategoricalCrossentropy(label_smoothing=0.1),
        losses.BinaryCrossentropy(),
        losses.MeanSquaredError(),
        losses.SparseCategoricalCrossentropy(ignore_class=0),
        losses.Hinge(),
    ],
    ids=lambda loss: loss.name,
)
def test_losses_never_read_tensors_back_to_the_host(loss, no_host_reads):
    logits = torch.randn(8, 4)
    probs = torch.softmax(logits, -1)
    probs._nerve_logits, probs._nerve_logits_kind = logits, "softmax"
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y_true = torch.randint(0, 4, (8, 1))
    else:
        y_true = torch.randint(0, 2, (8, 4)).float()
    loss(y_true, probs)
    loss(y_true, probs, sample_weight=torch.rand(8))


def test_scalar_results_are_zero_dimensional_tensors():
    labels, scores = [[1.0], [0.0]], [[0.7], [0.2]]
    for metric in (metrics.Accuracy(), metrics.Precision(), metrics.AUC(), metrics.RootMeanSquaredError()):
        metric.update_state(labels, scores)
        assert isinstance(metric.result(), torch.Tensor) and metric.result().dim() == 0, metric.name
    mean = metrics.Mean()
    mean.update_state([1.0])
    assert mean.result().dim() == 0


def test_results_are_snapshots_not_live_views():
    m = metrics.Sum()
    m.update_state([1.0])
    first = m.result()
    m.update_state([1.0])
    assert first.item() == 1.0 and m.result().item() == 2.0


def test_state_follows_the_device_and_dtype_of_the_metric():
    m = metrics.Mean(dtype="float64")
    m.update_state(torch.tensor([1.0, 2.0]))
    assert m.result().dtype == torch.float64
    assert all(v.value.device == torch.device("cpu") for v in m.variables)
    assert m.dtype == "float64"


def test_metrics_do_not_track_gradients():
    y_pred = torch.rand(4, 3, requires_grad=True)
    m = metrics.CategoricalCrossentropy()
    m.update_state(torch.eye(3)[[0, 1, 2, 0]], y_pred)
    assert not m.result().requires_grad


def test_variables_and_reset_state():
    m = metrics.Precision(thresholds=[0.2, 0.8])
    assert [v.name for v in m.variables] == ["true_positives", "false_positives"]
    m.update_state([1, 0], [0.9, 0.9])
    assert m.true_positives.numpy().tolist() == [1.0, 1.0]
    m.reset_state()
    assert all(not v.numpy().any() for v in m.variables)


def test_keras_style_custom_metric_subclass():
    class CategoricalTruePositives(metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = torch.argmax(torch.as_tensor(y_pred), dim=1).reshape(-1, 1)
            values = (torch.as_tensor(y_true).int() == y_pred.int()).float()
            if sample_weight is not None:
                values = values * torch.as_tensor(sample_weight).reshape(-1, 1)
            self.true_positives.assign_add(values.sum())

        def result(self):
            return self.true_positives.value

    m = CategoricalTruePositives()
    m.update_state(np.array([[1], [0]]), np.array([[0.2, 0.8], [0.3, 0.7]], dtype="float32"))
    m.update_state(np.array([[0]]), np.array([[0.9, 0.1]], dtype="float32"), sample_weight=np.array([2.0]))
    assert float(m.result()) == 3.0
    assert m.variables[0].path == "categorical_true_positives/ctp"
    m.reset_state()
    assert float(m.result()) == 0.0
    assert m.get_config() == {"name": "categorical_true_positives", "dtype": "float32"}


def test_subclass_that_forgets_super_init_gets_a_clear_error():
    class Broken(metrics.Metric):
        def __init__(self):
            pass

    with pytest.raises(RuntimeError, match="super"):
        Broken().add_variable(shape=(), name="x")


def test_add_weight_accepts_initializers():
    m = metrics.Metric(name="holder")
    assert m.add_weight(shape=(2,), initializer="ones", name="a").numpy().tolist() == [1.0, 1.0]
    assert m.add_variable(shape=(), initializer=3.0, name="b").numpy() == 3.0
    assert len(m.variables) == 2


def test_state_moves_to_the_device_of_the_predictions():
    # "meta" tensors stand in for an accelerator: the state must follow the predictions there.
    from nerve import backend

    m = metrics.SparseCategoricalAccuracy()
    assert all(v.value.device == backend.get_device() for v in m.variables)
    meta = torch.device("meta")
    m.update_state(torch.zeros(4, dtype=torch.int64, device=meta), torch.zeros(4, 3, device=meta))
    assert all(v.value.device == meta for v in m.variables)
    assert m.result().device == meta
