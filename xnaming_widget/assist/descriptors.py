"""Activation descriptors: what the classifier sees at an activation's hot spot.

A descriptor is the classifier's feature vector at a *descriptor layer* averaged over the
activation's **hot spot** (the window around its heatmap's peak that :func:`map_peaks`
takes: what a person looking at the heatmap calls its hot spot, and what the simulated
people's truth is read at), **minus the same features' plain spatial mean over the image**,
scaled to unit length (or shorter, when that difference is under ``MIN_CONTRAST`` of the
pooled vector's length) and followed by the activation's x-feature as a one-hot.
Activations of one visual concept (a heel, a beak) get nearby descriptors, which is what
suggestions, proposed groupings and transfers between activation sets compare. Subtracting
the image's mean keeps what is particular to the hot spot and drops what the whole image
shares (its class, its background). Pooling at the hot spot rather than under the whole
heatmap keeps a map that spreads over several parts from mixing them: on the parts set
(``bench/assisted_naming.py``) a descriptor's nearest neighbour names the same part for 79 %
of activations, against 62 % pooled under the whole map.

The features are read in the heatmaps' own forward passes (:func:`attribute_and_describe`,
no second pass over the images), or with a plain forward pass (:func:`describe`: integrated
gradients, and sets that were saved without descriptors). The peak is found on the map
rounded to the stored precision (float16), so it is the peak of the heatmap the set keeps.

The descriptor layer is by default the last layer whose spatial maps are at least 14×14 (the
rule of :func:`xnaming_widget.heatmaps.map_layer.naming_map_layer` for larger images: 16×16
on the demo CNN at 64 px, ``_blocks.10`` on EfficientNet-Lite0 at 224 px): fine enough that a
hot spot is a few cells, deep enough to carry object parts.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DESCRIPTOR_MIN_SIDE = 14
MIN_CONTRAST = 0.1  # a map spread over the whole image gives a short vector, not amplified rounding noise
XFEATURE_WEIGHT = 1.0  # length of the x-feature one-hot next to the unit-length pooled features

__all__ = ["DESCRIPTOR_MIN_SIDE", "DESCRIPTOR_VERSION", "descriptor_layer", "pool_under_maps", "descriptors_of",
           "describe", "attribute_and_describe"]

DESCRIPTOR_VERSION = 3  # 1: pooled under the map; 2: minus the image's mean; 3: at the hot spot


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


def hot_spots(maps: torch.Tensor) -> torch.Tensor:
    """``float32 (B, T, H, W)``: 1 in the window around each map's peak (``metrics.map_peaks``
    on the map at float16, the stored precision), 0 elsewhere; all 0 for an all-zero map."""
    from ..metrics.object_maps import map_peaks, peak_window

    height, width = maps.shape[-2:]
    peaks = torch.from_numpy(map_peaks(maps.detach().to(torch.float16).float().cpu().numpy()))
    half = peak_window(height, width) // 2
    rows = torch.arange(height)[:, None]
    cols = torch.arange(width)[None, :]
    inside = ((rows - peaks[..., 0, None, None]).abs() <= half) & ((cols - peaks[..., 1, None, None]).abs() <= half)
    return (inside & (peaks[..., :1, None] >= 0)).float()


def descriptors_of(features: torch.Tensor, maps: torch.Tensor, xfeatures: torch.Tensor,
                   n_xfeatures: int) -> torch.Tensor:
    """Descriptors ``float32 (B, T, C + n_xfeatures)`` from a layer's ``features (B, C, h, w)``.

    ``maps (B, T, H, W)`` are the activations' heatmaps and ``xfeatures (B, T)`` their
    x-features (ints). See the module docstring for the definition.
    """
    features = features.float()
    pooled = pool_under_maps(features, hot_spots(maps).to(features.device))
    particular = pooled - features.mean(dim=(2, 3))[:, None, :]
    scale = torch.maximum(particular.norm(dim=-1, keepdim=True), MIN_CONTRAST * pooled.norm(dim=-1, keepdim=True))
    particular = particular / scale.clamp_min(1e-12)
    onehot = F.one_hot(xfeatures.to(features.device).long(), n_xfeatures).float() * XFEATURE_WEIGHT
    return torch.cat([particular, onehot], dim=-1)


def describe(model: nn.Module, layer: str, images: torch.Tensor, maps: torch.Tensor, xfeatures: torch.Tensor,
             n_xfeatures: int) -> torch.Tensor:
    """Descriptors ``float32 (B, T, C + n_xfeatures)`` of the maps ``(B, T, H, W)`` of ``images``.

    One plain forward pass up to ``layer`` (stopped there), for when the maps were made
    without observing it (:func:`attribute_and_describe` does both at once).
    """
    from .._torch import capture_output

    module = _module(model, layer)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    with torch.no_grad(), capture_output(module, call=0, stop=True) as captured:
        model(images.to(device))
    if not captured:
        raise RuntimeError(f"layer {layer!r} did not run in the model's forward pass")
    return descriptors_of(captured[0], maps, xfeatures, n_xfeatures).cpu()


def attribute_and_describe(model: nn.Module, dnn: nn.Module, descriptor_layer: str, images: torch.Tensor, targets, *,
                           n_xfeatures: int, method: str = "cmwp", **attribute_kwargs):
    """Heatmaps ``(B, T, H, W)`` of ``targets`` and their descriptors ``(B, T, d)``, in one pass.

    ``model`` is what the maps explain (an :class:`~xnaming_widget.heatmaps.XFeatureModel`
    around ``dnn``); ``descriptor_layer`` names a layer of ``dnn``; ``targets (B, T)`` the
    x-feature of each map; the rest goes to :func:`~xnaming_widget.heatmaps.attribute`. The layer's output is
    taken from each block's own forward pass and pooled there, on the compute device. For
    integrated gradients, whose passes see path images, a separate plain pass is made.
    """
    import numpy as np

    from ..heatmaps import attribute
    from ..heatmaps.attribute import attribute_observed

    targets_tensor = torch.as_tensor(np.asarray(targets)).long()
    if method == "ig":
        maps = attribute(model, images, method=method, targets=targets, **attribute_kwargs)
        return maps, describe(dnn, descriptor_layer, images, torch.from_numpy(maps), targets_tensor, n_xfeatures).numpy()
    parts: list[tuple[slice, slice, torch.Tensor]] = []

    def keep(image_slice, target_slice, features, block_maps):
        chosen = targets_tensor[image_slice, target_slice]
        parts.append((image_slice, target_slice, descriptors_of(features, block_maps, chosen, n_xfeatures).cpu()))

    maps = attribute_observed(model, images, observe=(_module(dnn, descriptor_layer), keep), method=method, targets=targets,
                              **attribute_kwargs)
    out = torch.empty(*maps.shape[:2], parts[0][2].shape[-1])
    for image_slice, target_slice, block in parts:
        out[image_slice, target_slice] = block
    return maps, out.numpy()


def _module(model: nn.Module, layer: str) -> nn.Module:
    module = dict(model.named_modules()).get(layer)
    if module is None:
        raise ValueError(f"the model has no layer named {layer!r}")
    return module
