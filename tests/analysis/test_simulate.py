import numpy as np
import pandas as pd
import pytest

from xnaming_widget.analysis import (Namings, dfamily_agreement, jaccard, naming_docs, parts_under_peak,
                                     simulate_annotators)
from xnaming_widget.naming import fingerprint_of


@pytest.fixture
def world():
    """Two categories, 40 significant activations each, four true concepts."""
    rng = np.random.default_rng(1)
    rows = [(f"{c}/img{i}/x{k}", f"{c}/img{i}", c, k, True) for c in ("bird", "cat") for i in range(20) for k in (0, 1)]
    acts = pd.DataFrame(rows, columns=["activation_id", "image_id", "category", "xfeature", "significant"])
    truth = pd.Series(rng.choice(["eye", "wing", "tail", "beak"], len(acts)), index=acts["activation_id"])
    return acts, truth


def test_noiseless_annotators_reproduce_the_truth(world):
    acts, truth = world
    table = simulate_annotators(acts, truth, 3, skip=0, trash=0, noise=0, split=0, merge=0)
    namings = Namings(table, acts)
    assert namings.annotators == ["annotator1", "annotator2", "annotator3"] and namings.categories == ["bird", "cat"]
    assert (table["concept"].to_numpy() == truth.loc[table["activation_id"]].to_numpy()).all()
    a, b = namings.get("annotator1", "bird"), namings.get("annotator2", "bird")
    assert jaccard(a, b, acts) == 1.0 and dfamily_agreement(a, b, 1, acts).agreement == 1.0


def test_noise_parameters_have_their_effect(world):
    acts, truth = world
    skipped = simulate_annotators(acts, truth, 2, skip=1.0)
    assert (skipped["status"] == "unlabeled").all()
    split = simulate_annotators(acts, truth, 1, skip=0, trash=0, noise=0, split=1.0, merge=0)
    bird = split[split["category"] == "bird"]
    assert bird["concept_id"].nunique() == 2 * truth.loc[bird["activation_id"]].nunique()
    a = split[split["category"] == "bird"]
    b = simulate_annotators(acts, truth, 1, skip=0, trash=0, noise=0, split=0, merge=0, prefix="t")
    b = b[b["category"] == "bird"]
    d1, d2 = (dfamily_agreement(a, b, D, acts, min_size=1).agreement for D in (1, 2))
    assert d2 == 1.0 and d1 < 1.0  # splitting is a refinement


def test_seeded_and_writable(world):
    acts, truth = world
    one = simulate_annotators(acts, truth, 2, seed=5)
    pd.testing.assert_frame_equal(one, simulate_annotators(acts, truth, 2, seed=5))
    assert not one.equals(simulate_annotators(acts, truth, 2, seed=6))
    docs = naming_docs(one, fingerprint=fingerprint_of(acts))
    assert len(docs) == 4 and docs[0]["fingerprint"] == fingerprint_of(acts)
    back = Namings(docs, acts).table[list(one.columns)].sort_values(["annotator", "activation_id"]).reset_index(drop=True)
    assert back.equals(one.sort_values(["annotator", "activation_id"]).reset_index(drop=True))


def test_bad_parameters(world):
    acts, truth = world
    with pytest.raises(ValueError, match="skip is a probability"):
        simulate_annotators(acts, truth, 2, skip=1.5)
    with pytest.raises(ValueError, match="truth has no concept for 1"):
        simulate_annotators(acts, truth.iloc[1:], 2)


def test_parts_under_peak_by_hand():
    maps = np.zeros((4, 10, 10), dtype=np.float32)
    maps[0, 2, 2] = 1  # near the eye at (1, 1)
    maps[1, 6, 7] = 1  # near the tail at (7, 8)
    maps[2, 9, 9] = 1  # outside the box -> context
    maps[3, 2, 2] = 1  # image 1 has no parts -> context
    keypoints = np.array([[[1, 1], [7, 8]], [[np.nan, np.nan], [np.nan, np.nan]]], dtype=np.float32)
    boxes = np.array([[0, 0, 8, 9], [0, 0, 10, 10]], dtype=np.float32)
    truth = parts_under_peak(maps, keypoints, boxes, ["eye", "tail"], image_index=[0, 0, 0, 1],
                             activation_ids=["p", "q", "r", "s"])
    assert truth.to_dict() == {"p": "eye", "q": "tail", "r": "context", "s": "context"}
    with pytest.raises(ValueError, match="part_names has 1"):
        parts_under_peak(maps, keypoints, boxes, ["eye"], image_index=[0, 0, 0, 1])
