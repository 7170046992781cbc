"""Heatmaps of x-features and classes: excitation backprop (MWP, c-MWP), Grad-CAM, integrated gradients.

``attribute(model, images, method=..., targets=..., layer=...) -> (B, T, H, W)`` computes the
maps of all targets of all images in batched passes; ``XFeatureModel(dnn, layer, xnn)``
makes an XNN's x-features the outputs to explain. See ``excitation.py`` for the rules used
where excitation backprop's paper leaves a case open.
"""
from __future__ import annotations

from .attribute import METHODS, attribute
from .excitation import UnsupportedModelError
from .targets import OutputTarget
from .xfeature_model import XFeatureModel

__all__ = ["attribute", "XFeatureModel", "OutputTarget", "UnsupportedModelError", "METHODS"]
