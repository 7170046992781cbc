"""Do heatmaps land on the object? On-object measures of maps, and the one rule for where a map peaks.

People name what they see in a heatmap; a map on the image's edge or on the background has
nothing to name (the naming papers list such activations as a main reason people leave one
unnamed). These pure functions measure that, for any maps and any object masks:

- :func:`mass_on_mask`: the share of a map's mass that lies on the object;
- :func:`pointing`: whether the map's peak (:func:`map_peaks`) lies on the object (the
  pointing game);
- :func:`peak_at_border`: whether the peak lies in a frame along the image's edge;
- :func:`energy_ratio`: the mass share on a mask divided by the mask's share of the image
  (1 is what a flat map scores; above 1 the map concentrates on the mask);
- :func:`region_share`: how much of a map's hot part forms one connected region (a person
  sees a region, not speckle);
- :func:`on_object`: all of them per map, as a table whose ``.mean()`` is the summary.

:func:`map_peaks` is *the* definition of where a map peaks, used wherever the project needs
one (the demo's simulated people, ``analysis.parts_under_peak``, the README images): the
centre of the map's hottest ``window × window`` patch, so a lone hot pixel beside a warm
region does not win, as it would not for a person looking at the thumbnail.

Masks come from :func:`foreground_masks` (pixels brighter than a threshold, e.g.
Fashion-MNIST's garments on black), :func:`part_masks` (the parts data set's part map),
:func:`box_masks` (its boxes, or boxes a user draws) and :func:`border_mask`.

Shapes: maps are ``(..., H, W)`` (e.g. ``(R, H, W)`` or ``(N, T, H, W)``), non-negative.
Masks are boolean ``(..., H, W)`` whose leading axes match the maps' first axes (or are 1):
``(H, W)`` for all maps, ``(N, H, W)`` for ``(N, T, H, W)`` maps (one mask per image). A map that is
zero everywhere has no mass and no peak: its measures are NaN, and the summary's means skip it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["map_peaks", "peak_window", "foreground_masks", "box_masks", "part_masks", "border_mask",
           "mass_on_mask", "pointing", "peak_at_border", "energy_ratio", "region_share", "on_object",
           "activation_set_on_object", "FOREGROUND_THRESHOLD", "BORDER"]

FOREGROUND_THRESHOLD = 0.05  # a Fashion-MNIST pixel is the garment when brighter than this (of 1)
BORDER = 2  # pixels: a peak in the frame this wide along the image's edge is "at the border"


# ----------------------------------------------------------------------------- inputs

def _array(value: Any, name: str, dtype=np.float64) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numpy array or torch tensor; got {type(value).__name__}") from error


def _maps(maps: Any) -> np.ndarray:
    """Maps as float64 ``(..., H, W)``: finite, non-negative, at least 2-d."""
    maps = _array(maps, "maps")
    if maps.ndim < 2:
        raise ValueError(f"maps must have shape (..., H, W), e.g. (R, H, W); got shape {maps.shape}")
    if maps.shape[-1] == 0 or maps.shape[-2] == 0:
        raise ValueError(f"maps must have at least one pixel; got shape {maps.shape}")
    if not np.isfinite(maps).all():
        raise ValueError("maps contain NaN or infinite values; compute them again or replace those values")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (heatmaps are mass per pixel); clip them with "
                         "np.clip(maps, 0, None) first")
    return maps


def _masks_for(masks: Any, maps: np.ndarray) -> np.ndarray:
    """Boolean masks shaped to broadcast against ``maps`` (leading axes aligned from the left)."""
    masks = _array(masks, "masks", dtype=None)
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise ValueError("masks must be boolean (or 0/1): True where the object is")
        masks = masks.astype(bool)
    if masks.ndim < 2 or masks.shape[-2:] != maps.shape[-2:]:
        raise ValueError(f"masks must have shape (..., H, W) with the maps' H, W {maps.shape[-2:]}; "
                         f"got {masks.shape}")
    lead, lead_maps = masks.shape[:-2], maps.shape[:-2]
    if len(lead) > len(lead_maps) or any(a not in (1, b) for a, b in zip(lead, lead_maps)):
        raise ValueError(f"masks' leading axes {lead} must match the first axes of the maps' {lead_maps} "
                         "(one mask per image, or one (H, W) mask for all maps)")
    return masks.reshape(lead + (1,) * (len(lead_maps) - len(lead)) + masks.shape[-2:])


def _nan_where(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    return np.where(empty, np.nan, values.astype(np.float64))


# ----------------------------------------------------------------------------- peaks

def peak_window(height: int, width: int) -> int:
    """The side of the patch :func:`map_peaks` sums over: about a ninth of the shorter image
    side, odd, at least 3 (3 up to 35 px, 7 for 64 px, 25 for 224 px)."""
    return 2 * max(1, min(int(height), int(width)) // 18) + 1


def _box_sums(maps: np.ndarray, window: int) -> np.ndarray:
    """Sum of every ``window × window`` patch centred on each pixel (zeros beyond the edge)."""
    half = window // 2
    padded = np.pad(maps, [(0, 0)] * (maps.ndim - 2) + [(half + 1, half), (half + 1, half)])
    table = padded.cumsum(-2).cumsum(-1)  # table[i, j] = sum of padded[:i, :j] (row/col 0 are zeros)
    H, W = maps.shape[-2:]
    return (table[..., window:window + H, window:window + W] - table[..., :H, window:window + W]
            - table[..., window:window + H, :W] + table[..., :H, :W])


def map_peaks(maps: Any, *, window: int | None = None) -> np.ndarray:
    """Where each map peaks: int64 ``(..., 2)`` (row, col) pixel coordinates.

    The peak is the centre of the map's hottest ``window × window`` patch (default
    :func:`peak_window`; pixels beyond the image's edge count as zero): what a person looking
    at the heatmap calls its hot spot, not a lone hot pixel. Ties (patches with equal sums, up
    to rounding) go to the hotter centre pixel, then to the first in row-major order. An
    all-zero map has no peak: its coordinates are (-1, -1).
    """
    maps = _maps(maps)
    H, W = maps.shape[-2:]
    window = peak_window(H, W) if window is None else window
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number of pixels; got {window!r}")
    lead = maps.shape[:-2]
    flat = maps.reshape(-1, H, W)
    if not len(flat):
        return np.zeros(lead + (2,), np.int64)
    patches = _box_sums(flat, int(window)).reshape(len(flat), -1)
    best = patches.max(axis=1, keepdims=True)
    candidates = patches >= best - 1e-9 * np.abs(best)  # equal patch sums up to rounding
    index = np.where(candidates, flat.reshape(len(flat), -1), -np.inf).argmax(axis=1)
    rows, cols = np.divmod(index, W)
    empty = ~flat.reshape(len(flat), -1).any(axis=1)
    peaks = np.stack([np.where(empty, -1, rows), np.where(empty, -1, cols)], axis=1).astype(np.int64)
    return peaks.reshape(lead + (2,))


def _value_at(masks: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """``masks`` (broadcast to the peaks' leading shape) read at each peak (False for no peak)."""
    lead = peaks.shape[:-1]
    full = np.broadcast_to(masks, lead + masks.shape[-2:]).reshape(-1, *masks.shape[-2:])
    rows, cols = peaks.reshape(-1, 2).T
    hit = full[np.arange(len(full)), np.maximum(rows, 0), np.maximum(cols, 0)] & (rows >= 0)
    return hit.reshape(lead)


# ----------------------------------------------------------------------------- masks

def foreground_masks(images: Any, threshold: float = FOREGROUND_THRESHOLD) -> np.ndarray:
    """Boolean ``(N, H, W)``: the pixels brighter than ``threshold`` (of 1): the object on a dark ground.

    ``images``: ``(N, H, W)``, ``(N, C, H, W)`` (model input, channels first) or uint8
    ``(N, H, W, 3)`` display pixels (divided by 255); a pixel's brightness is its brightest
    channel. Fashion-MNIST's garments lie on black, so ``threshold=0.05`` keeps each
    garment and drops the background (about 0.3 of each image).
    """
    images = _array(images, "images", dtype=None)
    if images.ndim == 4 and images.shape[-1] == 3 and images.dtype == np.uint8:
        pixels = images.max(axis=-1).astype(np.float64) / 255.0
    elif images.ndim == 4:
        pixels = images.astype(np.float64).max(axis=1)
    elif images.ndim == 3:
        pixels = images.astype(np.float64) / (255.0 if images.dtype == np.uint8 else 1.0)
    else:
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or uint8 (N, H, W, 3); got {images.shape}")
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold is a brightness in [0, 1); got {threshold}")
    return pixels > threshold


def box_masks(boxes: Any, shape: tuple[int, int]) -> np.ndarray:
    """Boolean masks of boxes ``(row0, col0, row1, col1)``, inclusive-exclusive, in pixels.

    ``boxes``: ``(4,)`` one box, ``(N, 4)`` one per image (the parts data set's ``.boxes``,
    or boxes a user draws), or ``(N, K, 4)`` several per image (their union; a box of NaNs
    is no box). ``shape``: the images' ``(H, W)``. A pixel is inside when its centre is:
    ``row0 <= r + 0.5 < row1`` (for whole-pixel boxes, rows row0 .. row1 - 1).
    Returns ``(H, W)``, ``(N, H, W)`` or ``(N, H, W)`` respectively.
    """
    boxes = _array(boxes, "boxes")
    if boxes.ndim not in (1, 2, 3) or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (4,), (N, 4) or (N, K, 4) as (row0, col0, row1, col1); got {boxes.shape}")
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be the images' (H, W); got {shape}")
    valid = np.isfinite(boxes).all(axis=-1)
    if (valid & ((boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1]))).any():
        raise ValueError("each box must have row0 <= row1 and col0 <= col1 (inclusive-exclusive corners)")
    centres_r = np.arange(shape[0]) + 0.5
    centres_c = np.arange(shape[1]) + 0.5
    b = np.where(valid[..., None], boxes, 0.0)[..., None, None, :]
    inside = ((b[..., 0] <= centres_r[:, None]) & (centres_r[:, None] < b[..., 2])
              & (b[..., 1] <= centres_c[None, :]) & (centres_c[None, :] < b[..., 3]) & valid[..., None, None])
    return inside.any(axis=1) if boxes.ndim == 3 else inside


def part_masks(part_map: Any, parts: Any = None) -> np.ndarray:
    """Boolean ``(N, H, W)`` from the parts data set's ``part_map`` (part index per pixel, -1 for none).

    ``parts=None``: every visible part, i.e. the whole object; an index or a list of indices:
    those parts only.
    """
    part_map = _array(part_map, "part_map", dtype=None)
    if part_map.ndim < 2 or not np.issubdtype(part_map.dtype, np.integer):
        raise ValueError(f"part_map must be integer (N, H, W) part indices (-1: no part); got "
                         f"{part_map.dtype} {part_map.shape}")
    if parts is None:
        return part_map >= 0
    return np.isin(part_map, np.atleast_1d(np.asarray(parts, dtype=np.int64)))


def border_mask(shape: tuple[int, int], width: int = BORDER) -> np.ndarray:
    """Boolean ``(H, W)``: the frame ``width`` pixels wide along the image's edge."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"width must be a whole number of pixels >= 0; got {width!r}")
    rows, cols = np.arange(shape[0]), np.arange(shape[1])
    near_r = (rows < width) | (rows >= shape[0] - width)
    near_c = (cols < width) | (cols >= shape[1] - width)
    return near_r[:, None] | near_c[None, :]


# ----------------------------------------------------------------------------- measures

def mass_on_mask(maps: Any, masks: Any) -> np.ndarray:
    """Share of each map's mass on its mask: float ``(...)`` in [0, 1] (NaN for an all-zero map)."""
    maps = _maps(maps)
    masks = _masks_for(masks, maps)
    total = maps.sum(axis=(-2, -1))
    on = np.where(masks, maps, 0.0).sum(axis=(-2, -1))
    return np.divide(on, total, out=np.full(total.shape, np.nan), where=total > 0)


def pointing(maps: Any, masks: Any, *, window: int | None = None) -> np.ndarray:
    """1.0 where a map's peak (:func:`map_peaks`) lies on its mask, else 0.0 (NaN for an all-zero map)."""
    maps = _maps(maps)
    masks = _masks_for(masks, maps)
    peaks = map_peaks(maps, window=window)
    return _nan_where(_value_at(masks, peaks), peaks[..., 0] < 0)


def peak_at_border(maps: Any, *, width: int = BORDER, window: int | None = None) -> np.ndarray:
    """1.0 where a map peaks within the frame ``width`` pixels wide along the image's edge, else 0.0
    (NaN for an all-zero map). Such maps point at the image's edge, not at anything to name."""
    maps = _maps(maps)
    peaks = map_peaks(maps, window=window)
    return _nan_where(_value_at(border_mask(maps.shape[-2:], width), peaks), peaks[..., 0] < 0)


def energy_ratio(maps: Any, masks: Any) -> np.ndarray:
    """Mass share on the mask divided by the mask's share of the image's pixels: float ``(...)``.

    A flat map scores 1; a map twice as dense on the mask as a flat one scores 2. NaN for an
    all-zero map or an empty mask.
    """
    maps = _maps(maps)
    masks = _masks_for(masks, maps)
    area = np.broadcast_to(masks, maps.shape).mean(axis=(-2, -1))
    share = mass_on_mask(maps, masks)
    return np.divide(share, area, out=np.full(share.shape, np.nan), where=area > 0)


def region_share(maps: Any, mass: float = 0.5) -> np.ndarray:
    """How much a map reads as one region: float ``(...)`` in (0, 1] (NaN for an all-zero map).

    Take the map's hottest pixels that together hold ``mass`` of its total (the part a person
    sees as hot); the result is the share of that mass lying in its largest 8-connected
    region. A blob scores 1; speckle (hot pixels scattered over the image) scores near 0.
    """
    from scipy import ndimage

    maps = _maps(maps)
    if not 0 < mass <= 1:
        raise ValueError(f"mass is a share of each map's total in (0, 1]; got {mass}")
    lead, (H, W) = maps.shape[:-2], maps.shape[-2:]
    flat = maps.reshape(-1, H * W)
    if not len(flat):
        return np.zeros(lead)
    total = flat.sum(axis=1, keepdims=True)
    ordered = -np.sort(-flat, axis=1)
    # the smallest value among the hottest pixels holding `mass` of the total: the hot part's floor
    needed = (ordered.cumsum(axis=1) < mass * total).sum(axis=1).clip(max=H * W - 1)
    floor = ordered[np.arange(len(flat)), needed][:, None]
    hot = (flat >= floor) & (flat > 0)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True  # 8-connected within a map, never across maps
    labels, count = ndimage.label(hot.reshape(-1, H, W), structure=structure)
    labels = labels.reshape(len(flat), -1)
    region_mass = np.bincount(labels.ravel(), weights=flat.ravel(), minlength=count + 1)
    owner = np.zeros(count + 1, np.int64)
    owner[labels.ravel()] = np.repeat(np.arange(len(flat)), H * W)  # the map each region belongs to
    largest = np.zeros(len(flat))
    np.maximum.at(largest, owner[1:], region_mass[1:])
    hot_mass = np.where(hot, flat, 0.0).sum(axis=1)
    share = np.divide(largest, hot_mass, out=np.full(len(flat), np.nan), where=hot_mass > 0)
    return share.reshape(lead)


def on_object(maps: Any, masks: Any, *, border: int = BORDER, window: int | None = None) -> pd.DataFrame:
    """Every on-object measure of each map: one row per map (maps flattened to ``(R, H, W)``).

    Columns: ``mass_on_object`` (:func:`mass_on_mask`), ``peak_on_object`` (:func:`pointing`),
    ``peak_at_border`` (:func:`peak_at_border` with ``width=border``), ``energy_ratio`` and
    ``region_share``. ``table.mean()`` gives the summary figures (all-zero maps, NaN in every
    column, are skipped).
    """
    maps = _maps(maps)
    masks = _masks_for(masks, maps)
    return pd.DataFrame({
        "mass_on_object": mass_on_mask(maps, masks).reshape(-1),
        "peak_on_object": pointing(maps, masks, window=window).reshape(-1),
        "peak_at_border": peak_at_border(maps, width=border, window=window).reshape(-1),
        "energy_ratio": energy_ratio(maps, masks).reshape(-1),
        "region_share": region_share(maps).reshape(-1),
    })


def activation_set_on_object(activations: Any, *, threshold: float = FOREGROUND_THRESHOLD,
                             border: int = BORDER) -> pd.DataFrame:
    """:func:`on_object` of every significant activation of an ``ActivationSet``, the object being
    its image's foreground (:func:`foreground_masks` of the set's display pixels).

    For images of an object on a dark ground, such as Fashion-MNIST. Returns one row per
    significant activation: ``activation_id``, ``category``, then the :func:`on_object` columns.
    """
    table = activations.table
    rows = np.flatnonzero(table["significant"].to_numpy(dtype=bool))
    maps = activations.heatmaps[activations.heatmap_rows[rows]].astype(np.float64)
    image_row = pd.Index(activations.image_ids).get_indexer(table["image_id"].to_numpy()[rows])
    masks = foreground_masks(activations.images[image_row], threshold)
    measures = on_object(maps, masks, border=border)
    head = pd.DataFrame({"activation_id": table["activation_id"].to_numpy()[rows].astype(str),
                         "category": table["category"].to_numpy()[rows].astype(str)})
    return pd.concat([head, measures], axis=1)
