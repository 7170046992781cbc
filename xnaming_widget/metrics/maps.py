"""Orthogonality and locality of x-feature heatmaps (definitions §4; XNN paper §4.2 and Algorithm 1).

Both are pure functions of arrays. Maps are normalised to sum 1 per (image, x-feature) before
anything is measured, so a method's overall scale never matters.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

_CHUNK_IMAGES = 64  # images per vectorised step: bounds memory to ~64·P·H·W floats


def _as_numpy(array: Any, name: str) -> np.ndarray:
    """A float64 numpy copy of a numpy array or torch tensor, with a clear error otherwise."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numpy array or torch tensor of numbers, "
                        f"got {type(array).__name__}") from error


def _maps_4d(maps: Any) -> np.ndarray:
    """Maps as (N, n, H, W); a single image's (n, H, W) becomes (1, n, H, W)."""
    maps = _as_numpy(maps, "maps")
    if maps.ndim == 3:
        maps = maps[None]
    if maps.ndim != 4:
        raise ValueError(f"maps must have shape (N, n, H, W) (images, x-features, height, width) "
                         f"or (n, H, W) for one image; got shape {maps.shape}")
    if not np.isfinite(maps).all():
        raise ValueError("maps contain NaN or infinite values; compute them again or "
                         "replace those values before measuring")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (heatmaps are probabilities); "
                         "clip them with np.clip(maps, 0, None) first")
    return maps


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """Scale every (image, x-feature) map to sum 1; all-zero maps stay zero."""
    totals = maps.sum(axis=(-2, -1), keepdims=True)
    return np.divide(maps, totals, out=np.zeros_like(maps), where=totals > 0)


def map_correlation(maps: Any) -> np.ndarray:
    """The n×n correlation matrix P of x-feature maps pooled over images and pixels.

    Each map is centred on its own image's mean, and the per-image covariances are summed
    (pooled within-image covariance). For maps normalised to sum 1 every per-image mean is
    1/(H·W), so this equals the covariance of the maps concatenated over the data set.
    """
    maps = normalize_maps(_maps_4d(maps))
    n_images, n_features = maps.shape[:2]
    flat = maps.reshape(n_images, n_features, -1)
    covariance = np.zeros((n_features, n_features))
    for start in range(0, n_images, _CHUNK_IMAGES):
        chunk = flat[start:start + _CHUNK_IMAGES]
        centred = chunk - chunk.mean(axis=-1, keepdims=True)
        covariance += np.einsum("mkd,mld->kl", centred, centred)
    scale = np.sqrt(np.diag(covariance))
    if (scale <= 0).any():
        dead = np.flatnonzero(scale <= 0).tolist()
        warnings.warn(f"x-features {dead} have constant maps on every image, so their "
                      "correlation is undefined (NaN)", RuntimeWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        return covariance / np.outer(scale, scale)


def orthogonality(maps: Any) -> tuple[float, float]:
    """(O1, O2) of x-feature heatmaps: O1 = ‖P‖_F − √n, O2 = −log det P; 0 is best for both.

    ``maps``: (N, n, H, W) non-negative heatmaps of n x-features on N images (or (n, H, W)).
    P is the correlation matrix of :func:`map_correlation`. Identical maps give
    O1 = n − √n and O2 = +inf; maps of a constant x-feature give NaN (with a warning).
    """
    correlation = map_correlation(maps)
    n_features = correlation.shape[0]
    if np.isnan(correlation).any():
        return math.nan, math.nan
    o1 = float(np.linalg.norm(correlation, "fro") - math.sqrt(n_features))
    sign, logdet = np.linalg.slogdet(correlation)
    o2 = float(-logdet) if sign > 0 else math.inf
    return o1, o2


@dataclass(frozen=True)
class Locality:
    """Locality of each x-feature (definitions §4): lower entropy = fewer parts = more local.

    ``histogram[k, p]``: the normalised part histogram of x-feature k over the parts in
    ``part_names`` (the last one is ``"context"``, the mass outside the object's box);
    ``entropy[k]``: its entropy in nats; ``mean``: the average over x-features (NaN-safe).
    """

    entropy: np.ndarray
    histogram: np.ndarray
    part_names: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        """Mean entropy over x-features that received any mass."""
        finite = self.entropy[np.isfinite(self.entropy)]
        return float(finite.mean()) if finite.size else math.nan


def part_weights(keypoints: Any, boxes: Any, height: int, width: int) -> np.ndarray:
    """P(part | pixel) of Algorithm 1 for each image: (N, P + 1, H, W), the last is context.

    Inside the box, a pixel belongs to the Voronoi cell of its nearest present keypoint and
    weighs ``1 − d̄`` there (d̄: distance over the largest distance in that cell; a cell of
    one pixel weighs 1). Pixels outside the box weigh 1 for context and 0 for every part.
    """
    keypoints = _as_numpy(keypoints, "keypoints")
    boxes = _as_numpy(boxes, "boxes")
    rows = np.arange(height, dtype=np.float64)[:, None]
    cols = np.arange(width, dtype=np.float64)[None, :]
    in_box = ((rows[None] >= boxes[:, 0, None, None]) & (rows[None] < boxes[:, 2, None, None])
              & (cols[None] >= boxes[:, 1, None, None]) & (cols[None] < boxes[:, 3, None, None]))
    row_offsets = rows[None, None] - keypoints[:, :, 0, None, None]
    col_offsets = cols[None, None] - keypoints[:, :, 1, None, None]
    distance = np.sqrt(row_offsets ** 2 + col_offsets ** 2)  # (N, P, H, W); NaN for absent parts
    present = ~np.isnan(keypoints).any(axis=-1)  # (N, P)
    distance = np.where(present[:, :, None, None], distance, np.inf)
    nearest = distance.argmin(axis=1)  # ties go to the lower part index
    any_present = present.any(axis=1)[:, None, None]
    n_parts = keypoints.shape[1]
    cell = (nearest[:, None] == np.arange(n_parts)[None, :, None, None]) & (in_box & any_present)[:, None]
    cell_distance = np.where(cell, distance, 0.0)
    largest = cell_distance.max(axis=(-2, -1), keepdims=True)
    relative = np.divide(cell_distance, largest, out=np.zeros_like(cell_distance),
                         where=largest > 0)
    weights = np.where(cell, 1.0 - relative, 0.0)
    context = (~in_box).astype(np.float64)[:, None]
    return np.concatenate([weights, context], axis=1)


def locality(maps: Any, keypoints: Any, boxes: Any,
             part_names: Sequence[str] | None = None) -> Locality:
    """Locality (definitions §4, XNN paper Algorithm 1) of x-feature heatmaps with part keypoints.

    ``maps``: (N, n, H, W) heatmaps (or (N, H, W) for one x-feature); ``keypoints``:
    (N, P, 2) (row, col) pixels, NaN for parts an image lacks; ``boxes``: (N, 4) object boxes
    (row0, col0, row1, col1), inclusive-exclusive. Each map is normalised to sum 1, its mass
    split over parts by :func:`part_weights`, the part histograms averaged over images and
    normalised, and the entropy taken per x-feature.
    """
    raw = _as_numpy(maps, "maps")
    maps = _maps_4d(raw[:, None] if raw.ndim == 3 else raw)
    keypoints = _as_numpy(keypoints, "keypoints")
    boxes = _as_numpy(boxes, "boxes")
    n_images, n_features, height, width = maps.shape
    if keypoints.ndim != 3 or keypoints.shape[0] != n_images or keypoints.shape[2] != 2:
        raise ValueError(f"keypoints must have shape (N, P, 2) = ({n_images}, parts, 2) as "
                         f"(row, col) pixels for the N={n_images} images of maps; "
                         f"got shape {keypoints.shape}")
    if boxes.shape != (n_images, 4):
        raise ValueError(f"boxes must have shape (N, 4) = ({n_images}, 4) as "
                         f"(row0, col0, row1, col1); got shape {boxes.shape}")
    n_parts = keypoints.shape[1]
    if part_names is None:
        part_names = [f"part{p}" for p in range(n_parts)]
    part_names = [str(name) for name in part_names]
    if len(part_names) != n_parts:
        raise ValueError(f"part_names has {len(part_names)} names but keypoints have "
                         f"{n_parts} parts; give one name per part (context is added)")
    maps = normalize_maps(maps)
    histogram = np.zeros((n_features, n_parts + 1))
    for start in range(0, n_images, _CHUNK_IMAGES):
        stop = start + _CHUNK_IMAGES
        weights = part_weights(keypoints[start:stop], boxes[start:stop], height, width)
        histogram += np.einsum("mkhw,mphw->kp", maps[start:stop], weights)
    histogram /= n_images
    totals = histogram.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        probabilities = histogram / totals
        terms = np.where(probabilities > 0, -probabilities * np.log(probabilities), 0.0)
    entropy = np.where(totals[:, 0] > 0, terms.sum(axis=1), np.nan)
    return Locality(entropy=entropy, histogram=probabilities, part_names=part_names + ["context"])
