"""Thumbnails: layouts, blending by a direct per-pixel formula, PNG round trips, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib import colormaps

from xnaming_widget.thumbnails import (decode_png, image_pngs, overlay, overlay_pngs,
                                       resize_images, to_display_rgb)


def test_layouts_give_the_same_display_image():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 5, 7, 3), dtype=np.uint8)
    channels_first = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    np.testing.assert_array_equal(to_display_rgb(rgb), rgb)
    np.testing.assert_array_equal(to_display_rgb(channels_first), rgb)
    grey = rgb[..., 0]
    np.testing.assert_array_equal(to_display_rgb(grey), np.repeat(grey[..., None], 3, axis=-1))
    np.testing.assert_array_equal(to_display_rgb(grey[:, None].astype(np.float32) / 255.0),
                                  np.repeat(grey[..., None], 3, axis=-1))


def test_normalised_float_images_are_stretched_per_image():
    images = np.stack([np.linspace(-2, 3, 12).reshape(1, 3, 4), np.full((1, 3, 4), 7.0)])
    display = to_display_rgb(images)
    assert display[0].min() == 0 and display[0].max() == 255
    assert (display[1] == 0).all()  # a constant image has no contrast to stretch
    unit = np.full((1, 1, 3, 4), 0.5)
    together = to_display_rgb(np.concatenate([images, unit]))
    np.testing.assert_array_equal(together[:2], display)  # each image is treated on its own
    np.testing.assert_array_equal(together[2], to_display_rgb(unit)[0])
    assert (together[2] == 128).all()


def test_overlay_matches_per_pixel_formula():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(3, 6, 6, 3), dtype=np.uint8)
    heat = rng.random((3, 6, 6)).astype(np.float32)
    heat[2] = 0.0
    alpha = 0.3
    result = overlay(rgb, heat, cmap="viridis", alpha=alpha)
    for i in range(3):  # direct computation, one image at a time
        peak = heat[i].max()
        scaled = heat[i] / peak if peak > 0 else heat[i]
        colour = colormaps["viridis"](scaled)[..., :3]
        expected = np.round(((1 - alpha) * rgb[i] / 255.0 + alpha * colour) * 255.0)
        np.testing.assert_allclose(result[i], expected, atol=1)


def test_alpha_extremes_give_image_or_heatmap():
    rgb = np.full((1, 4, 4, 3), 200, dtype=np.uint8)
    heat = np.zeros((1, 4, 4))
    heat[0, 0, 0] = 1.0
    np.testing.assert_array_equal(overlay(rgb, heat, alpha=0.0), rgb)
    only_heat = overlay(rgb, heat, alpha=1.0, cmap="gray")
    assert only_heat[0, 0, 0].tolist() == [255, 255, 255] and only_heat[0, 1, 1].tolist() == [0, 0, 0]


def test_png_round_trip_and_thumbnail_size():
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, size=(2, 28, 14), dtype=np.uint8)
    heat = rng.random((2, 28, 14))
    pngs = overlay_pngs(grey, heat, size=96)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG") for p in pngs)
    assert decode_png(pngs[0]).shape == (96, 48, 3)
    np.testing.assert_array_equal(decode_png(pngs[1]), overlay(grey, heat, size=96)[1])
    plain = image_pngs(grey, size=None)
    np.testing.assert_array_equal(decode_png(plain[0]), np.repeat(grey[0][..., None], 3, axis=-1))
    np.testing.assert_array_equal(decode_png(image_pngs(grey, size=96)[1]), resize_images(grey, 96)[1])


def test_bad_input_is_explained():
    rgb = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="matching the images"):
        overlay(rgb, np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="alpha"):
        overlay(rgb, np.zeros((2, 4, 4)), alpha=2.0)
    with pytest.raises(ValueError, match="colormap"):
        overlay(rgb, np.zeros((2, 4, 4)), cmap="no-such-map")
    with pytest.raises(ValueError, match="channels"):
        to_display_rgb(np.zeros((2, 4, 4, 5)))
    with pytest.raises(ValueError, match="size"):
        image_pngs(rgb, size=0)
