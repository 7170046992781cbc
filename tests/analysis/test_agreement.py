import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from xnaming_widget.analysis import (dfamily_agreement, format_pairwise_table, jaccard, linguistic_compatibility,
                                     matched_names, pairwise_scores, pairwise_table)


def labelled(annotator, labels, names=None):
    """A naming of activations a0.. from a list of concept labels (None = unlabeled)."""
    rows = [(annotator, "bird", f"a{i}", None if c is None else f"{annotator}{c}",
             None if c is None else (names or {}).get(c, str(c)), "named" if c is not None else "unlabeled")
            for i, c in enumerate(labels)]
    return pd.DataFrame(rows, columns=["annotator", "category", "activation_id", "concept_id", "concept",
                                       "status"]).astype("string")


def test_jaccard_and_agreement_by_hand(birds):
    acts, alice, bob = birds
    assert jaccard(alice, bob, acts) == 2 / 7  # {a1, a3} of {a1, a2, a3, a4, a5, a7, a8}
    result = dfamily_agreement(alice, bob, 1, acts)
    assert (result.score, result.n_common, result.agreement) == (2, 2, 1.0)
    assert result.groups == [(["c1"], ["k1"])]
    assert result.intersection.loc["c2", "k1"] == 0


def test_refinement_gives_d2_one_and_d1_below():
    a = labelled("a", [0] * 6 + [1] * 6, {0: "wing", 1: "eye"})
    b = labelled("b", [0] * 3 + [1] * 3 + [2] * 6, {0: "open wing", 1: "closed wing", 2: "eye"})
    d2 = dfamily_agreement(a, b, 2)
    assert d2.agreement == 1.0 and sorted(d2.groups) == [(["a0"], ["b0", "b1"]), (["a1"], ["b2"])]
    assert dfamily_agreement(a, b, 1).agreement == (3 + 6) / 12
    matches = matched_names(a, b, 2)
    assert sorted(zip(matches["name_a"], matches["name_b"], matches["weight"])) == [
        ("eye", "eye", 6), ("wing", "closed wing", 3), ("wing", "open wing", 3)]


def test_two_by_two_grid_gives_d2_the_total_weight():
    rows = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]  # top / bottom half of a 2×2 grid of cells
    cols = [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]  # left / right half
    result = dfamily_agreement(labelled("a", rows), labelled("b", cols), 2)
    assert result.score == 12 and result.agreement == 1.0
    assert dfamily_agreement(labelled("a", rows), labelled("b", cols), 1).score == 6


def test_no_common_activations_gives_nan():
    a, b = labelled("a", [0, 0, 0, None, None, None]), labelled("b", [None, None, None, 1, 1, 1])
    assert math.isnan(dfamily_agreement(a, b, 2).agreement) and jaccard(a, b) == 0.0


labels = st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=12, max_size=12)


@settings(max_examples=25, deadline=None)
@given(labels, labels)
def test_agreement_properties(x, y):
    a, b = labelled("a", x), labelled("b", y)
    d1, d2 = (dfamily_agreement(a, b, D, min_size=1) for D in (1, 2))
    if d1.n_common:
        assert d1.agreement <= d2.agreement + 1e-12 <= 1 + 1e-12
    for D, res in ((1, d1), (2, d2)):
        swapped = dfamily_agreement(b, a, D, min_size=1)
        assert swapped.score == res.score
    if any(v is not None for v in x):
        same = labelled("c", x)
        assert dfamily_agreement(a, same, 1, min_size=1).agreement == 1.0
        assert dfamily_agreement(a, same, 2, min_size=1).agreement == 1.0
        assert jaccard(a, same, min_size=1) == 1.0
    assert jaccard(a, b, min_size=1) == jaccard(b, a, min_size=1) or math.isnan(jaccard(a, b, min_size=1))


def test_pairwise_table_statistics_by_hand():
    base = [0] * 3 + [1] * 3 + [2] * 3
    namings = pd.concat([labelled("p", base), labelled("q", base),
                         labelled("r", [0] * 3 + [1] * 3 + [None] * 3)])
    scores = pairwise_scores(namings)
    jac = dict(zip(zip(scores["annotator_a"], scores["annotator_b"]), scores["jaccard"]))
    assert jac == {("p", "q"): 1.0, ("p", "r"): 6 / 9, ("q", "r"): 6 / 9}
    table = pairwise_table(namings)
    values = np.array([1.0, 6 / 9, 6 / 9])
    assert table.loc[("bird", "mean"), "jaccard"] == pytest.approx(values.mean())
    assert table.loc[("bird", "std"), "jaccard"] == pytest.approx(values.std())
    assert table.loc[("bird", "min"), "jaccard"] == pytest.approx(6 / 9)
    assert table.loc[("bird", "max"), "agreement_d1"] == 1.0
    assert table.loc[("global average", "mean"), "jaccard"] == pytest.approx(values.mean())
    text = format_pairwise_table(table)
    assert text.loc[("bird", "average"), "jaccard"] == f"{values.mean():.2f}±{values.std():.2f}"


def test_linguistic_compatibility_weighted_fractions():
    matches = pd.DataFrame({"name_a": ["eye", "wing", "wing"], "name_b": ["eye", "open wing", "tail"],
                            "weight": [6, 3, 1]})
    judgments = {("eye", "eye"): "exact", ("open wing", "wing"): "subset", ("wing", "tail"): "incompatible"}
    result = linguistic_compatibility(matches, judgments)
    assert result[["exact", "subset", "incompatible"]].tolist() == pytest.approx([0.6, 0.9, 0.1])
    with pytest.raises(ValueError, match="No judgment for 1 matched name pairs"):
        linguistic_compatibility(matches, {k: v for k, v in list(judgments.items())[:2]})


def test_pairwise_scores_equal_the_per_pair_functions():
    """The encoded pairwise path gives exactly what jaccard and dfamily_agreement give pair by pair
    (simulated namings of two categories, with skipping, trash, noise, splits and merges)."""
    from xnaming_widget.analysis import simulate_annotators

    rng = np.random.default_rng(3)
    rows, truth = [], {}
    for category in ("bird", "cat"):
        for i in range(60):
            aid = f"{category}/img{i // 2}/x{i % 2}"
            rows.append((aid, f"{category}/img{i // 2}", category, i % 2, i % 7 != 0))
            truth[aid] = f"part{rng.integers(6)}"
    acts = pd.DataFrame(rows, columns=["activation_id", "image_id", "category", "xfeature", "significant"])
    namings = simulate_annotators(acts, truth, 4, skip=0.2, trash=0.05, noise=0.15, split=0.3, merge=0.2, seed=4)
    measures = ("agreement_d1", "agreement_d2", "agreement_d3", "jaccard")
    scores = pairwise_scores(namings, acts, measures=measures)
    assert len(scores) == 2 * 6
    for row in scores.itertuples():
        pick = namings[(namings["category"] == row.category)]
        a, b = pick[pick["annotator"] == row.annotator_a], pick[pick["annotator"] == row.annotator_b]
        assert row.jaccard == pytest.approx(jaccard(a, b, acts), nan_ok=True)
        for D in (1, 2, 3):
            assert getattr(row, f"agreement_d{D}") == pytest.approx(dfamily_agreement(a, b, D, acts).agreement,
                                                                     nan_ok=True)
    with pytest.raises(ValueError, match="Unknown measure 'agreement_dx'"):
        pairwise_scores(namings, acts, measures=("agreement_dx",))
