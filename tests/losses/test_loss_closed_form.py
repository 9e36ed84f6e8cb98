"""Loss values that follow from the formulas alone (no Keras needed)."""

from __future__ import annotations

import math

import pytest
import torch

from nerve import losses


def test_binary_crossentropy_of_one_half_is_log_two():
    value = losses.BinaryCrossentropy()(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.5], [0.5]]))
    assert value.item() == pytest.approx(math.log(2.0), abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 4, 10])
def test_categorical_crossentropy_of_uniform_prediction_is_log_num_classes(num_classes):
    y_true = torch.eye(num_classes)
    y_pred = torch.full((num_classes, num_classes), 1.0 / num_classes)
    assert losses.CategoricalCrossentropy()(y_true, y_pred).item() == pytest.approx(math.log(num_classes), abs=1e-6)
    labels = torch.arange(num_classes)
    assert losses.SparseCategoricalCrossentropy()(labels, y_pred).item() == pytest.approx(math.log(num_classes), abs=1e-6)


def test_mean_squared_and_absolute_error_of_known_arrays():
    y_true = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    y_pred = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    torch.testing.assert_close(losses.mean_squared_error(y_true, y_pred), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(losses.MeanSquaredError()(y_true, y_pred), torch.tensor(0.5))
    y_pred = torch.tensor([[3.0, 1.0], [0.0, -2.0]])
    torch.testing.assert_close(losses.mean_absolute_error(y_true, y_pred), torch.tensor([1.5, 1.0]))
    torch.testing.assert_close(losses.mean_squared_error(y_true, y_pred), torch.tensor([4.5, 2.0]))


def test_sum_over_batch_size_divides_by_element_count_not_weight_sum():
    values = torch.tensor([[1.0], [3.0]])
    zeros = torch.zeros(2, 1)
    weights = torch.tensor([1.0, 0.0])
    assert losses.MeanAbsoluteError()(zeros, values, sample_weight=weights).item() == pytest.approx(0.5)
    assert losses.MeanAbsoluteError(reduction="sum")(zeros, values, sample_weight=weights).item() == pytest.approx(1.0)
    mean_w = losses.MeanAbsoluteError(reduction="mean_with_sample_weight")
    assert mean_w(zeros, values, sample_weight=weights).item() == pytest.approx(1.0)
    per_sample = losses.MeanAbsoluteError(reduction="none")(zeros, values, sample_weight=weights)
    torch.testing.assert_close(per_sample, torch.tensor([1.0, 0.0]))


def test_all_zero_sample_weights_give_zero_not_nan():
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    value = loss(torch.zeros(3, 1), torch.ones(3, 1), sample_weight=torch.zeros(3))
    assert value.item() == 0.0


def test_huber_is_quadratic_then_linear():
    y_true = torch.zeros(1, 3)
    y_pred = torch.tensor([[0.5, 2.0, -3.0]])
    expected = (0.5 * 0.25 + (2.0 - 0.5) + (3.0 - 0.5)) / 3
    assert losses.huber(y_true, y_pred).item() == pytest.approx(expected)


def test_hinge_converts_zero_one_labels_to_plus_minus_one():
    pred = torch.tensor([[0.3, -0.4]])
    from_01 = losses.hinge(torch.tensor([[1.0, 0.0]]), pred)
    from_pm = losses.hinge(torch.tensor([[1.0, -1.0]]), pred)
    torch.testing.assert_close(from_01, from_pm)
    assert from_01.item() == pytest.approx(((1 - 0.3) + (1 - 0.4)) / 2)


def test_log_cosh_stays_finite_for_huge_errors():
    value = losses.log_cosh(torch.zeros(1, 1), torch.tensor([[1000.0]]))
    assert value.item() == pytest.approx(1000.0 - math.log(2.0))


def test_cosine_similarity_is_minus_one_for_parallel_and_zero_for_zero_vectors():
    y = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    torch.testing.assert_close(losses.cosine_similarity(y, 3 * y), torch.tensor([-1.0, 0.0]))


def test_ignore_class_is_left_out_of_the_mean():
    y_pred = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    y_true = torch.tensor([0, -1, -1])
    value = losses.SparseCategoricalCrossentropy(ignore_class=-1)(y_true, y_pred)
    assert value.item() == pytest.approx(math.log(2.0), abs=1e-6)


def test_label_smoothing_moves_binary_labels_towards_one_half():
    y_pred = torch.tensor([[0.8]])
    smoothed = losses.binary_crossentropy(torch.tensor([[1.0]]), y_pred, label_smoothing=0.2)
    target = 0.9
    expected = -(target * math.log(0.8) + (1 - target) * math.log(0.2))
    assert smoothed.item() == pytest.approx(expected, rel=1e-6)


def test_loss_output_has_gradient_for_the_predictions():
    y_pred = torch.tensor([[0.2, 0.8]], requires_grad=True)
    losses.CategoricalCrossentropy()(torch.tensor([[0.0, 1.0]]), y_pred).backward()
    assert y_pred.grad is not None and torch.isfinite(y_pred.grad).all()


def test_half_precision_predictions_are_computed_in_float32():
    y_pred = torch.tensor([[0.3, 0.7]], dtype=torch.float16)
    value = losses.SparseCategoricalCrossentropy()(torch.tensor([1]), y_pred)
    assert value.dtype == torch.float32
    as_float = y_pred.float()
    expected = -math.log(as_float[0, 1].item() / as_float.sum().item())
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_invalid_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
