"""One forward per block of images, all targets in one backward; chunking; resizing maps.

definitions §4: all T targets of B images cost one forward over the B images and one backward
that carries the T targets of each image at once (a target axis, vmapped), whatever the
model's code does with the batch size. Only where that backward cannot be batched (an
operation without a vmap rule) are the images tiled T times at the input instead, with a
warning.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["RowPlan", "BatchingUnsupported", "tile_rows", "per_target_rows", "check_rows", "grad_per_target",
           "upsample_mass", "upsample_values"]


class BatchingUnsupported(Exception):
    """The backward pass could not carry all targets at once: tile at the input instead."""


def tile_rows(tensor: torch.Tensor, repeats: int) -> torch.Tensor:
    """Each row ``repeats`` times in a row: (B, ...) -> (B·repeats, ...)."""
    return tensor if repeats == 1 else tensor.repeat_interleave(repeats, dim=0)


def check_rows(output: torch.Tensor, seeds: torch.Tensor) -> None:
    """The model gave one output row per image (``seeds`` is (B, T, K))."""
    if output.ndim != 2 or output.shape[0] != seeds.shape[0]:
        raise ValueError(f"the model gave outputs of shape {tuple(output.shape)} for {seeds.shape[0]} images; "
                         "it must give one (K,) row per image")


def per_target_rows(run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], images: torch.Tensor,
                    seeds: torch.Tensor) -> torch.Tensor:
    """``run(images (B, ...), seeds (B, T, K)) -> (B, T, ...)`` as (B·T, ...) rows, image-major.

    ``seeds`` (B·T, K) are T rows per image. If ``run`` raises :class:`BatchingUnsupported`,
    the images are tiled T times and run with one target each (one warning).
    """
    n_images = images.shape[0]
    repeats, remainder = divmod(seeds.shape[0], n_images)
    if remainder:
        raise ValueError(f"{seeds.shape[0]} seed rows cannot be split evenly over {n_images} images")
    try:
        return run(images, seeds.reshape(n_images, repeats, -1)).flatten(0, 1)
    except BatchingUnsupported as error:
        warnings.warn(f"heatmaps: the backward pass could not carry all {repeats} targets at once ({error}); "
                      f"tiling the images at the input instead, so each target costs a forward pass",
                      RuntimeWarning, stacklevel=2)
        return run(tile_rows(images, repeats), seeds[:, None]).flatten(0, 1)


def grad_per_target(output: torch.Tensor, inputs: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
    """Gradients (B, T, ...) of the seeded outputs: ``seeds`` (B, T, K) on ``output`` (B, K).

    One backward for all T targets (``is_grads_batched``); raises :class:`BatchingUnsupported`
    where an operation of the model has no batching rule.
    """
    seeds = seeds.to(output.dtype)
    if seeds.shape[1] == 1:
        (grads,) = torch.autograd.grad(output, inputs, seeds[:, 0], allow_unused=True)
        return torch.zeros_like(inputs)[:, None] if grads is None else grads[:, None]
    try:
        (grads,) = torch.autograd.grad(output, inputs, seeds.transpose(0, 1), is_grads_batched=True,
                                       allow_unused=True)
    except RuntimeError as error:
        raise BatchingUnsupported(str(error).splitlines()[0]) from error
    if grads is None:
        return torch.zeros_like(inputs)[:, None].expand(-1, seeds.shape[1], *inputs.shape[1:])
    return grads.transpose(0, 1)


class RowPlan:
    """Blocks of (images × targets) of at most ``batch_size`` rows; row order is image-major."""

    def __init__(self, target_index: torch.Tensor, n_outputs: int, batch_size: int):
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive number of rows; got {batch_size}")
        self.target_index = target_index
        self.shape = tuple(target_index.shape)
        self.n_outputs = n_outputs
        n_images, n_targets = self.shape
        self.targets_per_block = min(n_targets, batch_size)
        self.images_per_block = max(1, batch_size // self.targets_per_block)

    def blocks(self) -> list[tuple[slice, slice]]:
        """(image range, target range) of each pass."""
        n_images, n_targets = self.shape
        return [(slice(b, min(b + self.images_per_block, n_images)), slice(t, min(t + self.targets_per_block,
                                                                                   n_targets)))
                for t in range(0, n_targets, self.targets_per_block)
                for b in range(0, n_images, self.images_per_block)]

    def seeds(self, block: tuple[slice, slice], like: torch.Tensor) -> torch.Tensor:
        """One-hot seed rows (n_images·n_targets, K) of a block, image-major."""
        index = self.target_index[block].reshape(-1)
        return F.one_hot(index, self.n_outputs).to(device=like.device, dtype=like.dtype)


def upsample_values(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N, h, w) maps to (N, H, W) (values, as Grad-CAM is shown)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def upsample_mass(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of probability maps that keeps each map's total mass (sum over pixels)."""
    resized = upsample_values(maps, size).clamp(min=0)
    before = maps.sum(dim=(-2, -1), keepdim=True)
    after = resized.sum(dim=(-2, -1), keepdim=True)
    return torch.where(after > 0, resized * before / torch.where(after > 0, after, torch.ones_like(after)),
                       resized)
