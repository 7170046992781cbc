"""Explanation networks (XNNs): few non-negative x-features that reproduce a classifier's scores.

``XNN(method="srae", ...)`` builds one XNN (methods: srae, nn, sae, cae, lasso);
``fit_class_xnns(Z, logits, classes)`` trains one-vs-all XNNs for all classes as one batched
model and returns an ``XNNBank``. See definitions §2 and ``docs/architecture.md``.
"""
from __future__ import annotations

from typing import Any

from . import cae, lasso, nn, sae, srae  # noqa: F401  (importing registers the methods)
from .bank import XNNBank, balanced_weights, class_positives, fit_class_xnns
from ._neural import PAPER_SETTINGS
from .base import ExplanationNetwork, available_methods, method_class


class XNN:
    """Factory: ``XNN(method="srae", n_features=5, ...)`` returns that method's ``ExplanationNetwork``.

    ``XNN.load(path)`` reads any saved XNN; ``XNN.methods()`` lists the method names.
    """

    def __new__(cls, method: str = "srae", **params: Any) -> ExplanationNetwork:  # type: ignore[misc]
        return method_class(method)(**params)

    load = staticmethod(ExplanationNetwork.load)
    methods = staticmethod(available_methods)


__all__ = ["XNN", "XNNBank", "ExplanationNetwork", "fit_class_xnns", "available_methods",
           "balanced_weights", "class_positives", "PAPER_SETTINGS"]
