"""Orthogonality and locality checked against hand computations and a second implementation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xnaming_widget.metrics.maps import locality, orthogonality, part_weights


def _blocks(n_features: int, size: int = 8, block: int = 2) -> np.ndarray:
    """(n, size, size) maps, map k is a block of ones in its own rows (disjoint supports)."""
    maps = np.zeros((n_features, size, size))
    for k in range(n_features):
        maps[k, k * block:(k + 1) * block, :block] = 1.0
    return maps


def test_identical_maps_are_maximally_non_orthogonal():
    rng = np.random.default_rng(0)
    one = rng.random((6, 10, 10))
    maps = np.repeat(one[:, None], 4, axis=1)  # 6 images, 4 identical x-features
    o1, o2 = orthogonality(maps)
    assert o1 == pytest.approx(4 - math.sqrt(4))  # ‖ones(4,4)‖_F = 4
    assert o2 == math.inf


def test_disjoint_maps_match_hand_correlation():
    # Disjoint supports of s pixels out of D, normalised: corr = -s / (D - s) (hand computation).
    n_features, size, block = 3, 8, 2
    maps = _blocks(n_features, size, block)
    support, pixels = block * block, size * size
    rho = -support / (pixels - support)
    expected = np.full((n_features, n_features), rho) + (1 - rho) * np.eye(n_features)
    o1, o2 = orthogonality(maps)
    assert o1 == pytest.approx(np.linalg.norm(expected) - math.sqrt(n_features))
    assert o2 == pytest.approx(-np.log(np.linalg.det(expected)))
    identical_o1, _ = orthogonality(np.repeat(maps[:1], n_features, axis=0))
    assert abs(o1) < 0.1 < identical_o1


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(2, 4), st.integers(0, 10_000))
def test_orthogonality_equals_corrcoef_of_concatenated_normalised_maps(n_images, n_features, seed):
    rng = np.random.default_rng(seed)
    maps = rng.random((n_images, n_features, 5, 6)) * rng.random((n_images, n_features, 1, 1))
    normalised = maps / maps.sum(axis=(2, 3), keepdims=True)
    vectors = normalised.transpose(1, 0, 2, 3).reshape(n_features, -1)
    correlation = np.corrcoef(vectors)
    o1, o2 = orthogonality(torch.from_numpy(maps))  # tensors are accepted too
    assert o1 == pytest.approx(np.linalg.norm(correlation) - math.sqrt(n_features), abs=1e-9)
    assert o2 == pytest.approx(-np.linalg.slogdet(correlation)[1], rel=1e-7, abs=1e-9)


def test_orthogonality_rejects_bad_maps():
    with pytest.raises(ValueError, match=r"\(N, n, H, W\)"):
        orthogonality(np.ones((4, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        orthogonality(-np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        orthogonality(np.full((2, 3, 4, 4), np.nan))


def test_constant_feature_gives_nan_with_warning():
    maps = np.random.default_rng(1).random((2, 3, 4, 4))
    maps[:, 1] = 0.0
    with pytest.warns(RuntimeWarning, match="constant"):
        o1, o2 = orthogonality(maps)
    assert math.isnan(o1) and math.isnan(o2)


# ---------------------------------------------------------------- locality

KEYPOINTS = np.array([[[2.0, 2.0], [2.0, 9.0], [9.0, 5.0]]])  # one image, 3 parts
BOXES = np.array([[1.0, 1.0, 11.0, 11.0]])
SIZE = 12


def _delta(row: int, col: int) -> np.ndarray:
    image = np.zeros((SIZE, SIZE))
    image[row, col] = 1.0
    return image


def test_all_mass_on_one_part_has_entropy_zero():
    maps = np.stack([_delta(2, 2), _delta(9, 5)])[None]  # feature 0 on part 0, feature 1 on part 2
    result = locality(maps, KEYPOINTS, BOXES, part_names=["head", "tail", "leg"])
    np.testing.assert_allclose(result.entropy, [0.0, 0.0], atol=1e-12)
    assert result.part_names == ["head", "tail", "leg", "context"]
    np.testing.assert_allclose(result.histogram, [[1, 0, 0, 0], [0, 0, 1, 0]])


def test_uniform_over_parts_has_entropy_log_part_count():
    on_parts = sum(_delta(int(r), int(c)) for r, c in KEYPOINTS[0])
    with_context = on_parts + _delta(0, 0)  # (0, 0) lies outside the box: context
    result = locality(np.stack([on_parts, with_context])[None], KEYPOINTS, BOXES)
    np.testing.assert_allclose(result.entropy, [math.log(3), math.log(4)])
    assert result.mean == pytest.approx((math.log(3) + math.log(4)) / 2)


def test_part_weights_follow_algorithm_1_by_hand():
    weights = part_weights(KEYPOINTS, BOXES, SIZE, SIZE)[0]
    assert weights.shape == (4, SIZE, SIZE)
    # Keypoints weigh 1 for their own part; pixel (1, 5) is nearest part 0 (dist √10 vs √17).
    assert weights[0, 2, 2] == 1.0 and weights[1, 2, 2] == 0.0
    rows, cols = np.mgrid[:SIZE, :SIZE]
    inside = (rows >= 1) & (rows < 11) & (cols >= 1) & (cols < 11)
    distances = np.sqrt((rows[None] - KEYPOINTS[0, :, 0, None, None]) ** 2
                        + (cols[None] - KEYPOINTS[0, :, 1, None, None]) ** 2)
    cell0 = inside & (distances.argmin(axis=0) == 0)
    largest = distances[0][cell0].max()
    assert weights[0, 1, 5] == pytest.approx(1 - math.sqrt(10) / largest)
    assert weights[1, 1, 5] == 0.0
    np.testing.assert_array_equal(weights[3], (~inside).astype(float))
    assert ((weights[:3] > 0).sum(axis=0) <= 1).all()  # Voronoi cells do not overlap


def test_missing_part_is_left_out_of_the_voronoi_cells():
    keypoints = KEYPOINTS.copy()
    keypoints[0, 1] = np.nan
    weights = part_weights(keypoints, BOXES, SIZE, SIZE)[0]
    assert weights[1].sum() == 0.0
    # Part 1's keypoint pixel (2, 9) is now nearest part 0 (distance 7 vs √65): all mass there.
    result = locality(_delta(2, 9)[None, None], keypoints, BOXES)
    np.testing.assert_allclose(result.histogram[0], [1, 0, 0, 0])


def test_locality_averages_histograms_over_images():
    keypoints = np.repeat(KEYPOINTS, 2, axis=0)
    boxes = np.repeat(BOXES, 2, axis=0)
    maps = np.stack([_delta(2, 2), _delta(9, 5)])[:, None] * np.array([1.0, 5.0])[:, None, None, None]
    result = locality(maps, keypoints, boxes)  # image scale must not matter: 1/2 and 1/2
    np.testing.assert_allclose(result.histogram[0], [0.5, 0, 0.5, 0])
    assert result.entropy[0] == pytest.approx(math.log(2))


def test_locality_rejects_mismatched_shapes():
    maps = np.ones((2, 1, SIZE, SIZE))
    with pytest.raises(ValueError, match="keypoints must have shape"):
        locality(maps, KEYPOINTS, np.repeat(BOXES, 2, axis=0))
    with pytest.raises(ValueError, match="boxes must have shape"):
        locality(maps, np.repeat(KEYPOINTS, 2, axis=0), BOXES)
    with pytest.raises(ValueError, match="part_names"):
        locality(maps, np.repeat(KEYPOINTS, 2, axis=0), np.repeat(BOXES, 2, axis=0), ["a"])
