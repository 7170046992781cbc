"""Grad-CAM (Selvaraju et al. 2017): channel weights are the spatially averaged gradients.

``cam = ReLU(Σ_c α_c A_c)`` with ``α_c = mean_{h,w} ∂y/∂A_c`` at a spatial layer ``A``; upsampled
bilinearly to the image. It uses plain autograd, so it works for any differentiable model.
"""
from __future__ import annotations

import torch
from torch import nn

from ._batching import RowMismatch, tile_rows, tiled_forward, upsample_values
from ._layers import LayerCall

__all__ = ["gradcam_maps"]


def gradcam_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, tap: LayerCall) -> torch.Tensor:
    """Grad-CAM maps (B·T, H, W) of the seeded outputs (T rows per image), read at layer call ``tap``."""
    return tiled_forward(lambda feed, repeats: _gradcam(model, feed, seeds, tap, repeats), images, seeds.shape[0])


def _gradcam(model, images, seeds, tap, repeats):
    captured: list[torch.Tensor] = []
    calls = [0]

    def capture(module, args, output):
        call, calls[0] = calls[0], calls[0] + 1
        if call != tap.call:
            return None
        leaf = tile_rows(output.detach(), repeats).requires_grad_()
        captured.append(leaf)
        return leaf.clone()  # later in-place modules must not touch the captured activations

    hook = tap.module.register_forward_hook(capture)
    try:
        output = model(images)
    finally:
        hook.remove()
    if not captured:
        raise ValueError(f"layer {tap.name!r} did not run; choose a layer on the path to the outputs")
    if output.shape[0] != seeds.shape[0]:
        raise RowMismatch
    activations = captured[0]
    if activations.ndim != 4:
        raise ValueError(f"Grad-CAM needs a spatial layer with (B, C, h, w) output; {tap.name!r} gives "
                         f"{tuple(activations.shape)}")
    (grads,) = torch.autograd.grad(output, activations, seeds.to(output.dtype), allow_unused=True)
    if grads is None:
        grads = torch.zeros_like(activations)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = (weights * activations.detach()).sum(1).clamp(min=0)
    return upsample_values(cam, tuple(images.shape[-2:])).clamp(min=0)
