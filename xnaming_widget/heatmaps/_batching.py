"""Tiling images into (image, target) rows, chunking the rows, and resizing maps to the image."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["RowPlan", "upsample_mass", "upsample_values"]


class RowPlan:
    """Row ``k = b·T + t`` holds image ``b`` seeded with a one-hot on its ``t``-th target (SPEC §4)."""

    def __init__(self, target_index: torch.Tensor, n_outputs: int, batch_size: int):
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive number of rows; got {batch_size}")
        n_images, n_targets = target_index.shape
        self.shape = (n_images, n_targets)
        self.image_of_row = torch.arange(n_images).repeat_interleave(n_targets)
        self.target_of_row = target_index.reshape(-1)
        self.n_outputs = n_outputs
        self.batch_size = batch_size

    @property
    def n_rows(self) -> int:
        return int(self.image_of_row.numel())

    def chunks(self) -> list[slice]:
        """Row ranges of at most ``batch_size`` rows: one forward and one backward each."""
        return [slice(start, min(start + self.batch_size, self.n_rows))
                for start in range(0, self.n_rows, self.batch_size)]

    def rows(self, images: torch.Tensor, chunk: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """The tiled images of a chunk and their one-hot seeds (N, K)."""
        index = self.image_of_row[chunk].to(images.device)
        seeds = F.one_hot(self.target_of_row[chunk], self.n_outputs).to(device=images.device,
                                                                         dtype=images.dtype)
        return images.index_select(0, index), seeds


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
