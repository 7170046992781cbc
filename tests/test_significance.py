"""MSX and top-fraction (definitions §3) against brute force over subsets, and their properties."""
from itertools import combinations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xnaming_widget.significance import msx, top_fraction

# Multiples of 1/4 keep every sum exact, so brute force and prefix sums agree bit for bit.
quarters = st.integers(-40, 40).map(lambda k: k / 4)
rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=quarters)


def _brute_force_best(c, ok):
    """Fewest positive terms satisfying ``ok(subset)``; among those, the largest terms, ties by index."""
    positive = [k for k in range(len(c)) if c[k] > 0]
    for size in range(len(positive) + 1):
        found = [s for s in combinations(positive, size) if ok(s)]
        if found:
            return set(min(found, key=lambda s: (sorted((-c[k] for k in s)), s))), True
    return set(positive), False


@settings(max_examples=60, deadline=None)
@given(rows, st.one_of(st.none(), quarters))
def test_msx_is_sufficient_and_minimal(contrib, bias):
    mask, sufficient = msx(contrib, bias, return_sufficient=True)
    b = 0.0 if bias is None else bias
    for row, row_mask, row_ok in zip(contrib, mask, sufficient):
        negative = row[row < 0].sum()
        expected, reachable = _brute_force_best(row, lambda s: sum(row[k] for k in s) + negative + b > 0)
        assert set(np.flatnonzero(row_mask)) == expected
        assert row_ok == reachable


@settings(max_examples=60, deadline=None)
@given(rows, st.sampled_from([0.5, 0.75, 0.9, 1.0]))
def test_top_fraction_reaches_fraction_with_fewest_terms(contrib, frac):
    mask = top_fraction(contrib, frac)
    for row, row_mask in zip(contrib, mask):
        total = row[row > 0].sum()
        expected, _ = _brute_force_best(row, lambda s: sum(row[k] for k in s) >= frac * total)
        assert set(np.flatnonzero(row_mask)) == expected
        assert row[row_mask].sum() >= frac * total


def test_msx_hand_example_and_ties_by_index():
    contrib = np.array([[3.0, -2.0, 1.0, 1.0, 0.0],
                        [1.0, 1.0, 1.0, -2.5, 0.0],
                        [1.0, -5.0, 2.0, 0.0, 0.0]])
    mask, sufficient = msx(contrib, return_sufficient=True)
    assert mask.tolist() == [[True, False, False, False, False],
                             [True, True, True, False, False],
                             [True, False, True, False, False]]
    assert sufficient.tolist() == [True, True, False]
    # equal terms: the lower x-feature index is taken first
    assert msx(np.array([[1.0, 2.0, 2.0, -1.5]])).tolist() == [[False, True, False, False]]
    # the bias counts as evidence: with b = 3.5 the third row needs one term (2 - 5 + 3.5 > 0),
    # with b = 3 both (2 - 5 + 3 = 0 is not > 0), with b = 10 none
    assert msx(contrib[2:], bias=3.0).tolist() == [[True, False, True, False, False]]
    assert msx(contrib[2:], bias=3.5).tolist() == [[False, False, True, False, False]]
    assert msx(contrib[2:], bias=10.0).tolist() == [[False] * 5]


def test_leading_axes_bias_per_row_and_torch_input():
    rng = np.random.default_rng(0)
    contrib = rng.normal(size=(4, 3, 6))
    bias = rng.normal(size=(4, 3))
    batched = msx(torch.tensor(contrib), torch.tensor(bias))
    one_by_one = np.stack([msx(contrib[i], bias[i]) for i in range(4)])
    np.testing.assert_array_equal(batched, one_by_one)
    assert top_fraction(contrib).shape == contrib.shape


def test_top_fraction_without_positive_terms_selects_nothing():
    assert not top_fraction(np.array([[-1.0, 0.0, -3.0]])).any()


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="frac"):
        top_fraction(np.ones((2, 3)), frac=1.5)
    with pytest.raises(ValueError, match="NaN"):
        msx(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="bias"):
        msx(np.ones((2, 3)), bias=np.ones(5))
