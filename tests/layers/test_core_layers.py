"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, InputLayer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve import layers
from tests.layers.layer_test_utils import layer_test


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape, n_weights",
    [
        ({"units": 3}, (4, 5), (None, 3), 2),
        ({"units": 3, "use_bias": False}, (4, 5), (None, 3), 1),
        ({"units": 2, "activation": "relu"}, (4, 6, 5), (None, 6, 2), 2),
        ({"units": 7, "activation": "softmax"}, (2, 3), (None, 7), 2),
        ({"units": 3, "activation": "tanh", "kernel_initializer": "he_normal"}, (4, 5), (None, 3), 2),
    ],
)
def test_dense_layer_contract_and_matches_keras(kwargs, input_shape, output_shape, n_weights, keras):
    layer = layer_test(layers.Dense, kwargs, input_shape, output_shape, n_weights, n_weights, keras_module=keras)
    assert layer.kernel.shape == (input_shape[-1], kwargs["units"])  # Keras layout (in, out)


def test_dense_closed_form():
    layer = layers.Dense(2, activation="relu", kernel_initializer="ones", bias_initializer=nerve.initializers.Constant(-3.0))
    out = layer(torch.tensor([[1.0, 1.0], [2.0, 2.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [1.0, 1.0]]))


def test_dense_uses_keras_default_initializers():
    layer = layers.Dense(300)
    layer.build((None, 500))
    limit = np.sqrt(6 / (500 + 300))  # glorot_uniform
    k = layer.kernel.numpy()
    assert k.min() >= -limit and k.max() <= limit and k.std() > 0.8 * limit / np.sqrt(3)
    assert np.all(layer.bias.numpy() == 0)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_dense_rejects_bad_units(bad):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.Dense(bad)


def test_dense_shape_mismatch_names_layer_and_shapes():
    x = nerve.Input(shape=(8,))
    layer = layers.Dense(4, name="hidden")
    layer(x)
    with pytest.raises(ValueError, match=r"hidden.*expected last dimension 8.*\(None, 5\)"):
        layer(nerve.Input(shape=(5,)))
    with pytest.raises(ValueError, match=r"hidden.*built for input shape"):
        layer(torch.zeros(2, 5))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "swish", "gelu", "elu", "selu",
                                        "softplus", "softsign", "hard_sigmoid", "exponential", "leaky_relu",
                                        "linear", "silu", "relu6", "mish", "log_softmax", "celu", "glu",
                                        "hard_tanh", "log_sigmoid", "squareplus", "tanh_shrink", "soft_shrink",
                                        "hard_shrink", "sparse_plus", "sparse_sigmoid"])
def test_activation_layer_matches_keras(activation, keras):
    out = (None, 3) if activation == "glu" else (None, 6)
    layer_test(layers.Activation, {"activation": activation}, (3, 6), out, 0, keras_module=keras)


def test_sparsemax_projects_onto_the_simplex():
    # Keras 3.15's torch sparsemax returns zeros here, so the check is the closed form.
    out = nerve.activations.sparsemax(torch.tensor([[0.5, 1.0, -0.2, 2.0, 1.8, 0.1]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 0.0, 0.6, 0.4, 0.0]]))
    assert float(nerve.activations.sparsemax(torch.randn(3, 7)).sum(-1).sub(1).abs().max()) < 1e-6


def test_flatten_and_reshape_match_keras(keras):
    layer_test(layers.Flatten, {}, (2, 3, 4), (None, 12), 0, keras_module=keras)
    layer_test(layers.Flatten, {}, (2, 3, 4, 2), (None, 24), 0, keras_module=keras)
    layer_test(layers.Reshape, {"target_shape": (4, 3)}, (2, 12), (None, 4, 3), 0, keras_module=keras)
    layer_test(layers.Reshape, {"target_shape": (-1, 2)}, (2, 12), (None, 6, 2), 0, keras_module=keras)


def test_reshape_rejects_incompatible_shape():
    with pytest.raises(ValueError, match=r"cannot reshape samples of shape \(12,\).*target_shape=\(5, 2\)"):
        layers.Reshape((5, 2))(nerve.Input(shape=(12,)))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))


def test_dropout_is_identity_at_inference_and_scales_in_training():
    layer = layers.Dropout(0.5)
    x = torch.ones(2000, 50)
    torch.testing.assert_close(layer(x), x)
    y = layer(x, training=True)
    kept = y != 0
    assert 0.45 < kept.float().mean() < 0.55
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 2.0))


def test_dropout_seed_and_noise_shape():
    a = layers.Dropout(0.3, seed=7)(torch.ones(4, 10), training=True)
    b = layers.Dropout(0.3, seed=7)(torch.ones(4, 10), training=True)
    torch.testing.assert_close(a, b)
    c = layers.Dropout(0.5, noise_shape=(None, 1))(torch.ones(100, 6), training=True)
    assert all(len(set(row.tolist())) == 1 for row in c)  # whole rows kept or dropped


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "x"])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate must be a number in"):
        layers.Dropout(rate)


def test_input_and_input_layer_shapes():
    x = nerve.Input(shape=(28, 28), name="pixels")
    assert x.shape == (None, 28, 28) and x.name == "pixels"
    assert nerve.Input(batch_shape=(16, 3)).shape == (16, 3)
    assert layers.InputLayer(input_shape=(5,)).batch_shape == (None, 5)
    with pytest.raises(ValueError, match="needs the shape of one sample"):
        layers.InputLayer()


def test_layer_names_follow_keras_and_reset_with_clear_session():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.InputLayer(shape=(1,)).name == "input_layer"
    nerve.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_unknown_layer_argument_is_refused():
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['unitz'\]"):
        layers.Dense(3, unitz=4)


def test_trainable_flag_freezes_weights():
    layer = layers.Dense(3)
    layer.build((None, 2))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not any(p.requires_grad for p in layer.parameters())
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and all(p.requires_grad for p in layer.parameters())


def test_set_weights_checks_count_and_shapes():
    layer = layers.Dense(3, name="d")
    layer.build((None, 2))
    with pytest.raises(ValueError, match=r"'d' expects 2 weight arrays"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"d/kernel.*shape \(2, 3\).*shape \(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    layer.set_weights([np.ones((2, 3)), np.arange(3.0)])
    np.testing.assert_array_equal(layer.bias.numpy(), [0.0, 1.0, 2.0])


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="not built"):
        layers.Dense(3).count_params()


def test_custom_layer_with_add_weight_trains():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w.value

    layer = Scale()
    out = layer(torch.ones(2, 3))
    assert layer.weights[0].path == f"{layer.name}/w"
    out.sum().backward()
    assert layer.w.value.grad is not None


def test_layers_in_lists_dicts_and_variable_attributes_are_tracked():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.stack = []
            for _ in range(2):
                self.stack.append(layers.Dense(4))
            self.heads = {"out": layers.Dense(1)}
            self.scale = nerve.Variable(np.ones(1, "float32"), name="scale")
            self.offset = nerve.Variable("zeros", shape=(1,), trainable=False, name="offset")

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            return self.heads["out"](x) * self.scale.value + self.offset.value

    block = Block()
    block(torch.ones(2, 3))
    assert len(block.weights) == 8 and len(block.trainable_weights) == 7
    assert {n for n, _ in block.named_parameters()} >= {"scale", "offset", "stack_0.kernel", "heads_out.kernel"}


def test_calling_build_directly_marks_the_layer_built():
    layer = layers.Dense(3)
    layer.build((None, 4))
    assert layer.built
    layer(torch.ones(2, 4))
    assert len(layer.weights) == 2


def test_constant_initializer_takes_arrays():
    table = np.arange(6, dtype="float32").reshape(3, 2)
    layer = layers.Dense(2, kernel_initializer=nerve.initializers.Constant(table))
    layer.build((None, 3))
    np.testing.assert_array_equal(layer.kernel.numpy(), table)
    with pytest.raises(ValueError, match=r"does not fit the weight shape \(3, 4\)"):
        nerve.initializers.Constant(table)((3, 4))


def test_training_can_be_passed_positionally():
    layer = layers.Dropout(0.5)
    x = torch.ones(100, 10)
    assert torch.equal(layer(x, False), x)
    assert (layer(x, True) == 0).any()
