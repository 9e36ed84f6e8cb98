"""Cross-entropies use the logits that softmax/sigmoid attach to their output, and only then."""

from __future__ import annotations

import math

import pytest
import torch

from nerve import losses


def _attach(probs: torch.Tensor, logits: torch.Tensor, kind: str) -> torch.Tensor:
    probs._nerve_logits = logits
    probs._nerve_logits_kind = kind
    return probs


def _softmax_output(logits: torch.Tensor) -> torch.Tensor:
    return _attach(torch.softmax(logits, dim=-1), logits, "softmax")


def _sigmoid_output(logits: torch.Tensor) -> torch.Tensor:
    return _attach(torch.sigmoid(logits), logits, "sigmoid")


@pytest.mark.parametrize(
    "loss_cls, kwargs",
    [
        (losses.SparseCategoricalCrossentropy, {}),
        (losses.SparseCategoricalCrossentropy, {"reduction": "sum"}),
        (losses.SparseCategoricalCrossentropy, {"reduction": "none"}),
        (losses.SparseCategoricalCrossentropy, {"ignore_class": 2}),
        (losses.CategoricalCrossentropy, {}),
        (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}),
        (losses.CategoricalFocalCrossentropy, {}),
    ],
)
def test_softmax_output_gives_the_from_logits_value(loss_cls, kwargs):
    logits = torch.randn(16, 5) * 3
    labels = torch.randint(0, 5, (16,))
    y_true = labels if "Sparse" in loss_cls.__name__ else torch.nn.functional.one_hot(labels, 5).float()
    fused = loss_cls(**kwargs)(y_true, _softmax_output(logits))
    reference = loss_cls(from_logits=True, **kwargs)(y_true, logits)
    torch.testing.assert_close(fused, reference)


@pytest.mark.parametrize(
    "loss_cls, kwargs",
    [
        (losses.BinaryCrossentropy, {}),
        (losses.BinaryCrossentropy, {"label_smoothing": 0.2}),
        (losses.BinaryFocalCrossentropy, {"apply_class_balancing": True}),
    ],
)
def test_sigmoid_output_gives_the_from_logits_value(loss_cls, kwargs):
    logits = torch.randn(16, 3) * 3
    y_true = torch.randint(0, 2, (16, 3)).float()
    fused = loss_cls(**kwargs)(y_true, _sigmoid_output(logits))
    reference = loss_cls(from_logits=True, **kwargs)(y_true, logits)
    torch.testing.assert_close(fused, reference)


def test_saturated_softmax_gives_the_exact_finite_loss_and_a_gradient():
    logits = torch.tensor([[60.0, -60.0], [0.0, 0.0]], requires_grad=True)
    probs = _softmax_output(logits)
    loss = losses.SparseCategoricalCrossentropy(reduction="none")(torch.tensor([1, 0]), probs)
    torch.testing.assert_close(loss.detach(), torch.tensor([120.0, math.log(2.0)]))
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0, 1].item() == pytest.approx(-1.0)
    # Without the attribute, probabilities are clipped to [eps, 1 - eps] as in Keras.
    clipped = losses.SparseCategoricalCrossentropy(reduction="none")(torch.tensor([1, 0]), probs.detach().clone())
    assert clipped[0].item() == pytest.approx(-math.log(1e-7), rel=1e-3)


def test_saturated_sigmoid_gives_the_exact_finite_loss():
    logits = torch.tensor([[40.0], [-40.0]])
    loss = losses.BinaryCrossentropy(reduction="none")(torch.tensor([[0.0], [1.0]]), _sigmoid_output(logits))
    torch.testing.assert_close(loss, torch.tensor([40.0, 40.0]))


def test_fused_loss_sends_gradients_to_the_logits_and_matches_softmax_backward():
    logits = torch.randn(8, 4, requires_grad=True)
    labels = torch.randint(0, 4, (8,))
    losses.SparseCategoricalCrossentropy()(labels, _softmax_output(logits)).backward()
    expected = (torch.softmax(logits.detach(), -1) - torch.nn.functional.one_hot(labels, 4)) / 8
    torch.testing.assert_close(logits.grad, expected)


def _decoy(probs_logits: torch.Tensor, attached_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Probabilities from one set of logits with a different set attached, to see which path ran."""
    fn = torch.softmax if kind == "softmax" else torch.sigmoid
    probs = fn(probs_logits, dim=-1) if kind == "softmax" else fn(probs_logits)
    return _attach(probs, attached_logits, kind)


def test_mismatched_activation_kind_is_ignored():
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    labels = torch.randint(0, 3, (6,))
    sigmoid_tagged = _attach(torch.softmax(a, -1), b, "sigmoid")
    got = losses.SparseCategoricalCrossentropy()(labels, sigmoid_tagged)
    plain = losses.SparseCategoricalCrossentropy()(labels, torch.softmax(a, -1))
    torch.testing.assert_close(got, plain)
    softmax_tagged = _attach(torch.sigmoid(a), b, "softmax")
    y = torch.randint(0, 2, (6, 3)).float()
    torch.testing.assert_close(losses.BinaryCrossentropy()(y, softmax_tagged), losses.BinaryCrossentropy()(y, torch.sigmoid(a)))


def test_attached_logits_are_used_when_the_kind_matches():
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    labels = torch.randint(0, 3, (6,))
    got = losses.SparseCategoricalCrossentropy()(labels, _decoy(a, b, "softmax"))
    torch.testing.assert_close(got, losses.SparseCategoricalCrossentropy(from_logits=True)(labels, b))


def test_non_last_class_axis_does_not_use_the_logits():
    a, b = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    y_true = torch.nn.functional.one_hot(torch.randint(0, 3, (4, 5)), 3).movedim(-1, 1).float()
    tagged = _attach(torch.softmax(a, dim=1), b, "softmax")
    got = losses.categorical_crossentropy(y_true, tagged, axis=1)
    torch.testing.assert_close(got, losses.categorical_crossentropy(y_true, torch.softmax(a, dim=1), axis=1))


def test_from_logits_true_ignores_the_attribute():
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    labels = torch.randint(0, 3, (6,))
    tagged = _attach(a.clone(), b, "softmax")
    got = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, tagged)
    torch.testing.assert_close(got, losses.SparseCategoricalCrossentropy(from_logits=True)(labels, a))


def test_logits_of_a_different_shape_are_ignored():
    a = torch.randn(6, 3)
    labels = torch.randint(0, 3, (6,))
    tagged = _attach(torch.softmax(a, -1), torch.randn(6, 4), "softmax")
    got = losses.SparseCategoricalCrossentropy()(labels, tagged)
    torch.testing.assert_close(got, losses.SparseCategoricalCrossentropy()(labels, torch.softmax(a, -1)))


def test_sparse_labels_with_trailing_one_and_float_dtype_use_the_fused_path():
    logits = torch.randn(10, 4)
    labels = torch.randint(0, 4, (10, 1))
    fused = losses.SparseCategoricalCrossentropy()(labels.float(), _softmax_output(logits))
    torch.testing.assert_close(fused, torch.nn.functional.cross_entropy(logits, labels[:, 0]))


def test_sigmoid_column_output_with_flat_labels_keeps_its_logits():
    logits = torch.tensor([[30.0], [-30.0]])
    loss = losses.BinaryCrossentropy()(torch.tensor([0.0, 1.0]), _sigmoid_output(logits))
    assert loss.item() == pytest.approx(30.0)


def test_nerve_activations_attach_logits_that_the_losses_use():
    activations = pytest.importorskip("nerve.activations")
    logits = torch.tensor([[50.0, -50.0, 0.0]])
    probs = activations.softmax(logits)
    loss = losses.SparseCategoricalCrossentropy()(torch.tensor([1]), probs)
    assert loss.item() == pytest.approx(100.0)
