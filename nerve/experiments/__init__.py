"""Experiments: train several set-ups side by side, plot them, diagnose the curves.

Seed 0 of the course notes trains one network as sigmoid+SGD, relu+SGD and
relu+Adam and draws the curves on one figure; `compare` does that in one call:

    >>> from nerve import experiments
    >>> result = experiments.compare(build, {"activation": ["sigmoid", "relu"],
    ...                                      "optimizer": ["sgd", "adam"]}, x, y, epochs=20)
    >>> print(result)            # the table
    >>> result.plot("accuracy")  # every run on one figure
    >>> print(result.runs[0].history.diagnose())

Submodules load lazily, so `import nerve` does not import matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "compare": "nerve.experiments.comparison",
    "Comparison": "nerve.experiments.results",
    "RunResult": "nerve.experiments.results",
    "expand_grid": "nerve.experiments.comparison",
    "format_rows": "nerve.experiments.results",
    "diagnose": "nerve.experiments.diagnosis",
    "Diagnosis": "nerve.experiments.diagnosis",
    "Finding": "nerve.experiments.diagnosis",
    "find_lr": "nerve.experiments.lr_finder",
    "LRFinderResult": "nerve.experiments.lr_finder",
    "plot_history": "nerve.experiments.plots",
    "plot_comparison": "nerve.experiments.plots",
    "plot_gradient_norms": "nerve.experiments.plots",
    "plot_lr_finder": "nerve.experiments.plots",
    "write_report": "nerve.experiments.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nerve.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
