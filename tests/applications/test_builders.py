"""Model builders: Keras's layer names, structure and parameter counts; argument checks; weights=path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.applications import LeNet5, ResNet18, ResNet34, ResNet50, SmallResNet, SmallVGG, VGG16, VGGStyle
from nerve.applications import preprocess_input, resnet50, vgg16

_CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "use_bias", "activation", "epsilon", "momentum",
                "axis", "pool_size", "units", "center", "scale")


def _same_structure(model, reference):
    """Same layer names, classes, key config values and weight shapes as the Keras model."""
    assert [layer.name for layer in model.layers[1:]] == [layer.name for layer in reference.layers[1:]]
    for ours, theirs in zip(model.layers[1:], reference.layers[1:]):
        assert type(ours).__name__ == type(theirs).__name__, ours.name
        mine, keras_config = ours.get_config(), theirs.get_config()
        for key in _CONFIG_KEYS:
            if key in keras_config:
                value = keras_config[key]
                assert mine[key] == (list(value) if isinstance(value, list) else value), (ours.name, key)
        assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights], ours.name
    assert model.count_params() == reference.count_params()
    assert model.output_shape == reference.output_shape


def test_resnet50_is_keras_resnet50(keras):
    reference = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    model = ResNet50(include_top=False, input_shape=(32, 32, 3))
    _same_structure(model, reference)
    assert model.name == "resnet50"
    assert model.count_params() == 23_587_712
    names = [layer.name for layer in model.layers]
    assert names[1:7] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool"]
    assert names[-1] == "conv5_block3_out"
    assert model.get_layer("conv1_bn").epsilon == 1.001e-5


def test_resnet50_top_and_pooling():
    model = ResNet50()
    assert model.count_params() == 25_636_712  # keras.applications.ResNet50(weights=None).count_params()
    assert [layer.name for layer in model.layers[-2:]] == ["avg_pool", "predictions"]
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    pooled = ResNet50(include_top=False, pooling="max", input_shape=(32, 32, 3))
    assert pooled.layers[-1].name == "max_pool" and pooled.output_shape == (None, 2048)
    free = ResNet50(include_top=False)
    assert free.input_shape == (None, None, None, 3)
    assert free.predict(np.zeros((1, 64, 40, 3), "float32"), verbose=0).shape == (1, 2, 2, 2048)


def test_any_size_input_keeps_unknown_symbolic_sizes():
    assert ResNet50(include_top=False).output_shape == (None, None, None, 2048)


def test_vgg16_is_keras_vgg16(keras):
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
    model = VGG16(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    _same_structure(model, reference)
    assert model.name == "vgg16" and model.count_params() == 14_714_688
    assert model.layers[-1].name == "global_average_pooling2d"
    assert VGG16(include_top=False, input_shape=(32, 32, 3), pooling="max").layers[-1].name == "global_max_pooling2d"


def test_vgg16_full_parameter_count_and_top_names():
    model = VGG16()
    assert model.count_params() == 138_357_544
    assert [layer.name for layer in model.layers[-4:]] == ["flatten", "fc1", "fc2", "predictions"]
    small = VGG16(input_shape=(48, 48, 3), classes=7, classifier_activation=None)
    assert small.output_shape == (None, 7) and small.count_params() == 33_625_927  # Keras's count
    assert small.get_layer("predictions").get_config()["activation"] == "linear"


def _resnet_basic_count(stacks, classes=1000):
    """Parameters of a basic-block ResNet with conv biases and 4 BN weights per channel, from first principles."""
    total = 7 * 7 * 3 * 64 + 64 + 4 * 64  # stem
    channels = 64
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), stacks)):
        for b in range(blocks):
            total += 3 * 3 * channels * filters + filters + 4 * filters
            total += 3 * 3 * filters * filters + filters + 4 * filters
            if b == 0 and (stage > 0 or channels != filters):
                total += channels * filters + filters + 4 * filters
            channels = filters
    return total + channels * classes + classes


@pytest.mark.parametrize("builder,stacks", [(ResNet18, (2, 2, 2, 2)), (ResNet34, (3, 4, 6, 3))])
def test_resnet18_34_counts_names_and_shapes(builder, stacks):
    model = builder(input_shape=(64, 64, 3), classes=10)
    assert model.count_params() == _resnet_basic_count(stacks, classes=10)
    names = {layer.name for layer in model.layers}
    assert {"conv1_conv", "conv2_block1_2_bn", "conv3_block1_0_conv", "conv3_block1_1_pad",
            f"conv5_block{stacks[-1]}_out", "avg_pool", "predictions"} <= names
    assert "conv2_block1_0_conv" not in names  # no projection where the shape does not change
    assert model.output_shape == (None, 10)
    assert builder(include_top=False, input_shape=(64, 64, 3)).output_shape == (None, 2, 2, 512)
    if builder is ResNet18:  # torchvision's resnet18 has 11,689,512 without conv biases and BN statistics
        assert _resnet_basic_count(stacks) == 11_689_512 + 4_800 + 2 * 4_800


def test_lenet5():
    model = LeNet5()
    assert model.count_params() == 61_706
    assert [layer.name for layer in model.layers[1:]] == [
        "conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "predictions"]
    assert model.get_layer("conv1").get_config()["activation"] == "tanh"
    assert type(model.get_layer("pool1")).__name__ == "AveragePooling2D"
    relu = LeNet5(input_shape=(28, 28, 1), activation="relu", classes=5)
    assert relu.get_layer("fc2").get_config()["activation"] == "relu"
    assert relu.output_shape == (None, 5) and relu.get_layer("flatten").output_shape == (None, 256)
    assert LeNet5(include_top=False).output_shape == (None, 5, 5, 16)
    assert LeNet5(include_top=False, pooling="avg").output_shape == (None, 16)
    probs = model.predict(np.random.rand(3, 32, 32, 1).astype("float32"), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_small_vgg_layers():
    assert SmallVGG is VGGStyle
    model = VGGStyle(input_shape=(8, 8, 1), dropout=0.25, batch_norm=True, blocks=(8, 16))
    names = [layer.name for layer in model.layers[1:]]
    assert names[:4] == ["block1_conv1", "block1_bn1", "block1_relu1", "block1_conv2"]
    assert {"block1_pool", "block1_dropout", "block2_dropout", "flatten", "fc1", "fc1_dropout"} <= set(names)
    assert names[-1] == "predictions" and model.output_shape == (None, 10)
    plain = VGGStyle(input_shape=(28, 28, 1), dense_units=None)
    assert [layer.name for layer in plain.layers[-2:]] == ["flatten", "predictions"]
    # 2 blocks of two 3x3 convs (32, 64 filters), then 7*7*64 -> 10
    assert plain.count_params() == (9 * 1 * 32 + 32) + (9 * 32 * 32 + 32) + (9 * 32 * 64 + 64) + (
        9 * 64 * 64 + 64) + (7 * 7 * 64 * 10 + 10)
    assert VGGStyle(include_top=False, pooling="max").output_shape == (None, 64)
    with pytest.raises(ValueError, match="dropout"):
        VGGStyle(dropout=1.5)
    with pytest.raises(ValueError, match="blocks"):
        VGGStyle(blocks=())
    with pytest.raises(ValueError, match="convs_per_block"):
        VGGStyle(convs_per_block=0)


def test_small_resnet_bottleneck_option():
    model = SmallResNet(input_shape=(16, 16, 3), blocks=(1, 1), filters=(8, 16), bottleneck=True)
    assert model.get_layer("conv2_block1_3_conv").get_config()["filters"] == 32
    assert model.output_shape == (None, 10)
    with pytest.raises(ValueError, match="same length"):
        SmallResNet(blocks=(1, 1), filters=(8,))


@pytest.mark.parametrize("builder,kwargs,match", [
    (VGG16, dict(weights="imagenet", classes=10), "`classes` must be 1000"),
    (ResNet50, dict(weights="no/such/file.h5"), "no such file"),
    (VGG16, dict(weights="imagenet", input_shape=(64, 64, 3)), r"must be \(224, 224, 3\)"),
    (VGG16, dict(input_shape=(None, None, 3)), "static `input_shape`"),
    (ResNet50, dict(include_top=False, input_shape=(16, 16, 3)), "at least 32x32"),
    (VGG16, dict(include_top=False, weights="imagenet", input_shape=(64, 64, 1)), "3-channel"),
    (ResNet50, dict(include_top=False, input_shape=(64, 64)), "three integers"),
    (VGG16, dict(weights="imagenet", classifier_activation="relu"), "None or 'softmax'"),
    (ResNet50, dict(include_top=False, pooling="mean"), "'avg' or 'max'"),
    (ResNet18, dict(weights="imagenet"), "no published ImageNet weights"),
    (LeNet5, dict(classes=0), "positive integer"),
])
def test_argument_errors_name_the_fix(builder, kwargs, match, weights_env, monkeypatch):
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    with pytest.raises(ValueError, match=match):
        builder(**kwargs)


def test_input_tensor_becomes_the_model_input():
    image = nerve.Input(shape=(32, 32, 3), name="image")
    model = VGG16(include_top=False, input_tensor=image)
    assert model.inputs[0] is image
    raw = nerve.Input(shape=(40, 40, 3), name="raw")
    from nerve.layers.spatial import Cropping2D

    cropped = Cropping2D(((4, 4), (4, 4)))(raw)
    model = LeNet5(input_shape=(32, 32, 3), input_tensor=cropped)
    assert model.inputs[0] is raw and model.output_shape == (None, 10)
    assert model.predict(np.zeros((2, 40, 40, 3), "float32"), verbose=0).shape == (2, 10)
    with pytest.raises(TypeError, match="symbolic tensor"):
        ResNet50(input_tensor=np.zeros((1, 224, 224, 3)))


def test_preprocess_input_matches_keras_and_leaves_its_input(keras):
    from keras.applications import vgg16 as keras_vgg16

    images = np.random.default_rng(0).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    before = images.copy()
    ours = preprocess_input(images)
    np.testing.assert_array_equal(images, before)
    np.testing.assert_allclose(ours, keras_vgg16.preprocess_input(images.copy()), rtol=1e-6)
    np.testing.assert_allclose(preprocess_input(torch.from_numpy(images)).numpy(), ours, rtol=1e-6)
    first = preprocess_input(images.transpose(0, 3, 1, 2), data_format="channels_first")
    np.testing.assert_allclose(first, ours.transpose(0, 3, 1, 2), rtol=1e-6)
    assert preprocess_input(np.full((1, 1, 3), 200, "uint8")).dtype == np.float32
    assert vgg16.preprocess_input is resnet50.preprocess_input is preprocess_input
    assert vgg16.VGG16 is VGG16 and resnet50.ResNet50 is ResNet50


@pytest.mark.parametrize("filename", ["lenet.weights.h5", "lenet.keras"])
def test_weights_path_round_trip(tmp_path, filename):
    trained = LeNet5(activation="relu")
    trained.get_layer("fc1").kernel.assign(np.random.default_rng(1).normal(size=(400, 120)).astype("float32"))
    path = str(tmp_path / filename)
    trained.save(path) if filename.endswith(".keras") else trained.save_weights(path)
    loaded = LeNet5(activation="relu", weights=path)
    x = np.random.default_rng(2).normal(size=(4, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), trained.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="does not match|Cannot load"):
        LeNet5(activation="relu", classes=3, weights=path)


def test_preprocess_input_on_a_symbolic_input_becomes_a_saved_layer(tmp_path):
    import nerve

    inputs = nerve.Input((4, 4, 3))
    model = nerve.Model(inputs, nerve.applications.resnet50.preprocess_input(inputs))
    x = np.random.default_rng(0).random((2, 4, 4, 3), dtype=np.float32) * 255
    np.testing.assert_allclose(model.predict(x, verbose=0), nerve.applications.resnet50.preprocess_input(x), rtol=1e-6)
    model.save(tmp_path / "p.keras")
    np.testing.assert_allclose(nerve.models.load_model(tmp_path / "p.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0))
