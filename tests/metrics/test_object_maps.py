"""On-object measures and the peak rule, checked against maps small enough to compute by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xnaming_widget.metrics.object_maps import (border_mask, box_masks, energy_ratio, foreground_masks, map_peaks,
                                              mass_on_mask, on_object, part_masks, peak_at_border, peak_window,
                                              pointing, region_share)


# ----------------------------------------------------------------------------- peaks

def test_peak_window_grows_with_the_image():
    assert [peak_window(s, s) for s in (2, 10, 28, 35, 36, 64, 224)] == [3, 3, 3, 3, 5, 7, 25]
    assert peak_window(28, 200) == 3  # the shorter side decides


def test_a_lone_hot_pixel_loses_to_a_warm_patch():
    m = np.zeros((8, 8))
    m[0, 7] = 1.0                      # one hot pixel in the corner: patch sum 1.0
    m[4:7, 2:5] = 0.2                  # a 3x3 warm patch: sum 1.8 around (5, 3)
    m[5, 3] = 0.3                      # its centre a little warmer: sum 1.9
    assert map_peaks(m, window=3).tolist() == [5, 3]
    assert map_peaks(m, window=1).tolist() == [0, 7]  # without a patch, the hottest pixel


def test_ties_go_to_the_hotter_pixel_then_row_major_order():
    m = np.zeros((1, 7, 7))
    m[0, 3, 3] = 1.0                   # every patch holding (3, 3) sums to 1: the pixel itself wins
    assert map_peaks(m, window=3).tolist() == [[3, 3]]
    flat = np.ones((7, 7))             # all patches of the interior tie, all pixels equal: first one
    assert map_peaks(flat, window=3).tolist() == [1, 1]
    assert map_peaks(np.zeros((2, 5, 5))).tolist() == [[-1, -1], [-1, -1]]  # no mass, no peak


def test_peaks_of_a_batch_match_each_map_alone():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 4, 20, 20)) ** 4
    batched = map_peaks(maps)
    assert batched.shape == (3, 4, 2)
    for i in range(3):
        for t in range(4):
            assert batched[i, t].tolist() == map_peaks(maps[i, t]).tolist()


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (5, 9), elements=st.floats(0, 10, allow_nan=False)), st.sampled_from([1, 3, 5]))
def test_the_peak_is_the_best_patch_by_brute_force(m, window):
    if not m.any():
        return
    half = window // 2
    padded = np.pad(m, half)
    sums = np.array([[padded[r:r + window, c:c + window].sum() for c in range(9)] for r in range(5)])
    r, c = map_peaks(m, window=window)
    assert sums[r, c] >= sums.max() - 1e-9 * sums.max()
    ties = np.argwhere(sums >= sums.max() - 1e-9 * sums.max())
    assert m[r, c] == max(m[a, b] for a, b in ties)


# ----------------------------------------------------------------------------- masks

def test_box_masks_by_hand():
    assert box_masks([1, 2, 3, 5], (4, 6)).astype(int).tolist() == [
        [0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0], [0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]]
    # one box per image, and several per image (their union; a NaN box is none)
    per_image = box_masks([[0, 0, 1, 1], [2, 2, 4, 4]], (4, 4))
    assert per_image.sum(axis=(1, 2)).tolist() == [1, 4] and per_image[1, 3, 3]
    union = box_masks([[[0, 0, 1, 1], [3, 3, 4, 4]], [[np.nan] * 4, [0, 0, 4, 1]]], (4, 4))
    assert union.sum(axis=(1, 2)).tolist() == [2, 4] and union[0, 3, 3] and union[1, :, 0].all()
    # fractional corners: a pixel counts when its centre is inside
    assert box_masks([0.4, 0.6, 1.6, 1.6], (3, 3)).astype(int).tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="row0 <= row1"):
        box_masks([3, 0, 1, 2], (4, 4))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        box_masks([1, 2, 3], (4, 4))


def test_foreground_masks_accept_model_input_and_display_pixels():
    grey = np.array([[[0.0, 0.04, 0.06], [1.0, 0.05, 0.5]]])           # (1, 2, 3)
    expected = [[[False, False, True], [True, False, True]]]
    assert foreground_masks(grey).tolist() == expected
    assert foreground_masks(torch.tensor(grey)[:, None]).tolist() == expected    # (N, 1, H, W) tensor
    grey[0, 1, 1] = 0.02                                               # 0.05 would round up in uint8
    rgb = np.repeat((grey * 255).round().astype(np.uint8)[..., None], 3, axis=-1)  # (N, H, W, 3) uint8
    assert foreground_masks(rgb).tolist() == expected
    with pytest.raises(ValueError, match="threshold"):
        foreground_masks(grey, threshold=2)


def test_part_and_border_masks():
    part_map = np.array([[[-1, 0, 1], [2, -1, 1]]], dtype=np.int8)
    assert part_masks(part_map).astype(int).tolist() == [[[0, 1, 1], [1, 0, 1]]]
    assert part_masks(part_map, 1).astype(int).tolist() == [[[0, 0, 1], [0, 0, 1]]]
    assert part_masks(part_map, [0, 2]).astype(int).tolist() == [[[0, 1, 0], [1, 0, 0]]]
    with pytest.raises(ValueError, match="integer"):
        part_masks(part_map.astype(float))
    frame = border_mask((6, 7), 2)
    assert frame.sum() == 6 * 7 - 2 * 3 and not frame[2:4, 2:5].any()
    assert not border_mask((4, 4), 0).any()


# ----------------------------------------------------------------------------- measures

def _two_maps():
    maps = np.zeros((2, 6, 6))
    maps[0, 2, 2], maps[0, 0, 5] = 3.0, 1.0           # 3/4 of the mass on the box, peak on it
    maps[1, 0, 0], maps[1, 3, 3] = 2.0, 0.5           # the corner wins: 1/5 on the box, peak at the border
    masks = box_masks([2, 2, 4, 4], (6, 6))           # rows and cols 2..3: 4 of 36 pixels
    return maps, masks


def test_measures_by_hand():
    maps, masks = _two_maps()
    np.testing.assert_allclose(mass_on_mask(maps, masks), [0.75, 0.2])
    assert pointing(maps, masks, window=1).tolist() == [1.0, 0.0]
    assert peak_at_border(maps, width=1, window=1).tolist() == [0.0, 1.0]
    np.testing.assert_allclose(energy_ratio(maps, masks), [0.75 * 9, 0.2 * 9])  # the box is 1/9 of the image
    table = on_object(maps, masks, border=1, window=1)
    assert list(table.columns) == ["mass_on_object", "peak_on_object", "peak_at_border", "energy_ratio",
                                   "region_share"]
    assert table["mass_on_object"].mean() == pytest.approx(0.475)
    assert table["peak_on_object"].mean() == 0.5 and table["peak_at_border"].mean() == 0.5


def test_masks_per_image_broadcast_over_its_maps_and_zero_maps_are_skipped():
    maps = np.zeros((2, 3, 4, 4))
    maps[0, :, 0, 0] = 1.0
    maps[1, 0, 3, 3] = 1.0                              # maps[1, 1:] stay empty
    masks = np.zeros((2, 4, 4), bool)
    masks[0, 0, 0] = True                               # image 0's object is where its maps are
    shares = mass_on_mask(maps, masks)
    assert shares.shape == (2, 3)
    assert shares[0].tolist() == [1.0, 1.0, 1.0] and shares[1, 0] == 0.0 and np.isnan(shares[1, 1:]).all()
    table = on_object(maps, masks, window=1)
    assert len(table) == 6 and table["mass_on_object"].mean() == pytest.approx(0.75)  # 4 maps with mass
    assert mass_on_mask(maps, masks[0, None, None]).shape == (2, 3)   # (1, 1, H, W) broadcasts too


def test_region_share_tells_a_blob_from_speckle():
    blob = np.zeros((12, 12))
    blob[3:7, 4:8] = 1.0
    speckle = np.zeros((12, 12))
    speckle[::3, ::3] = 1.0                             # 16 isolated pixels
    two = np.zeros((12, 12))
    two[0:2, 0:2] = 1.0                                 # 4 pixels ...
    two[8:10, 8:11] = 1.0                               # ... and 6 pixels: the larger holds 0.6
    np.testing.assert_allclose(region_share(np.stack([blob, speckle, two]), mass=1.0), [1.0, 1 / 16, 0.6])
    # with mass=0.5 only the hottest pixels holding half the total count
    hot = blob.copy()
    hot[10, 10] = 16.0                                  # one pixel holds half of the mass on its own
    assert region_share(hot, mass=0.5) == pytest.approx(1.0)
    assert region_share(hot, mass=1.0) == pytest.approx(16 / 32)
    assert np.isnan(region_share(np.zeros((4, 4))))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 6, 7), elements=st.floats(0, 5, allow_nan=False)),
       arrays(np.bool_, (3, 6, 7)))
def test_mass_shares_of_a_mask_and_its_complement_sum_to_one(maps, masks):
    has_mass = maps.sum(axis=(1, 2)) > 0
    total = mass_on_mask(maps, masks) + mass_on_mask(maps, ~masks)
    np.testing.assert_allclose(total[has_mass], 1.0)
    # the peak lies on exactly one of the two
    both = pointing(maps, masks) + pointing(maps, ~masks)
    assert (both[has_mass] == 1.0).all()


def test_bad_input_is_refused_clearly():
    maps, masks = _two_maps()
    with pytest.raises(ValueError, match="non-negative"):
        mass_on_mask(-maps, masks)
    with pytest.raises(ValueError, match="NaN"):
        mass_on_mask(maps * np.nan, masks)
    with pytest.raises(ValueError, match="H, W"):
        mass_on_mask(maps, masks[:3])
    with pytest.raises(ValueError, match="leading axes"):
        mass_on_mask(maps, np.stack([masks] * 3))
    with pytest.raises(ValueError, match="boolean"):
        mass_on_mask(maps, masks * 2.5)
    with pytest.raises(ValueError, match="odd"):
        map_peaks(maps, window=2)
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        map_peaks(np.ones(5))
    with pytest.raises(ValueError, match="mass"):
        region_share(maps, mass=0)


def test_the_metrics_package_exports_the_functions_not_the_module():
    import xnaming_widget.metrics.object_maps as module
    from xnaming_widget import metrics

    assert metrics.on_object is module.on_object and metrics.map_peaks is module.map_peaks


def test_parts_set_masks_agree_with_each_other(parts_small):
    """On the synthetic parts set: every part pixel lies in the image's box, each part's mask is
    where the part map holds its index, and a map placed on a keypoint points at that part."""
    objects = part_masks(parts_small.part_map)
    boxes = box_masks(parts_small.boxes, parts_small.part_map.shape[1:])
    assert objects.any(axis=(1, 2)).all() and not (objects & ~boxes).any()
    for p in range(len(parts_small.part_names)):
        np.testing.assert_array_equal(part_masks(parts_small.part_map, p), parts_small.part_map == p)
    # a blob of mass on the first visible part pixel of each image: all of it on the object, peak inside
    first = objects.reshape(len(objects), -1).argmax(axis=1)
    maps = np.zeros(objects.shape)
    maps.reshape(len(maps), -1)[np.arange(len(maps)), first] = 1.0
    assert (pointing(maps, objects) == 1).all() and (mass_on_mask(maps, boxes) == 1).all()
