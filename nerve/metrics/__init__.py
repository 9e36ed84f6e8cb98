"""Metrics with Keras 3's names and semantics, accumulating in device tensors.

Every metric keeps its state in tensors on the compute device and updates them
in place without reading values back to the host, so a training loop can call
`update_state` every step and `result()` only when it prints. `result()`
returns a torch tensor (0-d for scalar metrics).

Example:
    >>> from nerve import metrics
    >>> m = metrics.get("sparse_categorical_accuracy")
    >>> m.update_state([1, 0], [[0.2, 0.8], [0.4, 0.6]])
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from nerve import losses as _losses
from nerve.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    kld,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from nerve.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from nerve.metrics.auc import AUC
from nerve.metrics.confusion import FalseNegatives, FalsePositives, TrueNegatives, TruePositives
from nerve.metrics.hinge import CategoricalHinge, Hinge, SquaredHinge
from nerve.metrics.mean import Mean, MeanMetricWrapper, Sum, _fn_name
from nerve.metrics.metric import Metric
from nerve.metrics.precision import Precision
from nerve.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from nerve.metrics.r2_score import R2Score
from nerve.metrics.recall import Recall
from nerve.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]

_CLASSES: dict[str, type[Metric]] = {
    cls.__name__: cls
    for cls in (
        AUC,
        Accuracy,
        BinaryAccuracy,
        BinaryCrossentropy,
        CategoricalAccuracy,
        CategoricalCrossentropy,
        CategoricalHinge,
        CosineSimilarity,
        FalseNegatives,
        FalsePositives,
        Hinge,
        KLDivergence,
        LogCoshError,
        Mean,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanMetricWrapper,
        MeanSquaredError,
        MeanSquaredLogarithmicError,
        Metric,
        Poisson,
        Precision,
        R2Score,
        Recall,
        RootMeanSquaredError,
        SparseCategoricalAccuracy,
        SparseCategoricalCrossentropy,
        SparseTopKCategoricalAccuracy,
        SquaredHinge,
        Sum,
        TopKCategoricalAccuracy,
        TrueNegatives,
        TruePositives,
    )
}

# Names `get` turns into a new metric object (Keras's names, plus common aliases).
_NAMES: dict[str, type[Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
    "mean": Mean,
    "sum": Sum,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "rmse": RootMeanSquaredError,
    "r2_score": R2Score,
    "cosine_similarity": CosineSimilarity,
    "logcosh": LogCoshError,
    "log_cosh": LogCoshError,
    "log_cosh_error": LogCoshError,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
}

# Per-sample functions by name (metric functions and the loss functions).
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **_losses._FUNCTIONS,
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}

_UNINSTANTIABLE = (Metric, MeanMetricWrapper)


def _valid_names() -> list[str]:
    classes = {name for name, cls in _CLASSES.items() if cls not in _UNINSTANTIABLE}
    return sorted(set(_NAMES) | set(_FUNCTIONS) | classes)


def serialize(metric: Any) -> Any:
    """Return a JSON-friendly description of a metric (a dict for objects and functions).

    Args:
        metric: a `Metric`, a metric function, a string or None.

    Example:
        >>> serialize(AUC())["class_name"]
        'AUC'
    """
    return _REGISTRY.serialize(metric)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a metric from `serialize()`'s output (Keras-saved configs work too).

    Args:
        config: a dict from `serialize`, or a name.
        custom_objects: extra classes or functions by name (default None).

    Example:
        >>> deserialize(serialize(Precision(thresholds=0.3))).thresholds
        [0.3]
    """
    return _REGISTRY.deserialize(config, custom_objects)


def get(identifier: Any) -> Metric | None:
    """Return a metric object from a name, a config dict, a class, an instance or a function.

    Names give a new metric with Keras's default name (`"mse"` gives
    `MeanSquaredError()`, named `"mean_squared_error"`); a function is wrapped
    in `MeanMetricWrapper` named after it; `Metric` instances pass through.
    Choosing between binary, categorical and sparse accuracy for `"accuracy"`
    is left to `Model.compile`, which knows the loss and output shapes.

    Args:
        identifier: the metric to look up.

    Raises:
        ValueError: for an unknown name or an object that is not a metric.

    Example:
        >>> get("auc").name
        'auc'
        >>> get(mean_absolute_error).name
        'mean_absolute_error'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is None:
            candidate = _CLASSES.get(identifier)
            cls = None if candidate in _UNINSTANTIABLE else candidate
        if cls is not None:
            return cls()
        if identifier in _FUNCTIONS:
            return MeanMetricWrapper(_FUNCTIONS[identifier], name=identifier)
    elif inspect.isclass(identifier):
        if issubclass(identifier, Metric) and identifier not in _UNINSTANTIABLE:
            return identifier()
    elif callable(identifier):
        name = getattr(identifier, "__name__", None) or getattr(identifier, "name", None) or "mean_metric_wrapper"
        return MeanMetricWrapper(identifier, name=name)
    raise _REGISTRY.not_understood(identifier, _valid_names())


_REGISTRY = _losses._Registry("metric", "nerve.metrics", Metric, _FUNCTIONS, _CLASSES, get, _fn_name)
