"""xnaming-widget: explain what an image classifier learned, in the words of the people who study it.

The pipeline (definitions §1): layer features -> explanation networks (XNNs) -> significant
x-features -> heatmaps -> naming widget -> global explanations, coverage and agreement.

Names are imported lazily so that ``import xnaming_widget`` stays fast and does not pull in
torch until a function that needs it is used.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # data and models
    "load_fashion_mnist": "data",
    "make_parts_dataset": "data",
    "DemoCNN": "models",
    "train_classifier": "models",
    "FeatureExtractor": "models",
    "demo_classifier": "models",
    "load_efficientnet_lite0": "models",
    # explanation networks
    "XNN": "xnn",
    "XNNBank": "xnn",
    "fit_class_xnns": "xnn",
    "msx": "significance",
    "top_fraction": "significance",
    "faithfulness_table": "metrics",
    "compare_methods": "metrics",
    "compare_over_seeds": "metrics",
    # heatmaps and activation sets
    "attribute": "heatmaps",
    "XFeatureModel": "heatmaps",
    "ActivationSet": "activations",
    "build_activations": "activations",
    # the widget
    "NamingWidget": "widget",
    # analysis
    "Namings": "analysis",
    "global_explanation": "analysis",
    "local_explanations": "analysis",
    "coverage": "analysis",
    "named_by_n": "analysis",
    "purity": "analysis",
    "jaccard": "analysis",
    "dfamily_agreement": "analysis",
    "pairwise_table": "analysis",
    "simulate_annotators": "analysis",
    "matched_names": "analysis",
    "Report": "report",
    # the main job, headless
    "run_demo": "pipeline",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xnaming_widget' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
