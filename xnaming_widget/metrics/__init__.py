"""Quantitative measures of explanations, as pure functions of arrays.

- faithfulness: how well XNNs reproduce the classifier (F_reg, RMSE, F_cls, xNN accuracy);
- maps: orthogonality (O1, O2) and locality of x-feature heatmaps (definitions §4);
- compare: the XNN paper's Table 1 in one call;
- seeds: that table over several seeds (means, t-intervals, paired tests);
- object_maps: do heatmaps land on the object (mass share, pointing, peak at the border), and
  ``map_peaks``, the one rule for where a map peaks.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "f_reg": "faithfulness",
    "rmse": "faithfulness",
    "f_cls": "faithfulness",
    "xnn_accuracy": "faithfulness",
    "faithfulness_table": "faithfulness",
    "orthogonality": "maps",
    "locality": "maps",
    "compare_methods": "compare",
    "compare_over_seeds": "seeds",
    "t_interval": "seeds",
    "on_object": "object_maps",
    "map_peaks": "object_maps",
    "mass_on_mask": "object_maps",
    "pointing": "object_maps",
    "peak_at_border": "object_maps",
    "energy_ratio": "object_maps",
    "region_share": "object_maps",
    "foreground_masks": "object_maps",
    "box_masks": "object_maps",
    "part_masks": "object_maps",
    "activation_set_on_object": "object_maps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xnaming_widget.metrics' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__
