"""Activation descriptors: what is drawn at an activation's hot spot, and what the classifier sees there.

A descriptor is a **hypercolumn** read at the activation's heatmap **peak** (the centre of
the hottest small patch, :func:`map_peaks`: what a person looking at the heatmap calls its hot
spot, and where the simulated people's truth is read). The column starts with the image's own
**colour at the peak pixel**: its values there in units of the image's value range (max − min
over its pixels and channels, so the input's scale, 0–1, 0–255 or normalised, does not change
the column's weight), times ``COLOUR_WEIGHT``, and not minus the image's mean (a red wing is
red whatever the background). Then it stacks the classifier's features at several layers, the
last layer of each spatial resolution from the first one down to the *descriptor layer*: fine
layers say what is drawn there (colour, edges), deep ones which part of which object it is.
At each layer the features are averaged over the layer's **hot spot**, the peak's cell and its
neighbours (3×3 cells: a few pixels at the first layer, a wider context at the deepest),
**minus the same features' plain spatial mean over the image**, and scaled to unit length (or
shorter, when that difference is under ``MIN_CONTRAST`` of the pooled vector's length); the
layers' vectors are concatenated and followed by the activation's x-feature as a one-hot of
length ``XFEATURE_WEIGHT`` (half a layer's: a part's activations spread over several
x-features, and a heavier one-hot splits them). The colour decides what a hot spot on the
border between two parts shows (on the parts set, 43 % of the peaks lie within a pixel of
one), which the layers' cells, each several pixels wide, blur. Activations of one visual
concept (a heel, a beak) get nearby descriptors, which is what suggestions, proposed groupings
and transfers between activation sets compare. Subtracting the image's mean keeps what is
particular to the hot spot and drops what the whole image shares (its class, its
background); reading at the peak rather than under the whole heatmap keeps a map that spreads
over several parts from mixing them. ``docs/definitions.md`` §8 gives what each choice did on
the parts set.

The features are read in the heatmaps' own forward passes (:func:`attribute_and_describe`,
no second pass over the images), or with a plain forward pass (:func:`describe`: integrated
gradients, and sets that were saved without descriptors). The peak is found on the map
rounded to the stored precision (float16), so it is the peak of the heatmap the set keeps.

The descriptor layer (the deepest of the column) is by default the last layer whose spatial
maps are at least 14×14 (the rule of :func:`xnaming_widget.heatmaps.map_layer.naming_map_layer`
for larger images: 16×16 on the demo CNN at 64 px, ``_blocks.10`` on EfficientNet-Lite0 at
224 px): fine enough that a hot spot is a few cells, deep enough to carry object parts.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

DESCRIPTOR_MIN_SIDE = 14
HOT_SPOT_CELLS = 1  # a layer's hot spot: the peak's cell and the cells this many steps around it (3×3)
MIN_CONTRAST = 0.1  # a map spread over the whole image gives a short vector, not amplified rounding noise
XFEATURE_WEIGHT = 0.5  # length of the x-feature one-hot next to the unit-length pooled features (§8)
COLOUR_WEIGHT = 4.0  # the colour at the peak, in image value ranges, is scaled by this (docs/definitions.md §8)

__all__ = ["DESCRIPTOR_MIN_SIDE", "DESCRIPTOR_VERSION", "colour_at_peaks", "descriptor_layer", "hypercolumn_layers",
           "pool_under_maps", "descriptors_of", "describe", "attribute_and_describe"]

# 1: pooled under the map; 2: minus the image's mean; 3: at the hot spot; 4: a hypercolumn;
# 5: the colour at the peak first
DESCRIPTOR_VERSION = 5


def descriptor_layer(model: nn.Module, images: torch.Tensor, *, min_side: int = DESCRIPTOR_MIN_SIDE) -> str:
    """The dotted name of the layer descriptors are read at (see the module docstring)."""
    from ..heatmaps.map_layer import naming_map_layer

    return naming_map_layer(model, images, method="descriptor", min_side=min_side)


def hypercolumn_layers(model: nn.Module, images: torch.Tensor, deepest: str) -> list[str]:
    """The layers a descriptor stacks, ending with ``deepest``: of the spatial layers the
    model runs up to ``deepest`` (those :func:`naming_map_layer` chooses among), the last one
    before each change of spatial size. ``images``: a batch as the model takes it (only the
    first image is run)."""
    from ..heatmaps.map_layer import _candidates, probe_calls

    calls = probe_calls(model, images)
    names = [call.name for call in calls]
    if deepest not in names:
        raise ValueError(f"the model has no layer named {deepest!r} that runs in its forward pass")
    stop = names.index(deepest)
    position = {id(call): i for i, call in enumerate(calls)}
    ran = [call for call in _candidates(model, calls) if position[id(call)] < stop] + [calls[stop]]
    return [call.name for call, after in zip(ran, ran[1:] + [None])
            if after is None or after.shape[2:] != call.shape[2:]]


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


def map_peaks_at_stored_precision(maps: torch.Tensor) -> torch.Tensor:
    """``int64 (B, T, 2)``: the (row, col) peak of each map (``metrics.map_peaks`` on the map
    rounded to float16, the precision the set stores); -1 for an all-zero map."""
    from ..metrics.object_maps import map_peaks

    return torch.from_numpy(map_peaks(maps.detach().to(torch.float16).float().cpu().numpy())).long()


def hot_spots(peaks: torch.Tensor, image_size: tuple[int, int], side: tuple[int, int]) -> torch.Tensor:
    """``float32 (B, T, h, w)``: 1 on the cells of a layer of ``side = (h, w)`` within
    ``HOT_SPOT_CELLS`` of the cell holding each peak (``peaks (B, T, 2)`` in pixels of an
    image of ``image_size``), 0 elsewhere; all 0 where the peak is -1 (an all-zero map)."""
    (height, width), (h, w) = image_size, side
    row = (peaks[..., 0] * h) // height
    col = (peaks[..., 1] * w) // width
    rows = torch.arange(h)[:, None]
    cols = torch.arange(w)[None, :]
    inside = (((rows - row[..., None, None]).abs() <= HOT_SPOT_CELLS)
              & ((cols - col[..., None, None]).abs() <= HOT_SPOT_CELLS))
    return (inside & (peaks[..., :1, None] >= 0)).float()


def colour_at_peaks(images: torch.Tensor, peaks: torch.Tensor, map_size: tuple[int, int]) -> torch.Tensor:
    """``float32 (B, T, C)``: each image's values at each peak, divided by the image's value
    range and times ``COLOUR_WEIGHT``; 0 where the peak is -1. ``images (B, C, H, W)``; the
    peaks ``(B, T, 2)`` are pixels of maps of ``map_size`` (scaled when the sizes differ)."""
    images = images.float()
    b, c, height, width = images.shape
    rows = (peaks[..., 0].clamp_min(0) * height) // map_size[0]
    cols = (peaks[..., 1].clamp_min(0) * width) // map_size[1]
    index = (rows * width + cols).to(images.device)  # (B, T)
    values = torch.gather(images.reshape(b, c, height * width), 2, index[:, None, :].expand(b, c, -1))
    span = (images.amax(dim=(1, 2, 3)) - images.amin(dim=(1, 2, 3))).clamp_min(1e-12)
    found = (peaks[..., :1] >= 0).to(images.device)
    return values.transpose(1, 2) / span[:, None, None] * COLOUR_WEIGHT * found


def descriptors_of(features, maps: torch.Tensor, xfeatures: torch.Tensor, n_xfeatures: int, *,
                   images: torch.Tensor) -> torch.Tensor:
    """Descriptors ``float32 (B, T, C₀ + ΣC + n_xfeatures)`` from the ``images (B, C₀, H, W)``
    and the layers' ``features``.

    ``features``: one layer's output ``(B, C, h, w)`` or a list of them (the hypercolumn's
    layers, shallow to deep); ``maps (B, T, H, W)`` are the activations' heatmaps and
    ``xfeatures (B, T)`` their x-features (ints). See the module docstring for the definition.
    """
    layers = list(features) if isinstance(features, (list, tuple)) else [features]
    peaks = map_peaks_at_stored_precision(maps)
    columns = [colour_at_peaks(images, peaks, tuple(maps.shape[-2:])).to(layers[0].device)]
    for layer_features in layers:
        layer_features = layer_features.float()
        spots = hot_spots(peaks, tuple(maps.shape[-2:]), tuple(layer_features.shape[-2:]))
        pooled = pool_under_maps(layer_features, spots.to(layer_features.device))
        particular = pooled - layer_features.mean(dim=(2, 3))[:, None, :]
        scale = torch.maximum(particular.norm(dim=-1, keepdim=True), MIN_CONTRAST * pooled.norm(dim=-1, keepdim=True))
        columns.append(particular / scale.clamp_min(1e-12))
    onehot = F.one_hot(xfeatures.to(layers[0].device).long(), n_xfeatures).float() * XFEATURE_WEIGHT
    return torch.cat(columns + [onehot], dim=-1)


def describe(model: nn.Module, layer: str | Sequence[str], images: torch.Tensor, maps: torch.Tensor,
             xfeatures: torch.Tensor, n_xfeatures: int) -> torch.Tensor:
    """Descriptors ``float32 (B, T, d)`` of the maps ``(B, T, H, W)`` of ``images``.

    ``layer``: the descriptor layer, the deepest of the column (:func:`hypercolumn_layers`
    finds the others), or a list naming every layer of the column, shallow to deep.
    One plain forward pass up to ``layer`` (stopped there), for when the maps were made
    without observing it (:func:`attribute_and_describe` does both at once).
    """
    import contextlib

    from .._torch import StopForward, capture_output

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    images = images.to(device)
    names = _column(model, images, layer)
    with torch.no_grad(), contextlib.ExitStack() as stack:
        captured = [stack.enter_context(capture_output(_module(model, name), call=0, stop=name == names[-1]))
                    for name in names]
        try:
            model(images)
        except StopForward:  # raised by the deepest layer's hook when the others are nested in it
            pass
    missing = [name for name, seen in zip(names, captured) if not seen]
    if missing:
        raise RuntimeError(f"layers {missing} did not run in the model's forward pass")
    return descriptors_of([seen[0] for seen in captured], maps, xfeatures, n_xfeatures, images=images).cpu()


def attribute_and_describe(model: nn.Module, dnn: nn.Module, descriptor_layer: str | Sequence[str], images: torch.Tensor,
                           targets, *,
                           n_xfeatures: int, method: str = "cmwp", **attribute_kwargs):
    """Heatmaps ``(B, T, H, W)`` of ``targets`` and their descriptors ``(B, T, d)``, in one pass.

    ``model`` is what the maps explain (an :class:`~xnaming_widget.heatmaps.XFeatureModel`
    around ``dnn``); ``descriptor_layer`` names the deepest layer of the column in ``dnn``
    (or a list names all of them, shallow to deep); ``targets (B, T)`` the
    x-feature of each map; the rest goes to :func:`~xnaming_widget.heatmaps.attribute`. The
    outputs of the column's layers (:func:`hypercolumn_layers`) are taken from each block's own
    forward pass and pooled there, on the compute device. For
    integrated gradients, whose passes see path images, a separate plain pass is made.
    """
    import numpy as np

    from ..heatmaps import attribute
    from ..heatmaps.attribute import attribute_observed

    targets_tensor = torch.as_tensor(np.asarray(targets)).long()
    images = torch.as_tensor(images)
    if method == "ig":
        maps = attribute(model, images, method=method, targets=targets, **attribute_kwargs)
        return maps, describe(dnn, descriptor_layer, images, torch.from_numpy(maps), targets_tensor, n_xfeatures).numpy()
    parts: list[tuple[slice, slice, torch.Tensor]] = []

    def keep(image_slice, target_slice, features, block_maps):
        chosen = targets_tensor[image_slice, target_slice]
        parts.append((image_slice, target_slice,
                      descriptors_of(features, block_maps, chosen, n_xfeatures, images=images[image_slice]).cpu()))

    column = [_module(dnn, name) for name in _column(dnn, images, descriptor_layer)]
    maps = attribute_observed(model, images, observe=(column, keep), method=method, targets=targets, **attribute_kwargs)
    out = torch.empty(*maps.shape[:2], parts[0][2].shape[-1])
    for image_slice, target_slice, block in parts:
        out[image_slice, target_slice] = block
    return maps, out.numpy()


def _column(model: nn.Module, images: torch.Tensor, layers: str | Sequence[str]) -> list[str]:
    """The column's layer names: ``layers`` itself when a list, else probed from the deepest."""
    if isinstance(layers, str):
        return hypercolumn_layers(model, images, layers)
    names = [str(name) for name in layers]
    if not names:
        raise ValueError("no descriptor layer named: give the deepest layer's name or a list of layer names")
    return names


def _module(model: nn.Module, layer: str) -> nn.Module:
    module = dict(model.named_modules()).get(layer)
    if module is None:
        raise ValueError(f"the model has no layer named {layer!r}")
    return module
