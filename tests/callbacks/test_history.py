"""History: the record fit returns, rebuilt from a dict, as a DataFrame, and plotted."""

from __future__ import annotations

import math
import pickle

import pytest

import nerve as keras
from nerve.callbacks.history import History


def test_from_dict_converts_numbers_and_numbers_the_epochs():
    h = History.from_dict({"loss": [1, 0.5], "val_loss": [1.2, 0.7]})
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]}
    assert isinstance(h.history["loss"][0], float)
    assert h.epoch == [0, 1]
    assert History.from_dict({"loss": [0.3]}, epoch=[4]).epoch == [4]
    assert repr(h) == "<History epochs=2 keys=['loss', 'val_loss']>"


def test_to_dataframe_pads_shorter_series():
    pd = pytest.importorskip("pandas")
    df = History.from_dict({"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [0.9, 0.7]}).to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert df.index.name == "epoch" and list(df.index) == [0, 1, 2, 3]
    assert list(df.columns) == ["loss", "val_loss"]
    assert df["val_loss"].iloc[1] == 0.7 and math.isnan(df["val_loss"].iloc[3])
    assert df["loss"].idxmin() == 3


def test_plot_goes_to_plot_history(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    h = History.from_dict({"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.9]})
    path = tmp_path / "curves.png"
    fig = h.plot(path=path, dpi=40, figsize=(5, 4))
    assert isinstance(fig, Figure)
    assert [a.get_title() for a in fig.get_axes()] == ["loss"]
    assert path.stat().st_size > 0


def test_fit_returns_a_history_that_pickles_without_its_model(digits_data):
    x, y = digits_data
    model = keras.Sequential([keras.layers.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x[:200], y[:200], epochs=2, validation_split=0.25, verbose=0)
    assert h.epoch == [0, 1]
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert model.history is h
    restored = pickle.loads(pickle.dumps(h))
    assert restored.history == h.history and restored.model is None
    again = History.from_dict(h.history)
    assert again.history == h.history and again.epoch == h.epoch
