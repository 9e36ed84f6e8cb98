"""One helper that every layer's test uses: shapes, weights, config, a training step, and Keras."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

import nerve


def layer_test(
    make: Callable[..., nerve.layers.Layer],
    kwargs: dict[str, Any],
    input_shape: tuple[int, ...],
    expected_output_shape: tuple[int | None, ...],
    num_weights: int,
    num_trainable: int | None = None,
    keras_module: Any = None,
    keras_name: str | None = None,
    atol: float = 1e-5,
    training: bool | None = None,
    make_input: Callable[[tuple[int, ...]], torch.Tensor] | None = None,
) -> nerve.layers.Layer:
    """Check a layer end to end and return it.

    - symbolic call: output shape with a None batch;
    - eager call: output shape matches compute_output_shape;
    - weight counts; get_config round-trips to an equal config and equal outputs;
    - a gradient step reaches every trainable weight;
    - with `keras_module`, the Keras layer with the same arguments and weights
      gives the same outputs.

    `training`, when given, is passed to every eager call of both layers (e.g.
    `training=False` for augmentation layers, which augment on a direct call).
    `make_input(input_shape)`, when given, makes the eager input instead of
    `torch.randn` (e.g. integer indices); the symbolic Input takes its dtype.
    """
    call_kwargs = {} if training is None else {"training": training}
    layer = make(**kwargs)
    x = make_input(input_shape) if make_input is not None else None
    symbolic = nerve.Input(shape=input_shape[1:], dtype=None if x is None else str(x.dtype).replace("torch.", ""))
    out = layer(symbolic)
    assert out.shape == expected_output_shape, f"symbolic shape {out.shape} != {expected_output_shape}"
    assert len(layer.weights) == num_weights
    if num_trainable is not None:
        assert len(layer.trainable_weights) == num_trainable

    if x is None:
        x = torch.randn(input_shape)
    y = layer(x, **call_kwargs)
    concrete = tuple(d if d is not None else input_shape[0] for d in expected_output_shape)
    assert tuple(y.shape) == concrete

    config = layer.get_config()
    clone = type(layer).from_config({**config, "name": config["name"] + "_clone"})
    clone(symbolic)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x, **call_kwargs), y)
    clone_config = clone.get_config()
    clone_config["name"] = config["name"]
    assert clone_config == config

    if layer.trainable_weights:
        layer(x, training=True).square().sum().backward()
        for w in layer.trainable_weights:
            assert w.value.grad is not None and torch.isfinite(w.value.grad).all(), w.path

    if keras_module is not None:
        kcls = getattr(keras_module.layers, keras_name or type(layer).__name__)
        kconfig = {k: v for k, v in kwargs.items()}
        klayer = kcls(**kconfig)
        klayer.build(input_shape)
        klayer.set_weights(layer.get_weights())
        # Recomputed: the training call above may have changed state (e.g. moving statistics).
        y = layer(x, **call_kwargs)
        kout = klayer(x.numpy(), **call_kwargs)
        expected = np.asarray(kout.detach().cpu() if hasattr(kout, "detach") else kout)
        np.testing.assert_allclose(y.detach().numpy(), expected, atol=atol, rtol=1e-5)
    return layer
