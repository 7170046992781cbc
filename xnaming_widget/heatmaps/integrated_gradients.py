"""Integrated gradients (Sundararajan et al. 2017) at the pixels.

``IG_i = (x_i − x'_i) · mean_α ∂y(x' + α(x − x'))/∂x_i`` over ``steps`` midpoints α of [0, 1],
so ``Σ_i IG_i ≈ y(x) − y(x')`` (completeness). The map is the channel sum, positive part
(the evidence for the target, as the other methods show).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["integrated_gradients", "ig_maps"]


def integrated_gradients(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, *, steps: int = 32,
                         baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Signed attributions (B·T, C, H, W) of seeded rows (T per image); all path points in one pass."""
    rows = images.repeat_interleave(seeds.shape[0] // images.shape[0], dim=0)
    if steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps}")
    baseline = torch.zeros_like(rows) if baseline is None else torch.as_tensor(
        baseline, dtype=rows.dtype, device=rows.device).expand_as(rows)
    alphas = (torch.arange(steps, dtype=rows.dtype, device=rows.device) + 0.5) / steps
    delta = rows - baseline
    path = (baseline[None] + alphas.view(-1, 1, 1, 1, 1) * delta[None]).reshape(-1, *rows.shape[1:])
    path.requires_grad_()
    output = model(path)
    (grads,) = torch.autograd.grad(output, path, seeds.to(output.dtype).repeat(steps, 1), allow_unused=True)
    if grads is None:
        return torch.zeros_like(rows)
    return delta * grads.reshape(steps, *rows.shape).mean(0)


def ig_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, *, steps: int = 32,
            baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Integrated-gradients maps (B·T, H, W): channel sum of the attributions, positive part."""
    return integrated_gradients(model, images, seeds, steps=steps, baseline=baseline).sum(1).clamp(min=0)
