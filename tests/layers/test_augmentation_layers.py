"""Image augmentation layers: Keras's transforms for fixed parameters, randomness, training-only behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve
from nerve.layers.augmentation import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from nerve.layers.dense import Dense
from nerve.layers.layer import Layer
from nerve.layers.reshaping import Flatten
from tests.layers.layer_test_utils import layer_test

FILL_MODES = ["reflect", "wrap", "nearest", "constant"]
INTERPOLATIONS = ["bilinear", "nearest"]


def _images(shape=(3, 7, 9, 2), seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 255).astype("float32")


def _np(t) -> np.ndarray:
    return np.asarray(t.detach().cpu() if hasattr(t, "detach") else t)


def _oracle(keras, name: str, *args, **kwargs):
    """The Keras layer whose `transform_images` (Keras >= 3.6 internals) serves as the oracle."""
    layer = getattr(keras.layers, name)(*args, **kwargs)
    if not hasattr(layer, "transform_images"):
        pytest.skip(f"this Keras ({keras.__version__}) has no {name}.transform_images to drive with fixed parameters")
    return layer


# ------------------------------------------------------------------ layer contract (inference mode)
@pytest.mark.parametrize("cls, kwargs", [
    (RandomFlip, {"mode": "horizontal"}),
    (RandomFlip, {"mode": "horizontal_and_vertical", "seed": 3}),
    (RandomRotation, {"factor": 0.2, "fill_mode": "constant", "fill_value": 1.5}),
    (RandomRotation, {"factor": (-0.1, 0.3), "interpolation": "nearest"}),
    (RandomZoom, {"height_factor": 0.2}),
    (RandomZoom, {"height_factor": (-0.3, 0.1), "width_factor": 0.2, "fill_mode": "wrap"}),
    (RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.2), "fill_mode": "nearest"}),
    (RandomContrast, {"factor": 0.3}),
    (RandomContrast, {"factor": (0.2, 0.5), "value_range": (0, 1)}),
])
def test_layer_contract_and_keras_inference(cls, kwargs, keras):
    layer_test(cls, kwargs, (2, 8, 9, 3), (None, 8, 9, 3), 0, 0, keras_module=keras, training=False)
    # The config holds Keras's keys (and the same values) for the same arguments.
    ours = cls(**kwargs).get_config()
    theirs = getattr(keras.layers, cls.__name__)(**kwargs).get_config()
    assert set(ours) == set(theirs)
    for key in set(ours) - {"name", "dtype"}:
        assert ours[key] == theirs[key], key


# ------------------------------------------------------------------ fixed parameters against Keras
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_rotation_matches_keras_for_fixed_angles(fill_mode, interpolation, keras):
    x = _images()
    degrees = np.array([20.0, -47.0, 130.0], dtype="float32")
    kl = _oracle(keras, "RandomRotation", 0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    n = len(degrees)
    zeros, ones = torch.zeros(n), torch.ones(n)
    matrix = kl._compute_affine_matrix(0.5, 0.5, torch.tensor(degrees), zeros, zeros, ones, zeros, zeros, 7, 9)
    expected = _np(kl.transform_images(x, {"rotation_matrix": matrix}))
    layer = RandomRotation(0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    got = layer._apply(torch.from_numpy(x), torch.from_numpy(degrees) * (math.pi / 180)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-3)  # pixel values in [0, 255]


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_zoom_matches_keras_for_fixed_zooms(fill_mode, interpolation, keras):
    x = _images()
    height = np.array([[0.63], [1.37], [1.11]], dtype="float32")
    width = np.array([[1.43], [0.71], [0.93]], dtype="float32")
    kl = _oracle(keras, "RandomZoom", 0.5, 0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    expected = _np(kl.transform_images(x, {"height_zoom": torch.tensor(height), "width_zoom": torch.tensor(width)}))
    layer = RandomZoom(0.5, 0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    got = layer._apply(torch.from_numpy(x), torch.from_numpy(np.concatenate([height, width], 1))).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_translation_matches_keras_for_fixed_shifts(fill_mode, interpolation, keras):
    x = _images()
    shifts = np.array([[0.33, -0.41], [-0.27, 0.13], [0.71, 0.93]], dtype="float32")  # (down, right) fractions
    pixels = np.stack([shifts[:, 1] * 9, shifts[:, 0] * 7], axis=1).astype("float32")  # Keras: (x, y) pixels
    kl = _oracle(keras, "RandomTranslation", 0.5, 0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    expected = _np(kl.transform_images(x, {"translations": torch.tensor(pixels)}))
    layer = RandomTranslation(0.5, 0.5, fill_mode=fill_mode, interpolation=interpolation, fill_value=3.0)
    got = layer._apply(torch.from_numpy(x), torch.from_numpy(shifts)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_matches_keras_exactly(mode, keras):
    x = _images((4, 5, 6, 2))
    flips = np.array([True, False, True, False])
    kl = _oracle(keras, "RandomFlip", mode)
    expected = _np(kl.transform_images(x, {"flips": torch.tensor(flips).reshape(4, 1, 1, 1)}))
    got = RandomFlip(mode)._apply(torch.from_numpy(x), torch.from_numpy(flips)).numpy()
    np.testing.assert_array_equal(got, expected)


def test_contrast_matches_keras_for_fixed_factors(keras):
    x = _images((3, 5, 6, 2))
    factors = np.array([0.6, 1.0, 1.7], dtype="float32")
    kl = _oracle(keras, "RandomContrast", (0.5, 0.9), value_range=(0, 255))
    expected = _np(kl.transform_images(torch.from_numpy(x), {"contrast_factor": torch.tensor(factors).reshape(3, 1, 1, 1)}))
    got = RandomContrast((0.5, 0.9))._apply(torch.from_numpy(x), torch.from_numpy(factors)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    assert got.max() <= 255 and got.min() >= 0 and (got == 255).any()  # the clip took effect


def test_fill_modes_on_a_row_follow_keras_definitions():
    # One row a b c d, shifted right by 2 whole pixels: the two new pixels show each fill mode.
    row = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
    shift = torch.tensor([[0.0, 0.5]])
    expected = {"reflect": [2, 1, 1, 2], "wrap": [3, 4, 1, 2], "nearest": [1, 1, 1, 2], "constant": [9, 9, 1, 2]}
    for mode, want in expected.items():
        layer = RandomTranslation(0.0, 0.5, fill_mode=mode, fill_value=9.0)
        torch.testing.assert_close(layer._apply(row, shift).flatten(), torch.tensor(want, dtype=torch.float32))


# ------------------------------------------------------------------ randomness
@pytest.mark.parametrize("layer", [
    RandomRotation(0.0), RandomZoom(0.0), RandomZoom(0.0, 0.0), RandomTranslation(0.0, 0.0), RandomContrast(0.0),
])
def test_zero_factor_is_identity_in_training(layer):
    x = torch.rand(4, 6, 5, 3) * 255
    torch.testing.assert_close(layer(x, training=True), x)


def test_flip_rate_is_one_half_and_both_axes_flip_together():
    x = torch.arange(4.0).reshape(1, 2, 2, 1).expand(4000, 2, 2, 1).contiguous()
    out = RandomFlip()(x, training=True)
    flipped = (out != x).any(dim=(1, 2, 3))
    assert abs(flipped.float().mean().item() - 0.5) < 0.04
    # Keras 3 flips both axes of an image, or neither: a 180-degree turn.
    torch.testing.assert_close(out[flipped], x[flipped].flip((1, 2)))
    for mode, axis in [("horizontal", 2), ("vertical", 1)]:
        out = RandomFlip(mode)(x, training=True)
        same, flipped = (out == x).all(dim=(1, 2, 3)), (out == x.flip(axis)).all(dim=(1, 2, 3))
        assert (same | flipped).all() and same.any() and flipped.any()


def test_rotation_angles_cover_the_factor_range():
    layer = RandomRotation((-0.1, 0.25))
    angles = layer._sample(20000, torch.device("cpu"))
    low, high = -0.1 * 2 * math.pi, 0.25 * 2 * math.pi
    assert angles.min() >= low and angles.max() <= high
    assert angles.min() < low + 0.01 and angles.max() > high - 0.01
    assert abs(angles.mean().item() - (low + high) / 2) < 0.02


def test_rotation_by_quarter_turn_moves_pixels_counter_clockwise():
    x = torch.arange(9.0).reshape(1, 3, 3, 1)
    out = RandomRotation(0.5)._apply(x, torch.tensor([math.pi / 2]))
    torch.testing.assert_close(out[0, :, :, 0], torch.rot90(x[0, :, :, 0], 1), atol=1e-4, rtol=0)


def test_zoom_and_translation_draws_within_range():
    zooms = RandomZoom((-0.3, 0.1), 0.2)._sample(20000, torch.device("cpu"))
    assert zooms[:, 0].min() >= 0.7 and zooms[:, 0].max() <= 1.1 and zooms[:, 0].min() < 0.71
    assert zooms[:, 1].min() >= 0.8 and zooms[:, 1].max() <= 1.2
    same = RandomZoom(0.2)._sample(100, torch.device("cpu"))
    torch.testing.assert_close(same[:, 0], same[:, 1])  # no width_factor: aspect ratio kept
    shifts = RandomTranslation(0.2, (-0.1, 0.3))._sample(20000, torch.device("cpu"))
    assert shifts[:, 0].abs().max() <= 0.2 and shifts[:, 1].min() >= -0.1 and shifts[:, 1].max() > 0.29


def test_contrast_float_factor_only_increases_contrast_as_in_keras():
    x = torch.rand(2000, 4, 4, 1)
    layer = RandomContrast(0.5, value_range=(-100, 100))  # wide range: no clipping
    out = layer(x, training=True)
    ratio = out.std(dim=(1, 2, 3)) / x.std(dim=(1, 2, 3))
    assert ratio.min() >= 1 - 1e-4 and ratio.max() <= 1.5 + 1e-4 and ratio.max() > 1.45
    assert layer.factor == (0.0, 0.5)
    ratio = RandomContrast((0.5, 0.5), value_range=(-100, 100))(x, training=True).std(dim=(1, 2, 3)) / x.std(
        dim=(1, 2, 3))
    assert ratio.min() < 0.55 and ratio.max() > 1.45


def test_per_image_transforms_differ_within_a_batch():
    x = _images((1, 8, 8, 1)).repeat(6, axis=0)
    for layer in [RandomRotation(0.3), RandomZoom(0.3), RandomTranslation(0.3, 0.3), RandomContrast(0.5)]:
        out = layer(torch.from_numpy(x), training=True)
        assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[2], out[3]), layer.name


def test_set_random_seed_and_seed_argument_repeat_draws():
    x = torch.rand(4, 8, 8, 3)
    nerve.utils.set_random_seed(7)
    a = RandomRotation(0.3)(x, training=True)
    nerve.utils.set_random_seed(7)
    b = RandomRotation(0.3)(x, training=True)
    torch.testing.assert_close(a, b)
    c = RandomZoom(0.3, seed=11)(x, training=True)
    torch.manual_seed(99)  # the layer's own generator ignores the global RNG
    d = RandomZoom(0.3, seed=11)(x, training=True)
    torch.testing.assert_close(c, d)
    layer = RandomZoom(0.3, seed=11)
    assert not torch.allclose(layer(x, training=True), layer(x, training=True))  # the sequence moves on


# ------------------------------------------------------------------ training only
@pytest.mark.parametrize("layer", [
    RandomFlip(), RandomRotation(0.3), RandomZoom(0.3), RandomTranslation(0.3, 0.3), RandomContrast(0.5),
])
def test_inference_returns_inputs_and_direct_call_augments(layer, keras):
    x = torch.rand(32, 8, 8, 3) * 255
    torch.testing.assert_close(layer(x, training=False), x)
    assert not torch.allclose(layer(x), x)  # a direct call augments, as in Keras 3
    kl = getattr(keras.layers, type(layer).__name__)(**{k: v for k, v in layer.get_config().items()
                                                        if k not in ("name", "dtype", "trainable")})
    assert not np.allclose(_np(kl(x.numpy())), x.numpy())  # the Keras behaviour we follow


class _Recorder(Layer):
    """Keeps the inputs it sees in training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[torch.Tensor] = []

    def call(self, inputs, training=False):
        if training:
            self.seen.append(inputs.detach().clone())
        return inputs


def _model(with_augmentation: bool, recorder: Layer | None = None) -> nerve.Sequential:
    nerve.utils.set_random_seed(0)
    aug = [RandomFlip(), RandomRotation(0.2)] if with_augmentation else []
    rec = [recorder] if recorder is not None else []
    return nerve.Sequential([nerve.Input((8, 8, 1)), *aug, *rec, Flatten(), Dense(1, kernel_initializer="ones")])


def test_off_in_predict_and_evaluate_on_in_fit():
    x = np.random.default_rng(0).random((32, 8, 8, 1)).astype("float32")
    y = np.zeros((32, 1), dtype="float32")
    recorder = _Recorder()
    model = _model(True, recorder)
    plain = _model(False)
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, plain.predict(x, verbose=0), rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    plain.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0), rel=1e-6)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    seen = recorder.seen[0].cpu().numpy()
    assert seen.shape == x.shape and not np.allclose(seen, x)


def test_inside_a_subclassed_model_the_model_training_flag_decides():
    class Net(nerve.Model):
        def __init__(self):
            super().__init__()
            self.flip = RandomFlip()

        def call(self, inputs, training=False):
            return self.flip(inputs)

    net = Net()
    x = torch.rand(64, 4, 4, 1)
    torch.testing.assert_close(net(x), x)
    assert not torch.allclose(net(x, training=True), x)


# ------------------------------------------------------------------ shapes, dtypes, formats, errors
def test_single_image_uint8_and_channels_first():
    image = torch.randint(0, 255, (8, 9, 3), dtype=torch.uint8)
    out = RandomRotation(0.2)(image, training=True)
    assert out.shape == (8, 9, 3) and out.dtype == torch.float32
    assert RandomFlip()(image, training=False).dtype == torch.float32  # cast like Keras
    assert RandomContrast(0.2)(image, training=False).dtype == torch.uint8  # Keras keeps it
    x = torch.rand(2, 7, 9, 3)
    shifts = torch.tensor([[0.2, -0.3], [0.1, 0.4]])
    last = RandomTranslation(0.5, 0.5, fill_mode="wrap")._apply(x, shifts)
    first = RandomTranslation(0.5, 0.5, fill_mode="wrap", data_format="channels_first")._apply(
        x.permute(0, 3, 1, 2), shifts)
    torch.testing.assert_close(first.permute(0, 2, 3, 1), last)
    flips = torch.tensor([True, False])
    torch.testing.assert_close(RandomFlip("vertical", data_format="channels_first")._apply(
        x.permute(0, 3, 1, 2), flips).permute(0, 2, 3, 1), RandomFlip("vertical")._apply(x, flips))


def test_gradient_flows_through_augmentation():
    x = torch.rand(2, 6, 6, 1, requires_grad=True)
    RandomRotation(0.2)(x, training=True).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("make, match", [
    (lambda: RandomRotation(0.2, fill_mode="mirror"), r"random_rotation.*fill_mode.*'mirror'"),
    (lambda: RandomZoom(0.2, interpolation="bicubic"), r"interpolation.*bicubic"),
    (lambda: RandomRotation(1.5), r"factor.*\[-1.0, 1.0\].*1.5"),
    (lambda: RandomZoom(-1.0), r"height_factor.*\(-1.0, 1.0\]"),
    (lambda: RandomTranslation(0.1, (0.1, 0.2, 0.3)), r"width_factor"),
    (lambda: RandomContrast(-0.2), r"factor.*\[0.0, 1.0\]"),
    (lambda: RandomContrast(0.2, value_range=(1, 0)), r"value_range"),
    (lambda: RandomFlip("diagonal"), r"mode.*diagonal"),
    (lambda: RandomFlip(data_format="nhwc"), r"data_format"),
])
def test_bad_arguments_are_refused_clearly(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_rank_is_refused_clearly():
    with pytest.raises(ValueError, match=r"random_flip.*rank 3.*or 4.*\(2, 8\)"):
        RandomFlip()(torch.rand(2, 8), training=True)
    with pytest.raises(ValueError, match=r"random_zoom.*rank"):
        RandomZoom(0.1)(nerve.Input((8,)))
