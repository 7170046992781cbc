"""Grad-CAM (Selvaraju et al. 2017): channel weights are the spatially averaged gradients.

``cam = ReLU(Σ_c α_c A_c)`` with ``α_c = mean_{h,w} ∂y/∂A_c`` at a spatial layer ``A``; upsampled
bilinearly to the image. It uses plain autograd, so it works for any differentiable model:
one forward over the images, one batched backward for all their targets.
"""
from __future__ import annotations

import torch
from torch import nn

from ._batching import check_rows, grad_per_target, per_target_rows, upsample_values
from .._torch import capture_output
from ._layers import LayerCall

__all__ = ["gradcam_maps"]


def gradcam_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, tap: LayerCall) -> torch.Tensor:
    """Grad-CAM maps (B·T, H, W) of the seeded outputs (T rows per image), read at layer call ``tap``."""
    return per_target_rows(lambda feed, block_seeds: _gradcam(model, feed, block_seeds, tap), images, seeds)


def _gradcam(model, images, seeds, tap):
    with capture_output(tap.module, tap.call, leaf=True) as captured:
        output = model(images)
    if not captured:
        raise ValueError(f"layer {tap.name!r} did not run; choose a layer on the path to the outputs")
    check_rows(output, seeds)
    activations = captured[0]
    if activations.ndim != 4:
        raise ValueError(f"Grad-CAM needs a spatial layer with (B, C, h, w) output; {tap.name!r} gives "
                         f"{tuple(activations.shape)}")
    grads = grad_per_target(output, activations, seeds)  # (B, T, C, h, w)
    weights = grads.mean(dim=(3, 4), keepdim=True)
    cam = (weights * activations.detach()[:, None]).sum(2).clamp(min=0)
    size = tuple(images.shape[-2:])
    return upsample_values(cam.flatten(0, 1), size).clamp(min=0).reshape(*cam.shape[:2], *size)
