"""Where the naming maps are read by default: the rule ``build_activations`` uses for any model.

People name what they see in a heatmap, so the default layer is chosen for maps that land on
the object and still read as regions (measured with ``metrics.on_object``; ``bench/on_object.py``
prints the figures):

1. **Small images** (shorter side at most ``PIXEL_LEVEL_MAX_SIDE`` = 64 px) with an
   excitation method (c-MWP, MWP): the **input**, i.e. pixel-level maps. On a small image
   every conv layer's map spills past the object's outline by its receptive field, a large
   share of the image: on the demo CNN (Fashion-MNIST Sneaker and Bag, significant
   x-features) c-MWP puts 0.98 of its mass on the garment at the input, 0.70-0.82 after the
   first conv layer and 0.44-0.56 at the last conv block (the former default).
2. **Otherwise** the last layer whose maps are at least ``MIN_MAP_SIDE`` = 14 cells on their
   shorter side (EfficientNet-Lite0 at 224 px: ``_blocks.10``, 14×14). Finer maps are grainy
   at the pixel level and the last conv block's 7×7 cells are coarse; at 14×14 top-1 maps of
   real photographs point inside a box around the object. Modules inside a residual block
   (its expansion or depthwise convs) are not candidates: the block's output is.
   A model with no such layer gets the spatial layer with the finest maps (the last of them).

Grad-CAM and other methods that cannot read the input follow rule 2. A small-image model that
changes its input with tensor operations outside modules (say ``(x - 0.5) / 0.5`` in its
``forward``) cannot be read at the input: excitation backprop refuses it with
``UnsupportedModelError``; put the normalisation in the data, or pass a layer. Pass
``attribute_kwargs={"layer": ...}`` to ``build_activations`` (or ``layer=`` to
``heatmaps.attribute``) to choose another layer.
"""
from __future__ import annotations

import torch
from torch import nn

from ._layers import INPUT, LayerCall, check_images, probe_model
from ._residual import residual_layout

__all__ = ["naming_map_layer", "MIN_MAP_SIDE", "PIXEL_LEVEL_MAX_SIDE", "PIXEL_LEVEL_METHODS"]

MIN_MAP_SIDE = 14
PIXEL_LEVEL_MAX_SIDE = 64
PIXEL_LEVEL_METHODS = ("cmwp", "mwp")  # methods whose maps can be read at the input


def _candidates(model: nn.Module, calls: list[LayerCall]) -> list[LayerCall]:
    """Spatial module calls (B, C, h, w), not inside a residual block and not adaptive pools."""
    inside_blocks = [name + "." for name, module in model.named_modules()
                     if name and residual_layout(module) is not None]
    kept = []
    for call in calls:
        if len(call.shape) != 4 or call.shape[2] * call.shape[3] <= 1:
            continue
        if isinstance(call.module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            continue
        if any(call.name.startswith(prefix) for prefix in inside_blocks):
            continue
        kept.append(call)
    return kept


def probe_calls(model: nn.Module, images) -> list[LayerCall]:
    """Every module call of ``model`` on the first of ``images`` (in eval mode, without
    gradients, on the model's device and dtype), in completion order."""
    images = check_images(images)
    parameter = next(model.parameters(), None)
    first = images[:1] if parameter is None else images[:1].to(device=parameter.device, dtype=parameter.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return probe_model(model, first)[1]
    finally:
        model.train(was_training)


def naming_map_layer(model: nn.Module, images, method: str = "cmwp", *, min_side: int = MIN_MAP_SIDE,
                     pixel_level_max_side: int = PIXEL_LEVEL_MAX_SIDE) -> str:
    """The layer to read naming maps of ``model`` at, by the rule in this module's docstring.

    ``images``: a batch ``(B, C, H, W)`` as the model takes them (only the first one is run,
    to see the layers' output shapes). Returns ``"input"`` or a dotted module name of
    ``model`` (as in ``model.named_modules()``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module; got {type(model).__name__}")
    if min_side < 1 or pixel_level_max_side < 0:
        raise ValueError(f"min_side must be >= 1 and pixel_level_max_side >= 0; got {min_side} and "
                         f"{pixel_level_max_side}")
    images = check_images(images)
    if method in PIXEL_LEVEL_METHODS and min(images.shape[-2:]) <= pixel_level_max_side:
        return INPUT
    candidates = _candidates(model, probe_calls(model, images))
    if not candidates:
        raise ValueError("the model has no layer with a spatial (B, C, h, w) output to read maps at; pass "
                         "attribute_kwargs={'layer': ...} explicitly, or use method='ig' for pixel-level maps")
    fine_enough = [call for call in candidates if min(call.shape[2:]) >= min_side]
    if fine_enough:
        return fine_enough[-1].name
    finest = max(call.shape[2] * call.shape[3] for call in candidates)
    return [call for call in candidates if call.shape[2] * call.shape[3] == finest][-1].name
