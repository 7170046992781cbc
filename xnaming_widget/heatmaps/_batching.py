"""Tiling images into (image, target) rows, chunking them, and resizing maps to the image.

definitions §4: all T targets of B images cost one forward and one backward over B·T rows, each
row seeded with a one-hot on its target. Layer-based methods tile at the map layer (the
part of the network below it gets no backward, so each image runs there once); when the
model's code cannot take more rows above a layer than it was given (e.g. it reshapes with
the input's batch size), the images are tiled at the input instead.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["RowPlan", "RowMismatch", "tile_rows", "tiled_forward", "upsample_mass", "upsample_values"]


class RowMismatch(Exception):
    """The model's output does not have one row per (image, target): tile at the input instead."""


def tile_rows(tensor: torch.Tensor, repeats: int) -> torch.Tensor:
    """Each row ``repeats`` times in a row: (B, ...) -> (B·repeats, ...)."""
    return tensor if repeats == 1 else tensor.repeat_interleave(repeats, dim=0)


def tiled_forward(run: Callable[[torch.Tensor, int], torch.Tensor], images: torch.Tensor,
                  n_rows: int) -> torch.Tensor:
    """``run(images, repeats)`` tiling at the map layer, or ``run(tiled images, 1)`` if the model refuses."""
    repeats, remainder = divmod(n_rows, images.shape[0])
    if remainder:
        raise ValueError(f"{n_rows} seed rows cannot be split evenly over {images.shape[0]} images")
    if repeats == 1:
        return run(images, 1)
    try:
        return run(images, repeats)
    except (RuntimeError, RowMismatch):
        return run(tile_rows(images, repeats), 1)


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
