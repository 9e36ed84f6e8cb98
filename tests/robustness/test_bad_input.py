"""A catalogue of bad inputs: each is refused before the first optimizer step.

Every row of `CATALOGUE` is one mistake: a short id, how to build the model (or layer) it is
made on, the call that makes it, the exact exception class and a regex on the message. The test
checks the class exactly (not a subclass), the message (what is wrong, where, what was received,
how to fix it), that no weight changed and that the optimizer took no step.

`len(CATALOGUE)` is the number of bad inputs tried, all refused before the first step.
`AT_FIRST_EPOCH_END` holds the one kind that cannot be known before training: a callback
monitor that no epoch logs (metrics are resolved on the first batch and other callbacks may add
keys), refused at the end of the first epoch, before any further step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import nerve
from nerve import layers as L


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], Any]  # the model or layer the mistake is made on (None: nothing to build)
    run: Callable[[Any], Any]  # makes the mistake
    error: type[BaseException]
    match: str


N = 12
_rng = np.random.default_rng(0)
X = _rng.random((N, 4), dtype=np.float32)
Y = _rng.integers(0, 3, N)
Y_FLOAT = _rng.random((N, 2), dtype=np.float32)


def _with_nan(a: np.ndarray, *index: tuple, value: float = np.nan) -> np.ndarray:
    a = a.astype("float32").copy()
    for i in index:
        a[i] = value
    return a


# ------------------------------------------------------------------ models
def classifier(loss: Any = "sparse_categorical_crossentropy", units: int = 3, activation: str | None = "softmax",
               metrics: Any = ("accuracy",)) -> nerve.Model:
    model = nerve.Sequential([L.Input((4,), name="features"), L.Dense(5, name="hidden"),
                              L.Dense(units, activation=activation, name="head")])
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def regressor(units: int = 2) -> nerve.Model:
    return classifier("mse", units=units, activation=None, metrics=())


def compiled(model: nerve.Model, loss: Any = "mse") -> nerve.Model:
    model.compile(optimizer="sgd", loss=loss)
    return model


def built(layer: Any, shape: tuple) -> Any:
    layer(torch.zeros(shape))
    return layer


def uncompiled() -> nerve.Model:
    return nerve.Sequential([L.Input((4,), name="features"), L.Dense(1, name="head")])


def two_outputs() -> nerve.Model:
    a = L.Input((4,), name="features")
    model = nerve.Model(a, [L.Dense(1, name="o1")(a), L.Dense(1, name="o2")(a)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def named_inputs() -> nerve.Model:
    a, b = L.Input((4,), name="a"), L.Input((2,), name="b")
    model = nerve.Model({"a": a, "b": b}, L.Dense(1, name="head")(L.Concatenate()([a, b])))
    model.compile(optimizer="sgd", loss="mse")
    return model


class Subclassed(nerve.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = L.Dense(2, name="sub_dense")

    def call(self, x: Any) -> Any:
        return self.dense(x)


class SubclassedConv(nerve.Model):
    def __init__(self) -> None:
        super().__init__()
        self.conv = L.Conv2D(2, 3, name="sub_conv")

    def call(self, x: Any) -> Any:
        return self.conv(x)


def subclassed_built_on_4_features() -> nerve.Model:
    model = Subclassed()
    model.compile(optimizer="sgd", loss="mse")
    model.predict(X, verbose=0)  # builds it for 4 features
    return model


def sequential_built_by_fit() -> nerve.Model:
    model = nerve.Sequential([L.Dense(2, name="first")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y_FLOAT, verbose=0)  # builds it for (None, 4), and takes a step
    model.optimizer.iterations.assign(0)
    return model


def fit(x: Any, y: Any = None, **kwargs: Any) -> Callable[[Any], Any]:
    """The call `model.fit(x, y, epochs=1, verbose=0, **kwargs)`; a function as x makes a fresh generator."""
    kwargs = {"epochs": 1, "verbose": 0, **kwargs}
    return lambda model: model.fit(x() if callable(x) else x, y, **kwargs)


def evaluate(x: Any, y: Any = None, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda model: model.evaluate(x, y, verbose=0, **kwargs)


def predict(x: Any, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda model: model.predict(x, verbose=0, **kwargs)


def loader(x: Any, y: Any, batch_size: int = 4) -> DataLoader:
    return DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=batch_size)


def _compile(**kwargs: Any) -> Callable[[Any], Any]:
    return lambda model: model.compile(**kwargs)


# ------------------------------------------------------------------ shape mismatches, every layer kind
# (id, layer, Input shape, the wrong per-sample shape fed to it, integer data)
LAYER_KINDS: list[tuple[str, Callable[[str], Any], tuple, tuple, bool]] = [
    ("Dense", lambda n: L.Dense(3, name=n), (4,), (5,), False),
    ("Conv1D", lambda n: L.Conv1D(2, 3, name=n), (10, 3), (10, 4), False),
    ("Conv2D", lambda n: L.Conv2D(2, 3, name=n), (8, 8, 3), (8, 8, 1), False),
    ("Conv2D-rank", lambda n: L.Conv2D(2, 3, name=n), (8, 8, 3), (8, 3), False),
    ("Conv2DTranspose", lambda n: L.Conv2DTranspose(2, 3, name=n), (6, 6, 2), (6, 6, 3), False),
    ("DepthwiseConv2D", lambda n: L.DepthwiseConv2D(3, name=n), (8, 8, 3), (8, 8, 2), False),
    ("SeparableConv2D", lambda n: L.SeparableConv2D(2, 3, name=n), (8, 8, 3), (8, 8, 2), False),
    ("MaxPooling1D", lambda n: L.MaxPooling1D(name=n), (8, 3), (6, 3), False),
    ("AveragePooling1D", lambda n: L.AveragePooling1D(2, name=n), (8, 3), (8, 2), False),
    ("MaxPooling2D", lambda n: L.MaxPooling2D(name=n), (8, 8, 3), (6, 6, 3), False),
    ("AveragePooling2D", lambda n: L.AveragePooling2D(2, name=n), (8, 8, 3), (8, 8, 4), False),
    ("GlobalAveragePooling1D", lambda n: L.GlobalAveragePooling1D(name=n), (8, 3), (8, 2), False),
    ("GlobalMaxPooling1D", lambda n: L.GlobalMaxPooling1D(name=n), (8, 3), (8, 2), False),
    ("GlobalAveragePooling2D", lambda n: L.GlobalAveragePooling2D(name=n), (8, 8, 3), (8, 8, 2), False),
    ("GlobalMaxPooling2D", lambda n: L.GlobalMaxPooling2D(name=n), (8, 8, 3), (8, 3), False),
    ("Flatten", lambda n: L.Flatten(name=n), (4, 4), (4, 5), False),
    ("Reshape", lambda n: L.Reshape((3, 4), name=n), (12,), (10,), False),
    ("Embedding", lambda n: L.Embedding(10, 3, name=n), (5,), (6,), True),
    ("BatchNormalization", lambda n: L.BatchNormalization(name=n), (4,), (3,), False),
    ("LayerNormalization", lambda n: L.LayerNormalization(name=n), (4,), (3,), False),
    ("GroupNormalization", lambda n: L.GroupNormalization(groups=2, name=n), (8,), (6,), False),
    ("UnitNormalization", lambda n: L.UnitNormalization(name=n), (4,), (3,), False),
    ("Normalization", lambda n: L.Normalization(mean=0.0, variance=1.0, name=n), (4,), (3,), False),
    ("Rescaling", lambda n: L.Rescaling(1 / 255, name=n), (8, 8, 3), (8, 8, 4), False),
    ("Activation", lambda n: L.Activation("relu", name=n), (4,), (5,), False),
    ("Dropout", lambda n: L.Dropout(0.5, name=n), (4,), (5,), False),
    ("AlphaDropout", lambda n: L.AlphaDropout(0.5, name=n), (4,), (5,), False),
    ("GaussianDropout", lambda n: L.GaussianDropout(0.5, name=n), (4,), (5,), False),
    ("GaussianNoise", lambda n: L.GaussianNoise(0.1, name=n), (4,), (5,), False),
    ("SpatialDropout1D", lambda n: L.SpatialDropout1D(0.1, name=n), (8, 3), (8, 2), False),
    ("SpatialDropout2D", lambda n: L.SpatialDropout2D(0.1, name=n), (8, 8, 3), (8, 8, 2), False),
    ("SpatialDropout3D", lambda n: L.SpatialDropout3D(0.1, name=n), (4, 4, 4, 2), (4, 4, 4, 3), False),
    ("Cropping2D", lambda n: L.Cropping2D(1, name=n), (8, 8, 3), (8, 8, 2), False),
    ("UpSampling2D", lambda n: L.UpSampling2D(name=n), (8, 8, 3), (4, 4, 3), False),
    ("ZeroPadding2D", lambda n: L.ZeroPadding2D(1, name=n), (8, 8, 3), (8, 8, 2), False),
    ("RandomFlip", lambda n: L.RandomFlip(name=n), (8, 8, 3), (8, 8, 4), False),
    ("RandomRotation", lambda n: L.RandomRotation(0.1, name=n), (8, 8, 3), (8, 8, 4), False),
    ("RandomTranslation", lambda n: L.RandomTranslation(0.1, 0.1, name=n), (8, 8, 3), (8, 8, 4), False),
    ("RandomZoom", lambda n: L.RandomZoom(0.1, name=n), (8, 8, 3), (8, 8, 4), False),
    ("RandomContrast", lambda n: L.RandomContrast(0.1, name=n), (8, 8, 3), (8, 8, 4), False),
    ("SpectralNormalization", lambda n: L.SpectralNormalization(L.Dense(3), name=n), (4,), (5,), False),
]

MERGING = [L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum, L.Concatenate]


def _one_layer_model(layer: Callable[[str], Any], shape: tuple, integer: bool) -> Callable[[], nerve.Model]:
    def make() -> nerve.Model:
        x = L.Input(shape, name="inp", **({"dtype": "int32"} if integer else {}))
        h = layer("under_test")(x)
        if len(h.shape) > 2:
            h = L.Flatten(name="flat")(h)
        model = nerve.Model(x, L.Dense(1, name="out")(h))
        model.compile(optimizer="sgd", loss="mse")
        return model
    return make


def _merge_model(cls: type) -> Callable[[], nerve.Model]:
    def make() -> nerve.Model:
        a, b = L.Input((4,), name="a"), L.Input((4,), name="b")
        model = nerve.Model([a, b], L.Dense(1, name="out")(cls(name="under_test")([a, b])))
        model.compile(optimizer="sgd", loss="mse")
        return model
    return make


def _bad(shape: tuple, integer: bool) -> np.ndarray:
    return np.zeros((N, *shape), "int64") if integer else np.ones((N, *shape), "float32")


def _shape_pattern(kind: str, expected: tuple, received: tuple) -> str:
    return (rf"Input 'inp' of model '\w+' is incompatible with layer 'under_test' \({kind}\): expected shape "
            + re.escape(str((None, *expected))) + r", received data of shape " + re.escape(str((N, *received))))


SHAPE_CASES = [
    Case(f"shape-{kind}", _one_layer_model(layer, shape, integer), fit(_bad(bad, integer), np.zeros((N, 1))),
         ValueError, _shape_pattern(kind.split("-")[0], shape, bad))
    for kind, layer, shape, bad, integer in LAYER_KINDS
] + [
    Case(f"shape-{cls.__name__}-second-input", _merge_model(cls), fit([X, X[:, :3]], np.zeros((N, 1))), ValueError,
         rf"Input 'b' of model '\w+' is incompatible with layer 'under_test' \({cls.__name__}\): expected shape "
         r"\(None, 4\), received data of shape \(12, 3\)")
    for cls in MERGING
] + [
    Case("shape-Add-built-on-mismatched-inputs", lambda: None,
         lambda _: L.Add(name="add")([L.Input((4,)), L.Input((3,))]), ValueError,
         r"Layer 'add' \(Add\) cannot merge inputs of incompatible shapes \(None, 4\), \(None, 3\).*Make the shapes equal"),
    Case("shape-Concatenate-built-on-mismatched-inputs", lambda: None,
         lambda _: L.Concatenate(name="cat")([L.Input((4, 2)), L.Input((3, 2))]), ValueError,
         r"Layer 'cat' \(Concatenate\) needs inputs whose shapes match except on the concatenation axis.*"
         r"\(None, 4, 2\), \(None, 3, 2\)"),
    Case("shape-Subtract-three-inputs", lambda: None,
         lambda _: L.Subtract(name="sub")([L.Input((4,)), L.Input((4,)), L.Input((4,))]), ValueError,
         r"Subtract layer \('sub'\) must be called on exactly 2 inputs. Received: 3 inputs"),
    Case("shape-Dense-called-on-other-width", lambda: built(L.Dense(3, name="d"), (2, 4)),
         lambda d: d(torch.zeros(2, 5)), ValueError,
         r"Layer 'd' \(Dense\) could not process its input: it was built for input shape \(None, 4\), and received "
         r"input of shape \(2, 5\)"),
    Case("shape-BatchNormalization-called-on-other-width",
         lambda: built(L.BatchNormalization(name="bn"), (2, 4)),
         lambda d: d(torch.zeros(2, 5)), ValueError,
         r"Layer 'bn' \(BatchNormalization\) could not process its input: it was built for input shape \(None, 4\)"
         r".*\(2, 5\)"),
    Case("shape-Conv1D-input-shorter-than-kernel", lambda: _conv1d_any_length(),
         fit(np.ones((N, 2, 3), "float32"), np.zeros((N, 1))), ValueError,
         r"Layer 'c1' \(Conv1D\) could not process its input: it was built for input shape \(None, None, 3\), "
         r"and received input of shape \(12, 2, 3\)"),
    Case("shape-Flatten-missing-before-Dense", regressor, fit(np.ones((N, 2, 2), "float32"), Y_FLOAT), ValueError,
         r"expected shape \(None, 4\), received data of shape \(12, 2, 2\). Add a Flatten\(\) layer first"),
    Case("shape-subclassed-model-other-width", subclassed_built_on_4_features,
         fit(np.ones((N, 5), "float32"), Y_FLOAT), ValueError,
         r"Layer 'sub_dense' \(Dense\) could not process its input: it was built for input shape \(None, 4\), "
         r"and received input of shape \(2, 5\)"),  # the 2-sample probe a subclassed model is run on first
    Case("shape-sequential-built-by-fit-other-width", sequential_built_by_fit,
         fit(np.ones((N, 5), "float32"), Y_FLOAT), ValueError,
         r"incompatible with layer 'first' \(Dense\): expected shape \(None, 4\), received data of shape \(12, 5\)"),
    Case("shape-validation-data", classifier, fit(X, Y, validation_data=(np.ones((4, 3), "float32"), Y[:4])),
         ValueError, r"In validation_data: Input 'features'.*expected shape \(None, 4\), received data of shape \(4, 3\)"),
    Case("shape-first-batch-of-a-generator", regressor,
         fit(lambda: iter([(np.ones((4, 5), "float32"), Y_FLOAT[:4])])), ValueError,
         r"Input 'features'.*layer 'hidden' \(Dense\): expected shape \(None, 4\), received data of shape \(4, 5\)"),
    Case("shape-evaluate", classifier, evaluate(np.ones((N, 5), "float32"), Y), ValueError,
         r"layer 'hidden' \(Dense\): expected shape \(None, 4\), received data of shape \(12, 5\)"),
    Case("shape-predict", classifier, predict(np.ones((N, 5), "float32")), ValueError,
         r"layer 'hidden' \(Dense\): expected shape \(None, 4\), received data of shape \(12, 5\)"),
]


def _conv1d_any_length() -> nerve.Model:
    x = L.Input((None, 3), name="inp")
    h = L.GlobalMaxPooling1D()(L.Conv1D(2, 5, name="c1")(x))
    model = nerve.Model(x, L.Dense(1)(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


# ------------------------------------------------------------------ targets against the loss and the output
TARGET_CASES = [
    Case("y-labels-above-range", classifier, fit(X, Y + 5), ValueError,
         r"Output 'head': label 7 is outside the valid range \[0, 2\].*3 units.*at least 8"),
    Case("y-labels-negative", classifier, fit(X, Y - 3), ValueError,
         r"label -3 is outside the valid range \[0, 2\].*start at 0.*ignore_class=-3"),
    Case("y-labels-negative-int32", classifier, fit(X, (Y - 1).astype("int32")), ValueError,
         r"label -1 is outside the valid range"),
    Case("y-labels-out-of-range-in-a-dataloader", classifier, fit(loader(X, np.full(N, 9))), ValueError,
         r"Output 'head': label 9 is outside the valid range \[0, 2\]"),
    Case("y-labels-out-of-range-in-validation_data", classifier, fit(X, Y, validation_data=(X, Y + 3)), ValueError,
         r"In validation_data: Output 'head': label \d is outside"),
    Case("y-labels-not-integers", classifier, fit(X, Y + 0.5), ValueError,
         r"expects integer class labels, but y holds non-integer values such as 0.5.*regression loss"),
    Case("y-one-hot-into-sparse-crossentropy", classifier, fit(X, nerve.utils.to_categorical(Y, 3)), ValueError,
         r"look one-hot encoded \(shape \(12, 3\).*loss is sparse_categorical_crossentropy.*"
         r"Use loss='categorical_crossentropy'"),
    Case("y-one-hot-int-into-sparse-crossentropy", classifier,
         fit(X, nerve.utils.to_categorical(Y, 3).astype("int64")), ValueError,
         r"look one-hot encoded.*loss='categorical_crossentropy'"),
    Case("y-wrong-shape-for-sparse-crossentropy", classifier, fit(X, np.zeros((N, 2), "int64")), ValueError,
         r"sparse_categorical_crossentropy expects one integer label per prediction.*received labels of shape \(12, 2\)"),
    Case("y-class-indices-into-categorical-crossentropy", lambda: classifier("categorical_crossentropy"),
         fit(X, Y), ValueError,
         r"categorical_crossentropy expects one-hot labels.*\(12,\).*look like class indices: use "
         r"loss='sparse_categorical_crossentropy'.*to_categorical\(y, num_classes=3\)"),
    Case("y-class-index-column-into-categorical-crossentropy", lambda: classifier("categorical_crossentropy"),
         fit(X, Y[:, None]), ValueError, r"\(12, 1\).*use loss='sparse_categorical_crossentropy'"),
    Case("y-class-indices-into-categorical-focal-crossentropy",
         lambda: classifier(nerve.losses.CategoricalFocalCrossentropy()), fit(X, Y), ValueError,
         r"categorical_focal_crossentropy expects one-hot labels.*use loss='sparse_categorical_crossentropy'"),
    Case("y-one-hot-too-wide-for-output", lambda: classifier("categorical_crossentropy"),
         fit(X, nerve.utils.to_categorical(Y, 4)), ValueError,
         r"received labels of shape \(12, 4\). Make the last layer have 4 units"),
    Case("y-binary-crossentropy-labels-outside-0-1", lambda: classifier("binary_crossentropy", 1, "sigmoid"),
         fit(X, Y.astype("float32")), ValueError, r"labels in \[0, 1\], received values from 0.0 to 2.0.*sparse_"),
    Case("y-wider-than-output", regressor, fit(X, np.ones((N, 3), "float32")), ValueError,
         r"Output 'head': the loss mean_squared_error compares y with the output element by element, but y has "
         r"shape \(12, 3\) and the output has shape \(None, 2\). Make the last layer have 3 units"),
    Case("y-output-keeps-extra-axes", lambda: compiled(nerve.Sequential([L.Dense(2, name="first")]), loss="mae"),
         fit(np.ones((N, 4, 3), "float32"), Y_FLOAT), ValueError,
         r"Output 'first': the loss mean_absolute_error.*y has shape \(12, 2\).*\(None, 4, 2\).*Flatten\(\)"),
    Case("y-missing-for-an-output", two_outputs, fit(X, [np.zeros((N, 1)), None]), ValueError,
         r"No target given for output 'o2', which has a loss"),
    Case("y-single-array-for-two-outputs", two_outputs, fit(X, np.zeros((N, 1))), ValueError,
         r"has 2 outputs \['o1', 'o2'\], but a single array was given"),
    Case("sample_weight-per-class-instead-of-per-sample", classifier, fit(X, Y, sample_weight=np.ones((N, 3))),
         ValueError, r"sample_weight has shape \(12, 3\).*one loss per sample.*\(n,\).*class_weight"),
    Case("class_weight-with-two-outputs", two_outputs, fit(X, [np.zeros((N, 1))] * 2, class_weight={0: 1.0}),
         ValueError, r"class_weight is only supported for models with a single output"),
]

# ------------------------------------------------------------------ lengths, emptiness, kinds of data
DATA_CASES = [
    Case("len-x-and-y-differ", classifier, fit(X, Y[:7]), ValueError,
         r"same number of samples.*x: 12, y: 7.*same length"),
    Case("len-sample_weight-differs", classifier, fit(X, Y, sample_weight=np.ones(5)), ValueError,
         r"x: 12, y: 12, sample_weight: 5"),
    Case("len-evaluate-x-and-y-differ", classifier, evaluate(X, Y[:3]), ValueError, r"x: 12, y: 3"),
    Case("len-validation_data-differ", classifier, fit(X, Y, validation_data=(X, Y[:4])), ValueError,
         r"In validation_data: All arrays must have the same number of samples.*x: 12, y: 4"),
    Case("len-inputs-differ", named_inputs, fit({"a": X, "b": np.ones((5, 2))}, np.zeros((N, 1))), ValueError,
         r"x\[0\]: 12, x\[1\]: 5"),
    Case("empty-fit", classifier, fit(X[:0], Y[:0]), ValueError, r"The data is empty \(0 samples in x\)"),
    Case("empty-evaluate", classifier, evaluate(X[:0], Y[:0]), ValueError, r"empty"),
    Case("empty-predict", classifier, predict(X[:0]), ValueError, r"empty"),
    Case("empty-generator", classifier, fit(lambda: iter([])), ValueError, r"yielded no batches"),
    Case("empty-validation_data", classifier, fit(X, Y, validation_data=(X[:0], Y[:0])), ValueError,
         r"In validation_data: The data is empty"),
    Case("x-none", classifier, fit(None, Y), ValueError, r"No data: x is None"),
    Case("nan-in-x", classifier, fit(_with_nan(X, (3, 1), (7, 0)), Y), ValueError,
         r"fit\(\) found 2 NaN values in x, in 2 of its 12 samples; the first is x\[3, 1\] = nan \(sample 3\)"
         r".*np.isfinite"),
    Case("inf-in-x", classifier, fit(_with_nan(X, (5, 2), value=np.inf), Y), ValueError,
         r"found 1 Inf value in x.*x\[5, 2\] = inf"),
    Case("nan-and-inf-in-x", classifier, fit(_with_nan(_with_nan(X, (1, 1)), (2, 2), value=-np.inf), Y),
         ValueError, r"found 1 NaN and 1 Inf values in x"),
    Case("nan-in-torch-x", classifier, fit(torch.as_tensor(_with_nan(X, (0, 0))), Y), ValueError,
         r"NaN value in x.*x\[0, 0\] = nan"),
    Case("nan-in-named-input", named_inputs,
         fit({"a": X, "b": _with_nan(np.ones((N, 2)), (4, 1))}, np.zeros((N, 1))), ValueError,
         r"NaN value in x\['b'\].*x\['b'\]\[4, 1\] = nan"),
    Case("nan-in-y", regressor, fit(X, _with_nan(Y_FLOAT, (6, 1))), ValueError,
         r"found 1 NaN value in y, in 1 of its 12 samples; the first is y\[6, 1\] = nan"),
    Case("nan-in-second-output-y", two_outputs, fit(X, [np.zeros((N, 1)), _with_nan(np.zeros((N, 1)), (2, 0))]),
         ValueError, r"NaN value in y\[1\].*y\[1\]\[2, 0\]"),
    Case("nan-in-sample_weight", classifier, fit(X, Y, sample_weight=_with_nan(np.ones(N), (9,))), ValueError,
         r"NaN value in sample_weight.*sample_weight\[9\] = nan"),
    Case("nan-in-validation_data", classifier, fit(X, Y, validation_data=(_with_nan(X, (2, 3)), Y)), ValueError,
         r"In validation_data: fit\(\) found 1 NaN value in x.*x\[2, 3\]"),
    Case("nan-in-validation_split-part", classifier, fit(_with_nan(X, (10, 0)), Y, validation_split=0.25),
         ValueError, r"In the last 3 samples of x, which validation_split keeps.*x\[10, 0\] = nan \(sample 10\)"),
    Case("nan-in-evaluate", classifier, evaluate(_with_nan(X, (0, 0)), Y), ValueError,
         r"evaluate\(\) found 1 NaN value in x"),
    Case("nan-in-first-batch-of-a-dataloader", regressor, fit(loader(_with_nan(X, (1, 1)), Y_FLOAT)), ValueError,
         r"NaN value in x \(first batch\).*x\[1, 1\]"),
    Case("strings-as-x", classifier, fit(np.array([["a"] * 4] * N), Y), TypeError,
         r"x must hold numbers, but it holds <U1 values \(first one: np.str_\('a'\)\).*Convert text"),
    Case("strings-as-y", classifier, fit(X, np.array(["cat"] * N)), TypeError, r"y must hold numbers.*<U3"),
    Case("strings-in-named-input", named_inputs, fit({"a": X, "b": np.array([["z"] * 2] * N)}, np.zeros((N, 1))),
         TypeError, r"x\['b'\] must hold numbers"),
    Case("objects-as-x", classifier, fit(np.array([object()] * (N * 4)).reshape(N, 4), Y), TypeError,
         r"x must hold numbers, but it holds object values"),
    Case("python-lists-of-strings-as-x", classifier, fit([["a", "b", "c", "d"]] * N, Y), TypeError,
         r"x must hold numbers"),
    Case("complex-numbers-as-x", classifier, fit(X.astype(np.complex64), Y), TypeError,
         r"x must hold real numbers, but it holds complex64 values.*z.real, z.imag"),
    Case("ragged-lists-as-x", classifier, fit([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], Y[:2]), ValueError,
         r"x is ragged: its samples have different shapes.*Lengths of its first items: \[4, 2\].*Pad"),
    Case("two-arrays-for-one-input", classifier, fit([X, X], Y), ValueError,
         r"has 1 inputs \['features'\], but 2 arrays were given"),
    Case("unknown-input-name", named_inputs, fit({"a": X, "c": X}, np.zeros((N, 1))), ValueError,
         r"has inputs \['a', 'b'\]; the dict given names unknown inputs \['c'\]"),
    Case("y-with-a-generator", classifier, fit(lambda: iter([(X, Y)]), Y), ValueError,
         r"iterable of batches, it must yield the targets too"),
    Case("validation_data-without-targets", classifier, fit(X, Y, validation_data=(X,)), ValueError,
         r"validation_data needs targets"),
    Case("validation_split-with-a-generator", classifier, fit(lambda: iter([(X, Y)]), validation_split=0.2), ValueError,
         r"validation_split only works with arrays"),
]

# ------------------------------------------------------------------ arguments
ARGUMENT_CASES = [
    Case("validation_split-above-1", classifier, fit(X, Y, validation_split=1.5), ValueError,
         r"validation_split must be a number strictly between 0 and 1.*Received: validation_split=1.5"),
    Case("validation_split-1", classifier, fit(X, Y, validation_split=1.0), ValueError, r"validation_split=1.0"),
    Case("validation_split-negative", classifier, fit(X, Y, validation_split=-0.1), ValueError,
         r"validation_split=-0.1"),
    Case("validation_split-a-string", classifier, fit(X, Y, validation_split="0.2"), ValueError,
         r"validation_split='0.2'"),
    Case("validation_split-beside-validation_data", classifier,
         fit(X, Y, validation_data=(X, Y), validation_split=2.0), ValueError, r"validation_split=2.0"),
    Case("validation_split-leaves-no-training-samples", classifier, fit(X[:2], Y[:2], validation_split=0.9),
         ValueError, r"validation_split=0.9 leaves no samples for training with 2 samples"),
    Case("batch_size-0", classifier, fit(X, Y, batch_size=0), ValueError,
         r"batch_size must be a positive integer. Received: batch_size=0"),
    Case("batch_size-negative", classifier, fit(X, Y, batch_size=-4), ValueError, r"batch_size=-4"),
    Case("batch_size-float", classifier, fit(X, Y, batch_size=2.5), ValueError, r"batch_size=2.5"),
    Case("batch_size-0-evaluate", classifier, evaluate(X, Y, batch_size=0), ValueError, r"batch_size=0"),
    Case("batch_size-0-predict", classifier, predict(X, batch_size=0), ValueError, r"batch_size=0"),
    Case("validation_batch_size-0", classifier, fit(X, Y, validation_split=0.5, validation_batch_size=0),
         ValueError, r"validation_batch_size must be a positive integer"),
    Case("epochs-negative", classifier, fit(X, Y, epochs=-1), ValueError, r"epochs must be a non-negative integer. Received: epochs=-1"),
    Case("initial_epoch-negative", classifier, fit(X, Y, initial_epoch=-1), ValueError,
         r"initial_epoch must be a non-negative integer.*Received: initial_epoch=-1"),
    Case("steps_per_epoch-0", classifier, fit(X, Y, steps_per_epoch=0), ValueError,
         r"steps_per_epoch must be a positive integer or None. Received: steps_per_epoch=0"),
    Case("validation_steps-0", classifier, fit(X, Y, validation_split=0.5, validation_steps=0), ValueError,
         r"validation_steps=0"),
    Case("validation_freq-0", classifier, fit(X, Y, validation_split=0.5, validation_freq=0), ValueError,
         r"validation_freq must be a positive integer. Received: validation_freq=0"),
    Case("evaluate-steps-0", classifier, evaluate(X, Y, steps=0), ValueError, r"steps=0"),
    Case("predict-steps-negative", classifier, predict(X, steps=-1), ValueError, r"steps=-1"),
    Case("verbose-5", classifier, fit(X, Y, verbose=5), ValueError, r"verbose must be 'auto', 0, 1 or 2. Received: verbose=5"),
]

# ------------------------------------------------------------------ names, compile and build state
NAME_AND_STATE_CASES = [
    Case("unknown-metric-name", uncompiled, _compile(optimizer="adam", loss="mse", metrics=["acuracy"]), ValueError,
         r"Could not interpret metric identifier: 'acuracy'.*help: did you mean 'accuracy'\? Received: metric='acuracy'"),
    Case("unknown-metric-object", uncompiled, _compile(optimizer="adam", loss="mse", metrics=[3]), ValueError,
         r"Could not interpret metric identifier: 3"),
    Case("unknown-weighted-metric-name", uncompiled, _compile(optimizer="adam", loss="mse", weighted_metrics=["maee"]),
         ValueError, r"metric identifier: 'maee'.*did you mean 'mae'"),
    Case("unknown-loss-name", uncompiled, _compile(optimizer="adam", loss="sparse_categorical_crossentropyy"),
         ValueError, r"loss identifier.*did you mean 'sparse_categorical_crossentropy'"),
    Case("unknown-optimizer-name", uncompiled, _compile(optimizer="adamm", loss="mse"), ValueError,
         r"Unknown optimizer: 'adamm'.*did you mean 'adam'"),
    Case("fit-before-compile", uncompiled, fit(X, Y), RuntimeError, r"You must call compile\(\) before fit\(\)"),
    Case("evaluate-before-compile", uncompiled, evaluate(X, Y), RuntimeError,
         r"You must call compile\(\) before evaluate\(\)"),
    Case("train_on_batch-before-compile", uncompiled, lambda m: m.train_on_batch(X, Y), RuntimeError,
         r"compile\(\) before train_on_batch\(\)"),
    Case("test_on_batch-before-compile", uncompiled, lambda m: m.test_on_batch(X, Y), RuntimeError,
         r"compile\(\) before test_on_batch\(\)"),
    Case("fit-compiled-without-a-loss", lambda: compiled(uncompiled(), loss=None),
         fit(X, Y), ValueError, r"compile\(\) was called without a loss.*loss='mse'"),
    Case("predict-model-without-graph-or-call", lambda: nerve.Model(), predict(X), NotImplementedError,
         r"Model 'model' has no graph: create it with Model\(inputs, outputs\)"),
    Case("predict-empty-sequential", lambda: nerve.Sequential(), predict(X), ValueError,
         r"Sequential model '\w+' has no layers, so there is nothing to predict. Add layers first"),
    Case("fit-empty-sequential", lambda: compiled(nerve.Sequential()), fit(X, Y), ValueError,
         r"has no layers, so there is nothing to fit"),
    Case("predict-never-built-subclass-on-wrong-rank", SubclassedConv, predict(X), ValueError,
         r"Conv2D layer 'sub_conv' must have rank 4 \(batch, height, width, channels\).*shape \(2, 4\)"),
    Case("embedding-index-out-of-range", _one_layer_model(lambda n: L.Embedding(10, 3, name=n), (5,), True),
         fit(np.full((N, 5), 12), np.zeros((N, 1))), ValueError,
         r"Embedding layer 'under_test' received indices in \[12, 12\].*input_dim=10.*Embedding\(input_dim=13"),
]

CATALOGUE: list[Case] = SHAPE_CASES + TARGET_CASES + DATA_CASES + ARGUMENT_CASES + NAME_AND_STATE_CASES


def _iterations(model: Any) -> int | None:
    optimizer = getattr(model, "optimizer", None)
    return None if optimizer is None else int(optimizer.iterations)


def _weights(obj: Any) -> list[np.ndarray]:
    return [w.copy() for w in obj.get_weights()] if obj is not None else []


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.id for c in CATALOGUE])
def test_bad_input_is_refused_before_the_first_step(case: Case) -> None:
    obj = case.make()
    before = _weights(obj)
    with pytest.raises(BaseException) as info:
        case.run(obj)
    assert type(info.value) is case.error, f"{case.id}: {type(info.value).__name__}: {info.value}"
    assert re.search(case.match, str(info.value), re.DOTALL), f"{case.id}: {info.value}"
    if obj is not None:
        after = obj.get_weights()
        assert len(after) >= len(before)  # a model built by the failing call has new weights, none changed
        assert all(np.array_equal(a, b) for a, b in zip(before, after)), f"{case.id}: a weight changed"
        assert _iterations(obj) in (None, 0), f"{case.id}: the optimizer took a step"


def test_catalogue_ids_are_unique_and_every_layer_kind_is_covered() -> None:
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    covered = {re.sub(r"^shape-([A-Za-z0-9]+).*", r"\1", i) for i in ids if i.startswith("shape-")}
    from nerve.layers import __all__ as exported

    kinds = {getattr(L, n) for n in exported if isinstance(getattr(L, n), type)}
    kinds -= {L.Layer, L.InputLayer}
    missing = sorted(k.__name__ for k in kinds if k.__name__ not in covered)
    assert not missing, f"layer kinds without a shape-mismatch case: {missing}"


# ------------------------------------------------------------------ known only once the first epoch ends
def _monitor_fit(callback: Any, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda model: model.fit(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[callback], **kwargs)


AT_FIRST_EPOCH_END: list[Case] = [
    Case("monitor-EarlyStopping-misspelt", classifier,
         _monitor_fit(nerve.callbacks.EarlyStopping(monitor="val_acc"), validation_split=0.25), ValueError,
         r"EarlyStopping\(monitor='val_acc'\): no epoch of this fit logs 'val_acc'.*end of epoch 1.*"
         r"Logged keys: 'accuracy', 'loss', 'val_accuracy', 'val_loss'.*did you mean 'val_accuracy'"),
    Case("monitor-EarlyStopping-mode-min-not-compiled", classifier,
         _monitor_fit(nerve.callbacks.EarlyStopping(monitor="mae", mode="min")), ValueError,
         r"EarlyStopping\(monitor='mae'\).*compile\(metrics=\[...\]\)"),
    Case("monitor-ModelCheckpoint-misspelt", classifier,
         _monitor_fit(nerve.callbacks.ModelCheckpoint("best.weights.h5", monitor="val_accuraccy",
                                                      save_best_only=True, save_weights_only=True),
                      validation_split=0.25), ValueError,
         r"ModelCheckpoint\(monitor='val_accuraccy'\).*did you mean 'val_accuracy'"),
    Case("monitor-ReduceLROnPlateau-misspelt", classifier,
         _monitor_fit(nerve.callbacks.ReduceLROnPlateau(monitor="val_los"), validation_split=0.25), ValueError,
         r"ReduceLROnPlateau\(monitor='val_los'\).*did you mean 'val_loss'"),
]


@pytest.mark.parametrize("case", AT_FIRST_EPOCH_END, ids=[c.id for c in AT_FIRST_EPOCH_END])
def test_unknown_monitor_is_refused_at_the_first_epoch_end(case: Case, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    model = case.make()
    with pytest.raises(BaseException) as info:
        case.run(model)
    assert type(info.value) is case.error, f"{case.id}: {type(info.value).__name__}: {info.value}"
    assert re.search(case.match, str(info.value), re.DOTALL), f"{case.id}: {info.value}"
    assert _iterations(model) == 3  # the first epoch's 3 steps (9 or 12 samples, batches of 4), none after
    assert not list(tmp_path.iterdir())  # ModelCheckpoint saved nothing


def test_val_monitor_without_validation_only_warns_as_in_keras() -> None:
    model = classifier()
    with pytest.warns(UserWarning, match=r"'val_loss'.*validation_data or validation_split"):
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[nerve.callbacks.EarlyStopping()])
    assert int(model.optimizer.iterations) == 2


def test_intentional_nan_labels_reach_a_custom_loss() -> None:
    """NaN in y is refused for built-in losses only: a custom loss may use NaN to mark missing labels."""
    def masked_mse(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        keep = ~torch.isnan(y_true)
        return ((torch.where(keep, y_true, y_pred) - y_pred) ** 2).mean(-1)

    model = regressor()
    model.compile(optimizer="sgd", loss=masked_mse)
    model.fit(X, _with_nan(Y_FLOAT, (0, 0)), verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_ignore_class_labels_are_not_out_of_range() -> None:
    model = classifier(nerve.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    y = Y.copy()
    y[:3] = -1
    model.fit(X, y, verbose=0)
    assert int(model.optimizer.iterations) == 1


def test_validation_split_zero_means_none() -> None:
    model = classifier()
    history = model.fit(X, Y, validation_split=0.0, verbose=0)
    assert "val_loss" not in history.history


def test_catalogue_size() -> None:
    """The number the docs quote: bad inputs tried, all refused before the first step."""
    assert len(CATALOGUE) == 151, "the docs quote this number: update them with it"
