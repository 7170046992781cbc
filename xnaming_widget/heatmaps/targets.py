"""What a heatmap explains: one output of the model (a class score or an x-feature).

A target is a small callable object, so that "explain x-feature 3" and "explain class
Sneaker" are the same call. ``resolve_targets`` turns every accepted form into one
``(B, T)`` index tensor, which the batching code tiles into B·T one-hot seed rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["OutputTarget", "resolve_targets"]


@dataclass(frozen=True)
class OutputTarget:
    """Explain output ``index`` of the model: ``target(output) -> output[:, index]``."""

    index: int

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return output[..., self.index]


def _as_index(value: Any) -> int:
    if isinstance(value, OutputTarget):
        return int(value.index)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("targets must be output indices (int) or OutputTarget objects, not bool")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        return int(value.item())
    raise TypeError(f"targets must be output indices (int) or OutputTarget objects; got {value!r}")


def resolve_targets(targets: Any, n_images: int, n_outputs: int) -> torch.Tensor:
    """Index tensor ``(B, T)`` (int64, CPU) of the outputs to explain for each image.

    ``None``: all ``n_outputs`` outputs for every image; a flat sequence of ints or
    ``OutputTarget``: the same targets for every image; a ``(B, T)`` int array: per image.
    """
    if targets is None:
        index = torch.arange(n_outputs).expand(n_images, n_outputs)
    elif isinstance(targets, (OutputTarget, int, np.integer)):
        index = torch.full((n_images, 1), _as_index(targets))
    else:
        array = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else targets
        if isinstance(array, np.ndarray) and array.dtype != object:
            if array.size and not np.issubdtype(array.dtype, np.integer):
                raise TypeError(f"targets must be integer output indices; got an array of dtype {array.dtype}")
            index = torch.as_tensor(array.astype(np.int64))
        else:
            items = list(array)
            if items and isinstance(items[0], (list, tuple, np.ndarray)):
                index = torch.tensor([[_as_index(v) for v in row] for row in items], dtype=torch.int64)
            else:
                index = torch.tensor([_as_index(v) for v in items], dtype=torch.int64)
        if index.ndim == 1:
            index = index.expand(n_images, index.numel())
        elif index.ndim != 2 or index.shape[0] != n_images:
            raise ValueError(f"targets must be a flat list of output indices (the same for every image) or a "
                             f"(B, T) = ({n_images}, T) array of indices per image; got shape {tuple(index.shape)}")
    if index.shape[1] == 0:
        raise ValueError("targets is empty: give at least one output index to explain")
    bad = (index < 0) | (index >= n_outputs)
    if bool(bad.any()):
        raise IndexError(f"targets out of range: the model has {n_outputs} outputs (indices 0..{n_outputs - 1}); "
                         f"got {sorted(set(index[bad].tolist()))[:10]}")
    return index.to(torch.int64).contiguous()
