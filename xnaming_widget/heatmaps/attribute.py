"""``attribute``: batched heatmaps of many targets of many images, by one of four methods."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._progress import progress
from ._batching import RowPlan, upsample_mass
from ._layers import (INPUT, LayerCall, attribution_state, check_images, default_map_layer, probe_model,
                      resolve_layer, tap_call)
from .excitation import cmwp_maps, mwp_maps
from .gradcam import gradcam_maps
from .integrated_gradients import ig_maps
from .targets import resolve_targets

__all__ = ["attribute", "METHODS"]

DEFAULT_BATCH_SIZE = 128


@dataclass(frozen=True)
class _Method:
    """How a method computes the maps (B·T, H, W) of a block of images, and where it reads them."""

    compute: Callable  # (model, images, seeds, tap, options) -> maps at the images' resolution
    reads_layer: bool  # maps are read at a layer (False: at the pixels)
    allows_input: bool  # layer="input" is meaningful
    path_points: Callable = lambda options: 1  # forward rows per (image, target) row


def _excitation(maps_at_layer: Callable) -> Callable:
    def compute(model, images, seeds, tap, options):
        return upsample_mass(maps_at_layer(model, images, seeds, tap), tuple(images.shape[-2:]))
    return compute


def _gradcam(model, images, seeds, tap, options):
    return gradcam_maps(model, images, seeds, tap)


def _integrated_gradients(model, images, seeds, tap, options):
    return ig_maps(model, images, seeds, steps=options["steps"], baseline=options["baseline"])


METHODS: dict[str, _Method] = {
    "cmwp": _Method(_excitation(cmwp_maps), reads_layer=True, allows_input=True),
    "mwp": _Method(_excitation(mwp_maps), reads_layer=True, allows_input=True),
    "gradcam": _Method(_gradcam, reads_layer=True, allows_input=False),
    "ig": _Method(_integrated_gradients, reads_layer=False, allows_input=False,
                  path_points=lambda options: options["steps"]),
}


def _map_layer(method: _Method, method_name: str, model: nn.Module, layer, calls: list[LayerCall]):
    if not method.reads_layer:
        if layer is not None:
            raise ValueError(f"method={method_name!r} attributes to the pixels; leave layer=None")
        return None
    if isinstance(layer, str) and layer == INPUT:
        if not method.allows_input:
            raise ValueError(f"method={method_name!r} needs a spatial layer, not the input")
        return None
    tap = default_map_layer(calls) if layer is None else tap_call(calls, *resolve_layer(model, layer))
    if len(tap.shape) != 4:
        raise ValueError(f"maps are read at a spatial layer with (B, C, h, w) output; {tap.name!r} gives "
                         f"{tap.shape}. Pick a conv layer or block (or layer='input' for excitation methods)")
    return tap


def attribute(model: nn.Module, images, *, method: str = "cmwp", targets=None, layer=None,
              batch_size: int | None = None, steps: int = 32, baseline=None,
              show_progress: bool | None = None) -> np.ndarray:
    """Heatmaps ``float32 (B, T, H, W)``, non-negative, of ``targets`` of each image.

    ``model`` maps images to a (B, K) vector (class logits or x-features, e.g. an
    :class:`XFeatureModel`). ``method``: ``"cmwp"`` (contrastive excitation backprop, the
    papers' choice), ``"mwp"`` (excitation backprop), ``"gradcam"``, ``"ig"`` (integrated
    gradients, ``steps`` path points from ``baseline``, default black). ``targets``: None
    (all K outputs), output indices shared by all images, or a (B, T) index array.
    ``layer``: a module or dotted name to read maps at (default: the last spatial layer,
    i.e. the last conv block's output; ``"input"`` for pixel-level excitation maps).
    All B·T (image, target) rows go through one forward and one backward per chunk of
    ``batch_size`` rows (images are tiled at the map layer, so layers below it run once per
    image). Excitation maps are probability mass per pixel (an MWP map sums to
    the probability that reaches the layer, 1 in a fully excitatory network).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module; got {type(model).__name__}")
    chosen = METHODS.get(method)
    if chosen is None:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps (integrated-gradients path points) must be a positive integer; got {steps!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive number of rows per pass (or None); got {batch_size!r}")
    images = check_images(images)
    parameter = next(model.parameters(), None)
    if parameter is not None:
        images = images.to(device=parameter.device, dtype=parameter.dtype)
    size = tuple(images.shape[-2:])
    with attribution_state(model):
        probe_output, calls = probe_model(model, images[:1])
        index = resolve_targets(targets, images.shape[0], probe_output.shape[1])
        tap = _map_layer(chosen, method, model, layer, calls)
        options = {"steps": steps, "baseline": baseline}
        rows_per_pass = max(1, (batch_size or DEFAULT_BATCH_SIZE) // chosen.path_points(options))
        plan = RowPlan(index, probe_output.shape[1], rows_per_pass)
        blocks = plan.blocks()
        maps = torch.empty(*plan.shape, *size, dtype=torch.float32)
        bar = progress(blocks, total=len(blocks), desc=f"{method} maps",
                       disable=(len(blocks) < 2) if show_progress is None else not show_progress)
        for block in bar:
            block_maps = chosen.compute(model, images[block[0]], plan.seeds(block, images), tap, options)
            maps[block] = block_maps.detach().float().cpu().reshape(maps[block].shape)
    return maps.numpy()
