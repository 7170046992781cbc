"""The assisted-naming comparison: its counts checked by hand on descriptors whose truth is known."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xnaming_widget.analysis import naming_docs, simulate_annotators
from xnaming_widget.analysis.assisted import COVER, MIN_PART, compare_assistance
from xnaming_widget._files import write_json_atomic

from .test_assist import activation_set, blobs


@pytest.fixture(scope="module")
def named_blobs():
    ids, truth, descriptors = blobs(n_per_part=40, noise=0.3)
    truth = pd.Series(truth, index=ids)
    truth.iloc[:2] = "stray"  # a "part" of 2 activations: below MIN_PART, nobody has to gather it
    return activation_set(ids, descriptors), truth


def test_by_hand_costs_a_concept_and_one_move_per_activation_until_covered(named_blobs):
    acts, truth = named_blobs
    table = compare_assistance(acts, truth, ["bird"], strategies=["by hand"])
    counts = truth.value_counts()
    expected = sum(1 + math.ceil(COVER * n - 1e-9) for n in counts[counts >= MIN_PART])
    assert table.loc["by hand", "actions"] == expected
    assert table.loc["by hand", "activations"] == len(truth)
    assert bool(table.loc["by hand", "reached"]) and np.isnan(table.loc["by hand", "suggestions_right"])


def test_suggestions_and_transfer_cost_fewer_actions_on_separable_parts(named_blobs, tmp_path):
    acts, truth = named_blobs
    other = simulate_annotators(acts, truth, 1, skip=0.1, trash=0.0, noise=0.1, split=0.0, merge=0.0, seed=3)
    for doc in naming_docs(other, fingerprint=acts.fingerprint):
        write_json_atomic(tmp_path / f"{doc['category']}.json", doc)
    table = compare_assistance(acts, truth, ["bird"], other_naming=tmp_path)
    assert table["reached"].all()
    per = table["per_activation"]
    assert per["suggest"] < per["by hand"] / 2
    assert per["transfer"] < per["by hand"] / 2
    # well-separated blobs: nearly every suggestion is right
    assert table.loc["suggest", "suggestions_right"] > 0.9


def test_transfer_needs_another_naming_and_strategies_are_checked(named_blobs):
    acts, truth = named_blobs
    with pytest.raises(ValueError, match="other_naming"):
        compare_assistance(acts, truth, ["bird"], strategies=["transfer"])
    with pytest.raises(ValueError, match="unknown strategies"):
        compare_assistance(acts, truth, ["bird"], strategies=["telepathy"])


def test_an_oracle_s_ranking_costs_seeds_batches_and_the_wrong_ones_that_fill_a_round(named_blobs):
    """With right ones always first, each part of n costs: the concept, SEEDS seeds, then
    rounds of K until 0.9 n are in: one batch each, plus the wrong ones that fill a round the
    part's own cannot (as many as the pool still has that were not rejected for it)."""
    from xnaming_widget.analysis.assisted import K, SEEDS

    acts, truth = named_blobs
    table = compare_assistance(acts, truth, ["bird"], strategies=["oracle"])
    sizes = truth.value_counts()
    parts = [p for p in dict.fromkeys(truth) if sizes[p] >= MIN_PART]  # display order
    left = {p: sizes[p] - (SEEDS if p in parts else 0) for p in sizes.index}  # unlabeled, per part
    expected = len(parts) * (1 + SEEDS)
    for part in parts:
        rejected = 0
        while sizes[part] - left[part] < math.ceil(COVER * sizes[part] - 1e-9):
            right = min(K, left[part])
            others = sum(left.values()) - left[part] - rejected
            wrong = min(K - right, others)
            left[part] -= right
            rejected += wrong
            expected += 1 + wrong
    assert table.loc["oracle", "actions"] == expected
    assert bool(table.loc["oracle", "reached"])
