"""Thumbnails for the naming widget: a heatmap laid over its image, encoded as PNG bytes.

Everything before the PNG encoding runs on whole batches (resizing with torch, colour
mapping with one matplotlib lookup); only the encoding itself is per image.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

DEFAULT_CMAP = "jet"
DEFAULT_ALPHA = 0.5


def _as_numpy(array: Any, name: str) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be a numeric numpy array or torch tensor, got dtype {array.dtype}")
    return array


def to_display_rgb(images: Any) -> np.ndarray:
    """Images in any common layout as uint8 RGB (N, H, W, 3), ready to show.

    Accepts (N, H, W) grayscale, (N, H, W, C) channels-last or (N, C, H, W) channels-first
    (C = 1 or 3; a 4-D batch with C in {1, 3} on axis 1 is read as channels-first, the
    layout models take). uint8 is kept; a float image within [0, 1] is scaled by 255, any
    other (e.g. a mean/std-normalised model input) is min-max stretched on its own.
    """
    images = _as_numpy(images, "images")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 or 3; "
                         f"got shape {images.shape}")
    if images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    if images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels; got shape {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    images = images.astype(np.float32)
    low = images.min(axis=(1, 2, 3), keepdims=True) if images.size else np.zeros((len(images), 1, 1, 1))
    high = images.max(axis=(1, 2, 3), keepdims=True) if images.size else np.ones((len(images), 1, 1, 1))
    in_unit_range = (low >= 0.0) & (high <= 1.0)  # decided per image, so batching never matters
    stretched = (images - low) / np.maximum(high - low, 1e-12)
    scaled = np.where(in_unit_range, images, stretched)
    return np.round(scaled * 255.0).astype(np.uint8)


def _thumb_shape(height: int, width: int, size: int | None) -> tuple[int, int]:
    """The (height, width) whose longer side is ``size``, keeping the aspect ratio."""
    if size is None:
        return height, width
    if size < 1:
        raise ValueError(f"thumbnail size must be a positive number of pixels, got {size}")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resize(batch: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float (N, H, W, C) batch with torch, in one call."""
    if batch.shape[1:3] == shape:
        return batch
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).permute(0, 3, 1, 2)
    resized = F.interpolate(tensor, size=shape, mode="bilinear", align_corners=False, antialias=True)
    return resized.permute(0, 2, 3, 1).numpy()


def overlay(images: Any, heatmaps: Any, *, cmap: str = DEFAULT_CMAP, alpha: float = DEFAULT_ALPHA,
            size: int | None = None) -> np.ndarray:
    """Heatmaps laid over their images: uint8 RGB (N, h, w, 3).

    Each heatmap is scaled by its own maximum (an all-zero map stays 0), coloured with the
    matplotlib colormap ``cmap`` and blended as ``(1 − alpha)·image + alpha·colour``.
    ``heatmaps`` is (N, H, W) at the images' resolution; ``size`` is the longer side of
    the result (None keeps the resolution).
    """
    from matplotlib import colormaps

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1] (0: image only, 1: heatmap only), got {alpha}")
    if cmap not in colormaps:
        raise ValueError(f"unknown matplotlib colormap {cmap!r}; try 'jet', 'viridis' or 'inferno'")
    rgb = to_display_rgb(images)
    heatmaps = _as_numpy(heatmaps, "heatmaps").astype(np.float32)
    if heatmaps.ndim == 4 and heatmaps.shape[1] == 1:
        heatmaps = heatmaps[:, 0]
    if heatmaps.shape != rgb.shape[:3]:
        raise ValueError(f"heatmaps must be (N, H, W) matching the images' {rgb.shape[:3]}; "
                         f"got shape {heatmaps.shape}")
    shape = _thumb_shape(rgb.shape[1], rgb.shape[2], size)
    heatmaps = np.nan_to_num(np.clip(heatmaps, 0.0, None))
    peak = heatmaps.max(axis=(1, 2), keepdims=True)
    scaled = np.divide(heatmaps, peak, out=np.zeros_like(heatmaps), where=peak > 0)
    heat = _resize(scaled[..., None], shape)[..., 0]
    base = _resize(rgb.astype(np.float32) / 255.0, shape)
    colour = colormaps[cmap](np.clip(heat, 0.0, 1.0))[..., :3]
    blended = (1.0 - alpha) * base + alpha * colour
    return np.round(np.clip(blended, 0.0, 1.0) * 255.0).astype(np.uint8)


def resize_images(images: Any, size: int | None = None) -> np.ndarray:
    """Images as display RGB uint8 (N, h, w, 3) with the longer side ``size``."""
    rgb = to_display_rgb(images)
    shape = _thumb_shape(rgb.shape[1], rgb.shape[2], size)
    if shape == rgb.shape[1:3]:
        return rgb
    resized = _resize(rgb.astype(np.float32) / 255.0, shape)
    return np.round(np.clip(resized, 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_png(rgb: np.ndarray) -> list[bytes]:
    """PNG bytes of each uint8 (N, H, W, 3) image (Pillow, lossless)."""
    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise ValueError(f"encode_png takes uint8 (N, H, W, 3); got {rgb.dtype} {rgb.shape}")
    encoded = []
    for picture in rgb:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG", optimize=False)
        encoded.append(buffer.getvalue())
    return encoded


def decode_png(data: bytes) -> np.ndarray:
    """The uint8 (H, W, 3) pixels of PNG bytes (for checks and previews)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def overlay_pngs(images: Any, heatmaps: Any, *, cmap: str = DEFAULT_CMAP,
                 alpha: float = DEFAULT_ALPHA, size: int | None = 96) -> list[bytes]:
    """PNG thumbnails of heatmaps over their images (see :func:`overlay`)."""
    return encode_png(overlay(images, heatmaps, cmap=cmap, alpha=alpha, size=size))


def image_pngs(images: Any, *, size: int | None = 96) -> list[bytes]:
    """PNG thumbnails of the plain images, for side-by-side preview."""
    return encode_png(resize_images(images, size))
