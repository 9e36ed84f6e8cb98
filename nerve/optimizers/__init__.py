"""Optimizers with Keras 3's API and update rules, run as fused/multi-tensor torch ops.

Training code calls `optimizer.build(params)` once, then `optimizer.step()`
after each `loss.backward()`; Keras-style code can use `apply_gradients`.
"""

from nerve.optimizers._registry import deserialize, get, serialize
from nerve.optimizers.adadelta import Adadelta
from nerve.optimizers.adagrad import Adagrad
from nerve.optimizers.adam import Adam
from nerve.optimizers.adamax import Adamax
from nerve.optimizers.adamw import AdamW
from nerve.optimizers.nadam import Nadam
from nerve.optimizers.optimizer import Optimizer
from nerve.optimizers.rmsprop import RMSprop
from nerve.optimizers.sgd import SGD
from nerve.optimizers import schedules  # noqa: E402  (keras.optimizers.schedules.*)

__all__ = [
    "schedules",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "SGD",
    "deserialize",
    "get",
    "serialize",
]
