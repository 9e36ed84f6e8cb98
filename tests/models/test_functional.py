"""Functional Model: graphs with several inputs/outputs and shared layers; weights interop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve.layers import Dense, Flatten


def test_seed4_functional_model_builds_and_predicts():
    X = nerve.Input(shape=[28, 28])
    H = Flatten()(X)
    H = Dense(64, activation="swish")(H)
    Y = Dense(10, activation="softmax")(H)
    model = nerve.Model(X, Y)
    assert model.name == "functional"
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Flatten", "Dense", "Dense"]
    probs = model.predict(np.random.rand(5, 28, 28), verbose=0)
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_shared_layer_shares_weights_and_gradients():
    a, b = nerve.Input((3,), name="a"), nerve.Input((3,), name="b")
    shared = Dense(2, name="shared")
    model = nerve.Model([a, b], [shared(a), shared(b)])
    assert model.count_params() == 8 and len(model.weights) == 2
    x = np.random.rand(4, 3).astype("float32")
    out_a, out_b = model.predict([x, x], verbose=0)
    np.testing.assert_allclose(out_a, out_b)


def test_multi_input_multi_output_fit_with_dict_data():
    a, b = nerve.Input((4,), name="a"), nerve.Input((3,), name="b")
    h = nerve.layers.Dense(8, activation="relu")(a)
    out1 = Dense(1, name="reg")(h)
    out2 = Dense(3, activation="softmax", name="cls")(b)
    model = nerve.Model({"a": a, "b": b}, [out1, out2])
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=[["mae"], ["accuracy"]],
                  loss_weights=[1.0, 0.5])
    xa, xb = np.random.rand(20, 4), np.random.rand(20, 3)
    y1, y2 = np.random.rand(20, 1), np.random.randint(0, 3, 20)
    h = model.fit({"a": xa, "b": xb}, [y1, y2], epochs=2, verbose=0, validation_split=0.5)
    assert sorted(h.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
                                 "val_cls_accuracy", "val_cls_loss", "val_loss", "val_reg_loss", "val_reg_mae"]
    res = model.evaluate({"a": xa, "b": xb}, {"reg": y1, "cls": y2}, verbose=0, return_dict=True)
    assert res["loss"] == pytest.approx(res["reg_loss"] + 0.5 * res["cls_loss"], rel=1e-5)


def test_inputs_not_connected_to_outputs_are_refused():
    a, b = nerve.Input((2,), name="a"), nerve.Input((2,), name="b")
    with pytest.raises(ValueError, match="cannot be computed from the model's inputs"):
        nerve.Model(a, Dense(1)(b))


def test_nested_model_used_as_a_layer():
    inner_in = nerve.Input((4,))
    inner = nerve.Model(inner_in, Dense(3, name="inner_dense")(inner_in), name="base")
    x = nerve.Input((4,))
    outer = nerve.Model(x, Dense(1)(inner(x)))
    assert outer.count_params() == 4 * 3 + 3 + 3 + 1
    inner.trainable = False
    assert len(outer.trainable_weights) == 2
    assert outer.predict(np.ones((2, 4)), verbose=0).shape == (2, 1)


def test_weights_move_to_and_from_keras(keras):
    ours = nerve.Sequential([nerve.Input((6,)), Dense(5, activation="relu"), Dense(3, activation="softmax")])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"),
                               keras.layers.Dense(3, activation="softmax")])
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    x = np.random.rand(7, 6).astype("float32")
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    theirs2 = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"),
                                keras.layers.Dense(3, activation="softmax")])
    ours.set_weights(theirs2.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs2.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_subclassed_model_trains():
    class TwoLayer(nerve.Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(8, activation="relu")
            self.out = Dense(1)

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    model = TwoLayer()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.rand(64, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    h = model.fit(x, y, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3 and len(model.trainable_weights) == 4
    assert model.predict(x, verbose=0).shape == (64, 1)


def test_layer_lists_in_subclass_are_tracked():
    class Stack(nerve.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [Dense(4) for _ in range(3)]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    model(torch.ones(1, 2))
    assert len(model.weights) == 6


def test_layer_and_weight_order_match_keras_for_branched_graphs(keras):
    def build(lib):
        a, b = lib.Input((4,), name="a"), lib.Input((3,), name="b")
        reg = lib.layers.Dense(1, name="reg")(lib.layers.Dense(5, name="d5")(a))
        shared = lib.layers.Dense(6, name="shared")
        cls = lib.layers.Dense(3, name="cls")(shared(shared(lib.layers.Dense(6, name="d6")(b))))
        return lib.Model([a, b, lib.Input((2,), name="unused")], [reg, cls])

    ours, theirs = build(nerve), build(keras)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    ours.set_weights(theirs.get_weights())
    xs = [np.random.rand(2, 4).astype("float32"), np.random.rand(2, 3).astype("float32"),
          np.zeros((2, 2), "float32")]
    for p, q in zip(ours.predict(xs, verbose=0), theirs.predict(xs, verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_single_output_in_a_list_acts_as_one_output():
    a = nerve.Input((3,))
    model = nerve.Model([a], [Dense(2, activation="softmax")(a)])
    assert isinstance(model.predict(np.ones((4, 3)), verbose=0), np.ndarray)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[["accuracy"]])
    assert "accuracy" in model.fit(np.ones((4, 3)), np.zeros(4), verbose=0).history


def test_dict_inputs_are_matched_by_dict_key():
    za, al = nerve.Input((2,), name="a_in"), nerve.Input((3,), name="b_in")
    model = nerve.Model({"zeta": za, "alpha": al}, Dense(1)(nerve.layers.Reshape((2,))(za)))
    out = model.predict({"zeta": np.ones((2, 2)), "alpha": np.ones((2, 3))}, verbose=0)
    assert out.shape == (2, 1)


def test_flat_metric_list_on_multi_output_model():
    a = nerve.Input((2,))
    model = nerve.Model(a, [Dense(1, name="o1")(a), Dense(3, activation="softmax", name="o2")(a)])
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=["mae", "accuracy"])
    h = model.fit(np.ones((4, 2)), [np.ones((4, 1)), np.zeros(4)], verbose=0)
    assert "o1_mae" in h.history and "o2_accuracy" in h.history
    with pytest.raises(ValueError, match="one entry .* per output"):
        model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=["mae", "mse", "acc"])
