"""weights='imagenet' without internet: Keras writes the files, a local mirror serves them, nerve loads them."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pytest
from applications_testutil import http_mirror, keras_predict, md5_of, randomize, unused_port, write_legacy_weights

import nerve
from nerve.applications import PretrainedWeightsNotFoundError, _weights
from nerve.applications.lenet import LeNet5
from nerve.applications.resnet import ResNet50
from nerve.applications.vgg import VGG16
from nerve.datasets import ChecksumError


@pytest.fixture(scope="module")
def vgg_notop(tmp_path_factory):
    """Keras's VGG16 without top (32x32 inputs, random weights) and its legacy weights file, made once."""
    keras = pytest.importorskip("keras")
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    randomize(reference, seed=1)
    path = tmp_path_factory.mktemp("vgg") / "weights.h5"
    write_legacy_weights(reference, path)
    return reference, path


def _publish(source, folder, arch, include_top, monkeypatch):
    """Put a weights file under its published name in `folder`, with its MD5 in nerve's table."""
    spec = _weights.IMAGENET_WEIGHTS[(arch, include_top)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec.filename
    shutil.copyfile(source, path)
    monkeypatch.setitem(_weights.IMAGENET_WEIGHTS, (arch, include_top), dataclasses.replace(spec, md5=md5_of(path)))
    return path


def _cached(tmp_path, filename):
    return tmp_path / "nerve_cache" / "models" / filename


def test_vgg16_imagenet_notop_from_a_folder_mirror_matches_keras(vgg_notop, weights_env, monkeypatch):
    reference, source = vgg_notop
    served = _publish(source, weights_env / "mirror", "vgg16", False, monkeypatch)
    monkeypatch.setenv("NERVE_WEIGHTS_MIRROR", str(weights_env / "mirror"))  # a plain folder

    model = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))

    cached = _cached(weights_env, served.name)
    assert cached.read_bytes() == served.read_bytes()
    assert [p for p in os.listdir(cached.parent) if p.endswith(".part")] == []
    x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), keras_predict(reference, x), rtol=1e-4, atol=1e-4)

    # Cached now: found again with downloads off, even after the mirror is gone.
    served.unlink()
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    again = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_resnet50_imagenet_notop_over_http_matches_keras(keras, weights_env, monkeypatch):
    reference = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    randomize(reference, seed=2)
    write_legacy_weights(reference, weights_env / "resnet.h5")
    served = _publish(weights_env / "resnet.h5", weights_env / "mirror", "resnet50", False, monkeypatch)

    with http_mirror(weights_env / "mirror") as url:
        monkeypatch.setenv("NERVE_WEIGHTS_MIRROR", url)
        model = ResNet50(weights="imagenet", include_top=False, input_shape=(32, 32, 3))

    assert _cached(weights_env, served.name).read_bytes() == served.read_bytes()
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), keras_predict(reference, x), rtol=1e-4, atol=1e-4)
    # The moving statistics came across too (non-trainable weights).
    bn = model.get_layer("conv5_block3_3_bn")
    np.testing.assert_array_equal(bn.moving_variance.numpy(),
                                  reference.get_layer("conv5_block3_3_bn").moving_variance.numpy())


def test_keras_cache_is_reused_offline(vgg_notop, weights_env, monkeypatch):
    reference, source = vgg_notop
    path = _publish(source, weights_env / "home" / ".keras" / "models", "vgg16", False, monkeypatch)
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    model = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    np.testing.assert_array_equal(model.get_layer("block5_conv3").get_weights()[0],
                                  reference.get_layer("block5_conv3").get_weights()[0])
    assert not _cached(weights_env, path.name).exists()  # read in place, not copied


_KERAS_FILES = [  # as in Keras 3's applications sources: URL and MD5 of each published file
    (VGG16, "vgg16", True, "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
    (VGG16, "vgg16", False, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    (ResNet50, "resnet", True, "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107"),
    (ResNet50, "resnet", False, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "4d473c1dd8becc155b73f8504c6f6626"),
]


@pytest.mark.parametrize("builder,folder,include_top,name,md5", _KERAS_FILES)
def test_offline_error_says_where_it_looked_and_how_to_get_the_file(builder, folder, include_top, name, md5,
                                                                    weights_env, monkeypatch):
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsNotFoundError) as info:
        builder(weights="imagenet", include_top=include_top)
    message = str(info.value)
    assert name in message
    assert str(weights_env / "nerve_cache" / "models" / name) in message
    assert str(weights_env / "home" / ".keras" / "models" / name) in message
    assert f"https://storage.googleapis.com/tensorflow/keras-applications/{folder}/{name}" in message
    assert "NERVE_OFFLINE" in message and "NERVE_WEIGHTS_MIRROR" in message and md5 in message
    assert isinstance(info.value, FileNotFoundError)


def test_no_network_error_names_the_failed_download(weights_env, monkeypatch):
    monkeypatch.setenv("NERVE_WEIGHTS_MIRROR", f"http://127.0.0.1:{unused_port()}")
    with pytest.raises(PretrainedWeightsNotFoundError, match=r"(?s)download: http://127\.0\.0\.1.*retry with network"):
        VGG16(weights="imagenet", include_top=True)
    assert not os.listdir(weights_env / "nerve_cache" / "models")  # nothing half-written


def test_checksum_mismatch_deletes_the_download(weights_env, monkeypatch):
    (weights_env / "mirror").mkdir()
    (weights_env / "mirror" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"not the weights")
    monkeypatch.setenv("NERVE_WEIGHTS_MIRROR", str(weights_env / "mirror"))
    with pytest.raises(ChecksumError, match="6d6bbae143d832006294945121d1f1fc"):
        VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert os.listdir(weights_env / "nerve_cache" / "models") == []


def test_corrupt_cached_file_is_ignored_and_replaced(vgg_notop, weights_env, monkeypatch):
    served = _publish(vgg_notop[1], weights_env / "mirror", "vgg16", False, monkeypatch)
    cached = _cached(weights_env, served.name)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(served.read_bytes()[:1000])  # an interrupted copy
    monkeypatch.setenv("NERVE_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsNotFoundError, match="corrupted, ignored"):
        VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    monkeypatch.delenv("NERVE_OFFLINE")
    monkeypatch.setenv("NERVE_WEIGHTS_MIRROR", str(weights_env / "mirror"))
    VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert cached.read_bytes() == served.read_bytes()


def test_legacy_file_with_other_layer_names_loads_in_keras_layer_order(keras, tmp_path):
    # Keras loads its published files by layer order; nerve tries names first, then that order.
    reference = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(6, 5, activation="tanh"), keras.layers.AveragePooling2D(2),
        keras.layers.Conv2D(16, 5, activation="tanh"), keras.layers.AveragePooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(120, activation="tanh"),
        keras.layers.Dense(84, activation="tanh"), keras.layers.Dense(10, activation="softmax"),
    ])
    randomize(reference, seed=4)
    path = tmp_path / "lenet.h5"
    write_legacy_weights(reference, path)
    model = LeNet5()
    _weights.load_pretrained(model, str(path))
    x = np.random.default_rng(2).normal(size=(4, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), keras_predict(reference, x), rtol=1e-5, atol=1e-6)


def test_mismatched_file_changes_no_weight(vgg_notop):
    model = LeNet5(input_shape=(32, 32, 3))
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="Cannot load the pre-trained weights"):
        _weights.load_pretrained(model, str(vgg_notop[1]))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_models_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NERVE_CACHE_DIR", str(tmp_path / "c"))
    assert _weights.models_cache_dir() == str(tmp_path / "c" / "models")
    monkeypatch.delenv("NERVE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _weights.models_cache_dir() == str(tmp_path / ".nerve" / "models")
    assert nerve.applications.VGG16 is VGG16


def test_keras3_weights_and_model_files_load_through_weights_path(vgg_notop, tmp_path):
    reference = vgg_notop[0]
    x = np.random.default_rng(3).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    expected = keras_predict(reference, x)
    reference.save_weights(str(tmp_path / "vgg.weights.h5"))
    reference.save(str(tmp_path / "vgg.keras"))
    for name in ("vgg.weights.h5", "vgg.keras"):
        model = VGG16(weights=str(tmp_path / name), include_top=False, input_shape=(32, 32, 3))
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
