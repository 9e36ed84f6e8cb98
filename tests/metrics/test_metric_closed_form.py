"""Metric results that follow from their definitions alone (no Keras needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nerve import metrics


def test_weighted_mean_divides_by_the_sum_of_weights():
    m = metrics.Mean()
    m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    assert m.result().item() == pytest.approx(2.0)
    m.update_state([10.0], sample_weight=[2.0])
    assert m.result().item() == pytest.approx((1 + 3 + 20) / 4)


def test_sum_adds_weighted_values():
    m = metrics.Sum()
    m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    m.update_state(torch.tensor(2.0))
    assert m.result().item() == pytest.approx(6.0)


def test_sparse_categorical_accuracy_counts_argmax_matches():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(torch.tensor([[2], [1]]), torch.tensor([[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]]))
    assert m.result().item() == pytest.approx(0.5)
    m.update_state(torch.tensor([0]), torch.tensor([[0.9, 0.05, 0.05]]), sample_weight=torch.tensor([2.0]))
    assert m.result().item() == pytest.approx(3 / 4)


def test_binary_accuracy_thresholds_strictly_above():
    m = metrics.BinaryAccuracy(threshold=0.5)
    m.update_state([[1], [0], [1]], [[0.5], [0.2], [0.51]])
    assert m.result().item() == pytest.approx(2 / 3)


def test_top_k_counts_ties_as_inside_and_k_beyond_the_class_count_is_always_right():
    tie = metrics.sparse_top_k_categorical_accuracy(torch.tensor([2]), torch.tensor([[0.4, 0.3, 0.3]]), k=2)
    assert tie.tolist() == [1.0]
    wide = metrics.TopKCategoricalAccuracy()  # k=5 with 3 classes
    wide.update_state(torch.eye(3), torch.rand(3, 3))
    assert wide.result().item() == 1.0


def test_precision_and_recall_of_a_known_confusion_matrix():
    y_true = [0, 1, 1, 1, 0, 0]
    y_pred = [0.9, 0.8, 0.2, 0.7, 0.1, 0.4]
    p, r = metrics.Precision(), metrics.Recall()
    p.update_state(y_true, y_pred)
    r.update_state(y_true, y_pred)
    assert p.result().item() == pytest.approx(2 / 3)
    assert r.result().item() == pytest.approx(2 / 3)
    multi = metrics.Precision(thresholds=[0.0, 0.5, 0.95])
    multi.update_state(y_true, y_pred)
    np.testing.assert_allclose(multi.result().numpy(), [3 / 6, 2 / 3, 0.0], rtol=1e-6)


def test_auc_is_one_for_a_perfect_ranking_and_one_half_for_a_constant_one():
    perfect = metrics.AUC()
    perfect.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert perfect.result().item() == pytest.approx(1.0, abs=1e-6)
    constant = metrics.AUC()
    constant.update_state([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    assert constant.result().item() == pytest.approx(0.5, abs=1e-6)


def test_rmse_is_the_root_of_the_weighted_mean_square():
    m = metrics.RootMeanSquaredError()
    m.update_state([[0.0], [0.0]], [[3.0], [1.0]], sample_weight=[1.0, 3.0])
    assert m.result().item() == pytest.approx(math.sqrt((9 + 3) / 4))


def test_r2_is_one_for_perfect_predictions_and_zero_for_the_mean():
    y = torch.tensor([[1.0], [2.0], [3.0], [6.0]])
    perfect = metrics.R2Score()
    perfect.update_state(y, y)
    assert perfect.result().item() == pytest.approx(1.0)
    mean = metrics.R2Score()
    mean.update_state(y, torch.full_like(y, 3.0))
    assert mean.result().item() == pytest.approx(0.0, abs=1e-6)


def test_cosine_similarity_metric_is_positive_where_the_loss_is_negative():
    m = metrics.CosineSimilarity()
    m.update_state([[1.0, 0.0]], [[2.0, 0.0]])
    assert m.result().item() == pytest.approx(1.0)


def test_crossentropy_metric_of_uniform_predictions_is_log_num_classes():
    m = metrics.SparseCategoricalCrossentropy()
    m.update_state([0, 1, 2, 3], torch.full((4, 4), 0.25))
    assert m.result().item() == pytest.approx(math.log(4), abs=1e-6)


def test_results_before_any_update_are_zero():
    for metric in (metrics.Mean(), metrics.Accuracy(), metrics.Precision(), metrics.AUC(), metrics.R2Score()):
        assert metric.result().item() == 0.0, metric.name


def test_call_updates_and_returns_the_running_result():
    m = metrics.MeanAbsoluteError()
    assert m([[0.0]], [[2.0]]).item() == pytest.approx(2.0)
    assert m([[0.0]], [[4.0]]).item() == pytest.approx(3.0)
