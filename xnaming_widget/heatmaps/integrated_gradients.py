"""Integrated gradients (Sundararajan et al. 2017) at the pixels.

``IG_i = (x_i − x'_i) · mean_α ∂y(x' + α(x − x'))/∂x_i`` over ``steps`` midpoints α of [0, 1],
so ``Σ_i IG_i ≈ y(x) − y(x')`` (completeness). The map is the channel sum, positive part
(the evidence for the target, as the other methods show).
"""
from __future__ import annotations

import torch
from torch import nn

from ._batching import check_rows, grad_per_target, per_target_rows

__all__ = ["integrated_gradients", "ig_maps"]


def integrated_gradients(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, *, steps: int = 32,
                         baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Signed attributions (B·T, C, H, W) of seeded rows (T per image).

    All path points of all images go through one forward; all targets through one backward.
    ``baseline``: None (black), or a tensor that broadcasts to ``images`` (checked by ``attribute``).
    """
    if steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps}")
    base = torch.zeros_like(images) if baseline is None else torch.as_tensor(
        baseline, dtype=images.dtype, device=images.device).expand_as(images)

    def run(feed, block_seeds):
        rows = feed.shape[0]
        start = base if rows == base.shape[0] else base.repeat_interleave(rows // base.shape[0], dim=0)
        alphas = (torch.arange(steps, dtype=feed.dtype, device=feed.device) + 0.5) / steps
        delta = feed - start
        path = (start[None] + alphas.view(-1, 1, 1, 1, 1) * delta[None]).reshape(-1, *feed.shape[1:])
        path.requires_grad_()
        output = model(path)
        path_seeds = block_seeds.repeat(steps, 1, 1)
        check_rows(output, path_seeds)
        grads = grad_per_target(output, path, path_seeds)  # (steps·B, T, C, H, W)
        return delta[:, None] * grads.reshape(steps, rows, *grads.shape[1:]).mean(0)

    return per_target_rows(run, images, seeds)


def ig_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, *, steps: int = 32,
            baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Integrated-gradients maps (B·T, H, W): channel sum of the attributions, positive part."""
    return integrated_gradients(model, images, seeds, steps=steps, baseline=baseline).sum(1).clamp(min=0)
