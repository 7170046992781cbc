"""Activation descriptors: what the classifier sees where an activation's heatmap is.

A descriptor is the classifier's feature vector at a *descriptor layer* averaged over the
image's spatial positions with the activation's heatmap as weights (the map is
area-downsampled to the layer's grid and normalised to sum 1), followed by the activation's
x-feature as a one-hot. Activations of one visual concept (a heel, a beak) get nearby
descriptors, which is what suggestions, proposed groupings and transfers between activation
sets compare.

The descriptor layer is by default the last layer whose spatial maps are at least 7×7 (the
rule of :func:`xnaming_widget.heatmaps.map_layer.naming_map_layer` with a smaller side): it
carries object parts, unlike the input, where the demo's naming maps are read.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DESCRIPTOR_MIN_SIDE = 7
XFEATURE_WEIGHT = 1.0  # length of the x-feature one-hot next to the unit-length pooled features

__all__ = ["DESCRIPTOR_MIN_SIDE", "descriptor_layer", "pool_under_maps", "describe"]


def descriptor_layer(model: nn.Module, images: torch.Tensor, *, min_side: int = DESCRIPTOR_MIN_SIDE) -> str:
    """The dotted name of the layer descriptors are read at (see the module docstring)."""
    from ..heatmaps.map_layer import naming_map_layer

    return naming_map_layer(model, images, method="descriptor", min_side=min_side)


def pool_under_maps(features: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """``(B, T, C)``: features ``(B, C, h, w)`` averaged under each of the maps ``(B, T, H, W)``.

    The maps are area-downsampled to ``h × w`` and normalised to sum 1 (an all-zero map gives
    the plain spatial mean), so each descriptor is a convex combination of feature columns.
    """
    if features.ndim != 4 or maps.ndim != 4 or features.shape[0] != maps.shape[0]:
        raise ValueError(f"features must be (B, C, h, w) and maps (B, T, H, W) with the same B; got "
                         f"{tuple(features.shape)} and {tuple(maps.shape)}")
    b, t = maps.shape[:2]
    h, w = features.shape[-2:]
    weights = F.adaptive_avg_pool2d(maps.reshape(b * t, 1, *maps.shape[-2:]).float(), (h, w)).reshape(b, t, h * w)
    weights = weights.clamp_min(0)
    total = weights.sum(-1, keepdim=True)
    weights = torch.where(total > 0, weights / total.clamp_min(1e-30), torch.full_like(weights, 1.0 / (h * w)))
    return torch.einsum("btp,bcp->btc", weights, features.reshape(b, features.shape[1], h * w).float())


def describe(model: nn.Module, layer: str, images: torch.Tensor, maps: torch.Tensor, xfeatures: torch.Tensor,
             n_xfeatures: int) -> torch.Tensor:
    """Descriptors ``float32 (B, T, C + n_xfeatures)`` of the maps ``(B, T, H, W)`` of ``images``.

    One forward pass up to ``layer`` (stopped there). The pooled features are scaled to unit
    length, so that the x-feature one-hot (``xfeatures (B, T)`` ints) weighs the same in any
    model.
    """
    from .._torch import capture_output

    module = dict(model.named_modules()).get(layer)
    if module is None:
        raise ValueError(f"the model has no layer named {layer!r}")
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    with torch.no_grad(), capture_output(module, call=0, stop=True) as captured:
        model(images.to(device))
    if not captured:
        raise RuntimeError(f"layer {layer!r} did not run in the model's forward pass")
    pooled = pool_under_maps(captured[0].float(), maps.to(device))
    pooled = pooled / pooled.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    onehot = F.one_hot(xfeatures.to(device).long(), n_xfeatures).float() * XFEATURE_WEIGHT
    return torch.cat([pooled, onehot], dim=-1).cpu()
