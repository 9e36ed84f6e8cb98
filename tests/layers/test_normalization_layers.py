"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization and SpectralNormalization, against Keras and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers.batch_normalization import BatchNormalization
from nerve.layers.dense import Dense
from nerve.layers.normalization import GroupNormalization, LayerNormalization, UnitNormalization
from nerve.layers.spectral_normalization import SpectralNormalization
from tests.layers.layer_test_utils import layer_test

CONST_2 = {"class_name": "Constant", "config": {"value": 2.0}}


# ---------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize(
    "kwargs, input_shape, n_weights, n_trainable",
    [
        ({}, (4, 5), 4, 2),
        ({"momentum": 0.9, "epsilon": 0.01}, (3, 4, 4, 6), 4, 2),
        ({"axis": 1}, (3, 6, 4, 4), 4, 2),
        ({"axis": 2}, (3, 4, 5, 2), 4, 2),
        ({"center": False}, (4, 3, 5), 3, 1),
        ({"scale": False, "center": False}, (4, 5), 2, 0),
        ({"gamma_initializer": "random_normal", "beta_initializer": "random_normal",
          "moving_mean_initializer": "random_normal", "moving_variance_initializer": CONST_2}, (4, 2, 3), 4, 2),
    ],
)
def test_batch_normalization_inference_matches_keras(kwargs, input_shape, n_weights, n_trainable, keras):
    layer = layer_test(BatchNormalization, kwargs, input_shape, (None, *input_shape[1:]), n_weights, n_trainable,
                       keras_module=keras)
    assert [w.name for w in layer.weights][-2:] == ["moving_mean", "moving_variance"]
    assert all(not w.trainable for w in layer.weights[-2:])


def _keras_bn(keras, layer, input_shape):
    kbn = keras.layers.BatchNormalization(axis=layer.axis, momentum=layer.momentum, epsilon=layer.epsilon,
                                          center=layer.center, scale=layer.scale)
    kbn.build(input_shape)
    kbn.set_weights(layer.get_weights())
    return kbn


@pytest.mark.parametrize("axis, shape", [(-1, (8, 3)), (-1, (4, 3, 5, 6)), (1, (4, 6, 3, 2)), (2, (4, 3, 5))])
def test_batch_normalization_training_steps_match_keras_and_closed_form(axis, shape, keras):
    bn = BatchNormalization(axis=axis, momentum=0.8, gamma_initializer="random_normal",
                            beta_initializer="random_normal")
    bn.build((None, *shape[1:]))
    kbn = _keras_bn(keras, bn, shape)
    reduce = tuple(d for d in range(len(shape)) if d != axis % len(shape))
    moving_mean, moving_var = bn.moving_mean.numpy().astype(np.float64), bn.moving_variance.numpy().astype(np.float64)
    gamma, beta = bn.gamma.numpy(), bn.beta.numpy()
    bshape = [shape[d] if d not in reduce else 1 for d in range(len(shape))]
    for step in range(3):
        x = (torch.randn(shape) * (step + 1) + step).numpy()
        out = bn(x, training=True).detach().numpy()
        kout = kbn(x, training=True).detach().cpu().numpy()
        np.testing.assert_allclose(out, kout, atol=1e-5, rtol=1e-5)
        mean, var = x.mean(axis=reduce), x.var(axis=reduce)  # biased variance, as Keras
        expected = (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-3) * gamma.reshape(bshape) \
            + beta.reshape(bshape)
        np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)
        moving_mean = moving_mean * 0.8 + mean * 0.2
        moving_var = moving_var * 0.8 + var * 0.2
        np.testing.assert_allclose(bn.moving_mean.numpy(), kbn.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.moving_variance.numpy(), kbn.moving_variance.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.moving_variance.numpy(), moving_var, rtol=1e-5, atol=1e-6)
    # Inference uses the moving statistics and leaves them alone.
    before = bn.moving_mean.numpy()
    x = torch.randn(shape).numpy()
    expected = kbn(x, training=False).detach().cpu().numpy()
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_batch_normalization_training_gradients_match_keras(keras):
    bn = BatchNormalization(momentum=0.5, gamma_initializer="random_normal")
    bn.build((None, 4, 3))
    kbn = _keras_bn(keras, bn, (5, 4, 3))
    x = torch.randn(5, 4, 3)
    weight = torch.randn(5, 4, 3)
    xs = [x.clone().requires_grad_(True) for _ in range(2)]
    (bn(xs[0], training=True) * weight).square().sum().backward()
    (kbn(xs[1], training=True) * weight).square().sum().backward()
    torch.testing.assert_close(xs[0].grad, xs[1].grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.gamma.value.grad, kbn.gamma.value.grad.cpu(), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.beta.value.grad, kbn.beta.value.grad.cpu(), atol=1e-5, rtol=1e-4)


def test_batch_normalization_shared_layer_twice_in_one_graph_backpropagates():
    bn = BatchNormalization()
    x = torch.randn(6, 3, requires_grad=True)
    (bn(x, training=True).sum() + bn(2 * x, training=True).square().sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_batch_normalization_single_value_per_feature_gives_beta(keras):
    # torch's kernel refuses a batch of one in training; Keras normalizes it to beta.
    bn = BatchNormalization(beta_initializer=nerve.initializers.Constant(0.5), momentum=0.5)
    x = np.array([[1.0, -2.0, 3.0]], dtype="float32")
    out = bn(x, training=True)
    torch.testing.assert_close(out, torch.full((1, 3), 0.5))
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x[0], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [0.5] * 3, rtol=1e-6)
    kbn = keras.layers.BatchNormalization(beta_initializer=keras.initializers.Constant(0.5))
    np.testing.assert_allclose(kbn(x, training=True).detach().cpu().numpy(), out.detach().numpy(), atol=1e-6)


def _bn_model():
    inputs = nerve.Input(shape=(4,))
    h = Dense(4, kernel_initializer="ones")(inputs)
    bn = BatchNormalization(name="bn")
    h = bn(h)
    return nerve.Model(inputs, Dense(1)(h)), bn


def test_frozen_batch_normalization_runs_in_inference_mode_during_fit():
    model, bn = _bn_model()
    bn.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.randn(64, 4).astype("float32") * 3 + 2
    y = x[:, :1]
    frozen = [w.numpy() for w in bn.weights]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for before, after in zip(frozen, bn.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert len(model.trainable_weights) == 4 and len(bn.non_trainable_weights) == 4
    # training=True gives the inference output for a frozen layer.
    torch.testing.assert_close(bn(torch.tensor(x), training=True), bn(torch.tensor(x), training=False))
    bn.trainable = True
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.allclose(bn.moving_mean.numpy(), frozen[2])
    assert len(model.trainable_weights) == 6


def test_batch_normalization_counts_moving_statistics_as_non_trainable():
    model, bn = _bn_model()
    assert sum(int(np.prod(w.shape)) for w in bn.trainable_weights) == 8
    assert sum(int(np.prod(w.shape)) for w in bn.non_trainable_weights) == 8
    assert all(w.value.requires_grad is False for w in bn.non_trainable_weights)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Non-trainable params: 8" in text


def test_batch_normalization_regularizers_reach_model_losses_and_fit_loss():
    inputs = nerve.Input(shape=(3,))
    out = BatchNormalization(gamma_regularizer=nerve.regularizers.L2(0.5), gamma_initializer=CONST_2)(inputs)
    model = nerve.Model(inputs, out)
    assert len(model.losses) == 1
    torch.testing.assert_close(model.losses[0], torch.tensor(0.5 * 3 * 4.0))
    model.compile(optimizer=nerve.optimizers.SGD(0.0), loss="mse")
    x = np.zeros((4, 3), dtype="float32")
    logs = model.evaluate(x, x, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(6.0 + float(np.mean(model.predict(x, verbose=0) ** 2)), rel=1e-5)


def test_batch_normalization_argument_and_shape_errors():
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\].*momentum=1.5"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(NotImplementedError, match="renorm"):
        BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match=r"'bn'.*axis 3 is out of range.*rank 2"):
        BatchNormalization(axis=3, name="bn")(nerve.Input(shape=(4,)))
    bn = BatchNormalization(name="bn2")
    bn(nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match=r"'bn2'.*built for inputs of shape \(None, 4\).*\(None, 5\)"):
        bn(nerve.Input(shape=(5,)))
    with pytest.raises(ValueError, match=r"'bn2'.*\(None, 3, 4\)"):
        bn(nerve.Input(shape=(3, 4)))
    ln = LayerNormalization(name="ln")
    ln(nerve.Input(shape=(2, 6)))
    with pytest.raises(ValueError, match=r"'ln' \(LayerNormalization\).*\(None, 2, 7\)"):
        ln(nerve.Input(shape=(2, 7)))


# ---------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize(
    "kwargs, input_shape, n_weights",
    [
        ({}, (3, 5), 2),
        ({"epsilon": 0.1}, (2, 4, 6), 2),
        ({"axis": [2, 3]}, (2, 3, 4, 5), 2),
        ({"axis": [-2, -1], "gamma_initializer": "random_normal", "beta_initializer": "random_normal"},
         (2, 3, 4, 5), 2),
        ({"axis": [1, 2, 3], "gamma_initializer": "random_normal"}, (2, 3, 4, 2), 2),
        ({"center": False}, (3, 5), 1),
        ({"scale": False, "center": False}, (3, 5), 0),
    ],
)
def test_layer_normalization_matches_keras(kwargs, input_shape, n_weights, keras):
    layer_test(LayerNormalization, kwargs, input_shape, (None, *input_shape[1:]), n_weights, n_weights,
               keras_module=keras)


def test_layer_normalization_rms_scaling_warns_and_matches_keras(keras):
    with pytest.warns(UserWarning, match="rms_scaling"):
        layer_test(LayerNormalization, {"rms_scaling": True, "gamma_initializer": "random_normal"}, (3, 6),
                   (None, 6), 1, 1, keras_module=keras)


@pytest.mark.parametrize("axis, gamma_shape", [([1, 2], (3, 5)), (1, (3,)), ([0, -1], None), ([1, 3], (3, 2))])
def test_layer_normalization_closed_form_on_any_axes(axis, gamma_shape):
    # Keras 3.15's torch backend fails on axes that are not the trailing ones; nerve handles them.
    x = torch.randn(4, 3, 5, 2)
    if gamma_shape is None:
        with pytest.raises(ValueError, match="needs known sizes"):
            LayerNormalization(axis=axis)(nerve.Input(shape=(3, 5, 2)))
        return
    layer = LayerNormalization(axis=axis, epsilon=1e-3, gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    out = layer(x)
    axes = [axis] if isinstance(axis, int) else axis
    shape = [x.shape[d] if d in axes else 1 for d in range(4)]
    mean = x.mean(axes, keepdim=True)
    var = x.var(axes, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-3) * layer.gamma.value.reshape(shape) + layer.beta.value.reshape(shape)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert layer.gamma.shape == gamma_shape
    assert layer.get_config()["axis"] == sorted(axes)
    assert LayerNormalization().get_config()["axis"] == -1


# ---------------------------------------------------------------- GroupNormalization
@pytest.mark.parametrize(
    "kwargs, input_shape, n_weights",
    [
        ({"groups": 2}, (3, 4, 4, 6), 2),
        ({"groups": 3, "gamma_initializer": "random_normal", "beta_initializer": "random_normal"}, (2, 5, 6), 2),
        ({"groups": 1}, (4, 6), 2),
        ({"groups": -1}, (2, 3, 3, 4), 2),
        ({"groups": 2, "axis": 1}, (2, 4, 3, 3), 2),
        ({"groups": 4, "center": False}, (2, 5, 8), 1),
    ],
)
def test_group_normalization_matches_keras(kwargs, input_shape, n_weights, keras):
    layer_test(GroupNormalization, kwargs, input_shape, (None, *input_shape[1:]), n_weights, n_weights,
               keras_module=keras)


def test_group_normalization_with_one_group_per_channel_is_instance_normalization():
    x = torch.randn(3, 5, 5, 4) * 3 + 1
    mean = x.mean((1, 2), keepdim=True)
    var = x.var((1, 2), unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-3)
    for groups in (4, -1):
        layer = GroupNormalization(groups=groups)
        torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)
        assert layer.groups == 4 and layer.get_config()["groups"] == 4


def test_group_normalization_rejects_groups_that_do_not_divide_channels():
    with pytest.raises(ValueError, match=r"'gn'.*groups \(4\) must divide the number of channels \(6\)"):
        GroupNormalization(groups=4, name="gn")(nerve.Input(shape=(3, 6)))
    with pytest.raises(ValueError, match=r"groups \(32\) must divide.*\(16\)"):
        GroupNormalization()(nerve.Input(shape=(16,)))
    with pytest.raises(ValueError, match="positive integer"):
        GroupNormalization(groups=0)


# ---------------------------------------------------------------- UnitNormalization
@pytest.mark.parametrize("kwargs, input_shape", [({}, (3, 5)), ({"axis": 1}, (2, 3, 4)), ({"axis": [1, 2]}, (2, 3, 4))])
def test_unit_normalization_matches_keras(kwargs, input_shape, keras):
    layer_test(UnitNormalization, kwargs, input_shape, (None, *input_shape[1:]), 0, keras_module=keras)


def test_unit_normalization_closed_form():
    out = UnitNormalization()(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8], [0.0, 0.0]]))
    x = torch.randn(2, 3, 4)
    norms = UnitNormalization(axis=[1, 2])(x).square().sum((1, 2))
    torch.testing.assert_close(norms, torch.ones(2))


# ---------------------------------------------------------------- SpectralNormalization
def test_spectral_normalization_contract():
    layer = layer_test(SpectralNormalization, {"layer": Dense(3), "power_iterations": 2}, (4, 5), (None, 3), 3, 2)
    assert [w.name for w in layer.weights] == ["kernel", "vector_u", "bias"]
    assert not layer.weights[1].trainable and layer.vector_u.shape == (1, 3)


@pytest.mark.parametrize("power_iterations", [1, 3])
def test_spectral_normalization_training_matches_keras(power_iterations, keras):
    layer = SpectralNormalization(Dense(3, kernel_initializer="random_normal"), power_iterations=power_iterations)
    layer.build((None, 5))
    klayer = keras.layers.SpectralNormalization(keras.layers.Dense(3), power_iterations=power_iterations)
    klayer.build((None, 5))
    klayer.set_weights(layer.get_weights())
    x = torch.randn(4, 5)
    torch.testing.assert_close(layer(x), torch.as_tensor(np.asarray(klayer(x.numpy()).detach().cpu())))
    for _ in range(2):
        out = layer(x, training=True)
        kout = klayer(x.numpy(), training=True)
        np.testing.assert_allclose(out.detach().numpy(), kout.detach().cpu().numpy(), atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(layer.get_weights(), klayer.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=1e-5)


def test_spectral_normalization_drives_the_largest_singular_value_to_one():
    layer = SpectralNormalization(Dense(6, kernel_initializer="random_normal"))
    x = torch.randn(2, 8)
    layer(x)
    for _ in range(30):
        layer(x, training=True)
    sigma = torch.linalg.matrix_norm(layer.kernel.value.detach(), ord=2)
    assert abs(float(sigma) - 1.0) < 1e-3
    kernel = layer.kernel.numpy()
    layer(x)  # inference does not touch the kernel
    np.testing.assert_array_equal(kernel, layer.kernel.numpy())


def test_spectral_normalization_errors_and_inner_regularizer():
    from nerve.layers.reshaping import Flatten

    with pytest.raises(ValueError, match="'kernel' or 'embeddings'"):
        SpectralNormalization(Flatten())(nerve.Input(shape=(3,)))
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        SpectralNormalization(Dense(2), power_iterations=0)
    inputs = nerve.Input(shape=(3,))
    model = nerve.Model(inputs, SpectralNormalization(Dense(2, kernel_regularizer="l2"))(inputs))
    assert len(model.losses) == 1


def test_normalization_layers_save_and_load_in_a_model(tmp_path):
    inputs = nerve.Input(shape=(6,))
    h = SpectralNormalization(Dense(8, kernel_initializer="random_normal"), power_iterations=2)(inputs)
    h = LayerNormalization(gamma_initializer="random_normal")(h)
    h = GroupNormalization(groups=2, beta_initializer="random_normal")(h)
    outputs = UnitNormalization()(h)
    model = nerve.Model(inputs, outputs)
    x = np.random.randn(16, 6).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.ones((16, 8), dtype="float32") / np.sqrt(8), epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / "norms.keras")
    model.save(path)
    custom = {cls.__name__: cls for cls in (SpectralNormalization, LayerNormalization, GroupNormalization,
                                            UnitNormalization)}
    loaded = nerve.models.load_model(path, custom_objects=custom)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert loaded.layers[1].power_iterations == 2
    np.testing.assert_array_equal(loaded.layers[1].vector_u.numpy(), model.layers[1].vector_u.numpy())
