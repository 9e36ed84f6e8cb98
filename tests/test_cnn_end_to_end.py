"""A small CNN beats seed 0's MLP on real handwritten digits (images of the MNIST test set)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nerve
from nerve import layers

MNIST_TEST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist-test"


def _data():
    if not (MNIST_TEST / "t10k-images-idx3-ubyte.gz").exists():
        # On 8x8 digits a CNN has too few pixels to beat an MLP reliably (measured), so this
        # comparison needs real 28x28 images.
        pytest.skip(f"the real MNIST test set is not at {MNIST_TEST} (the project's shared/ folder)")
    x, y = nerve.datasets.mnist.load_test_data(path=str(MNIST_TEST))
    x = x[:6000].astype("float32")[..., None] / 255.0
    y = y[:6000]
    return (x[:5000], y[:5000]), (x[5000:], y[5000:])


@pytest.mark.slow
def test_small_cnn_beats_the_seed0_mlp():
    (x_train, y_train), (x_test, y_test) = _data()
    size = x_train.shape[1]
    nerve.utils.set_random_seed(0)
    mlp = nerve.Sequential([layers.Input((size, size, 1)), layers.Flatten()]
                           + [layers.Dense(u, activation="relu") for u in (64, 128, 256, 128, 64)]
                           + [layers.Dense(10, activation="softmax")])
    nerve.utils.set_random_seed(0)
    cnn = nerve.Sequential([
        layers.Input((size, size, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    accuracies = {}
    for name, model in (("mlp", mlp), ("cnn", cnn)):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=3, batch_size=64, validation_split=0.1, verbose=0)
        accuracies[name] = model.evaluate(x_test, y_test, verbose=0)[1]
    assert accuracies["cnn"] > accuracies["mlp"], accuracies
    assert accuracies["cnn"] > 0.9, accuracies
