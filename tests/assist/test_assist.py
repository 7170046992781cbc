"""Suggestions, proposed groupings and transfers on descriptors whose truth is known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xnaming_widget.activations import ActivationSet
from xnaming_widget.assist import DescriptorSpace, propose_groups, rank_candidates, transfer_naming
from xnaming_widget.assist.suggest import group_affinities, whiten_by_concepts
from xnaming_widget.naming import NamingState, naming_doc
from xnaming_widget.widget import NamingWidget

PARTS = ["head", "wing", "tail"]


def blobs(n_per_part=30, dims=40, noise=0.35, seed=0, offset=0):
    """Descriptors of activations of three parts: a direction per part plus noise."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(size=(len(PARTS), dims))
    ids, truth, rows = [], [], []
    for p, part in enumerate(PARTS):
        for i in range(n_per_part):
            ids.append(f"bird/img{offset + p * n_per_part + i:05d}/x{p % 2}")
            truth.append(part)
            rows.append(centres[p] + noise * np.linalg.norm(centres[p]) / np.sqrt(dims) * rng.normal(size=dims))
    return ids, np.array(truth), np.array(rows, dtype=np.float32)


def activation_set(ids, descriptors, config=None):
    n = len(ids)
    table = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "bird",
                          "xfeature": [int(a[-1]) for a in ids], "value": 1.0, "weight": 1.0, "contribution": 1.0,
                          "significant": True, "predicted": "bird", "label": "bird"})
    image_ids = list(dict.fromkeys(table["image_id"]))
    return ActivationSet(table, image_ids, np.zeros((len(image_ids), 4, 4, 3), np.uint8), np.arange(n),
                         np.zeros((n, 4, 4), np.float16), [b""] * n, [b""] * len(image_ids),
                         meta={"config": config or {"model": "m", "descriptor_layer": "conv"}}, descriptors=descriptors)


def test_suggestions_come_from_the_concept_s_part_and_learn_from_rejections():
    ids, truth, x = blobs()
    space = DescriptorSpace(ids, x)
    heads = [a for a, t in zip(ids, truth) if t == "head"]
    picked = rank_candidates(space, heads[:3], ids, k=20)
    assert len(picked) == 20 and not set(picked) & set(heads[:3])
    part = dict(zip(ids, truth))
    assert sum(part[a] == "head" for a in picked) >= 18
    wings = [a for a, t in zip(ids, truth) if t == "wing"]
    members = heads[:3] + [a for a in picked if part[a] == "head"]
    rejected = [a for a in picked if part[a] != "head"] + wings[3:5]
    again = rank_candidates(space, members, ids, other_concepts=[wings[:3]], rejected=rejected, k=40)
    assert not set(again) & set(rejected) and not set(again) & set(members)  # never suggested again
    left = len(heads) - len(members)
    assert all(part[a] == "head" for a in again[:left])  # what is left of the heads comes first


def _affinity(x, group, neighbours=5):
    """The mean of x's `neighbours` highest cosines to the group's rows, by sorting."""
    return float(np.mean(sorted((g @ x for g in group), reverse=True)[:neighbours]))


def _in_naming_metric(vectors, concepts, prior=20):
    """The naming's metric written out: each concept's members minus their mean, the outer
    products summed and divided by the named count, shrunk toward tr/d I with weight
    prior / (prior + named), the vectors times its inverse square root, unit length."""
    d, named = vectors.shape[1], sum(len(rows) for rows in concepts)
    scatter = np.zeros((d, d))
    for rows in concepts:
        mean = vectors[rows].astype(np.float64).mean(axis=0)
        for r in rows:
            scatter += np.outer(vectors[r] - mean, vectors[r] - mean)
    scatter /= named
    a = prior / (prior + named)
    values, axes = np.linalg.eigh((1 - a) * scatter + a * np.trace(scatter) / d * np.eye(d))
    out = vectors @ axes @ np.diag(values ** -0.5) @ axes.T
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_the_naming_metric_is_the_shrunk_within_concept_whitening():
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(40, 6)).astype(np.float32)
    groups = np.full(40, -1)
    groups[:10], groups[10:13], groups[13:30] = 0, 1, 2
    got = whiten_by_concepts(vectors, groups)
    expected = _in_naming_metric(vectors.astype(np.float64), [range(10), range(10, 13), range(13, 30)])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert whiten_by_concepts(vectors, np.full(40, -1)) is vectors  # nothing named: the plain cosine


def test_the_naming_metric_discounts_what_varies_within_concepts():
    """Two concepts 0.6 apart along axis 1, each spread widely along axis 0 (A over [-0.2, 1],
    B over [-1, 0.2]). A candidate on B's side of axis 1, at 0.9 along axis 0 where only A's
    members lie, is nearest to A by the plain cosine (0.6 from an A member, 0.7 from the
    nearest B) and nearest to B in the naming's metric, which discounts axis 0."""
    rng = np.random.default_rng(0)
    noise = lambda: 0.02 * rng.normal(size=30)  # noqa: E731
    a_rows = np.c_[np.linspace(-0.2, 1.0, 30), -0.3 + noise(), 3 + noise()]
    b_rows = np.c_[np.linspace(-1.0, 0.2, 30), 0.3 + noise(), 3 + noise()]
    candidate = np.array([[0.9, 0.3, 3.0]])
    vectors = np.concatenate([a_rows, b_rows, candidate]).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert (unit[60] @ unit[:30].T).max() > (unit[60] @ unit[30:60].T).max()  # plainly: A
    groups = np.r_[np.zeros(30), np.ones(30), [-1]].astype(int)
    metric = whiten_by_concepts(vectors, groups)
    assert (metric[60] @ metric[:30].T).max() < (metric[60] @ metric[30:60].T).max()  # in the metric: B


def test_a_direct_score_ranks_like_the_function():
    """Affinity to the concept minus the largest affinity to another concept or cosine to a
    rejected activation, in the naming's metric, written out one candidate at a time (small
    and large groups)."""
    ids, _, x = blobs(n_per_part=10, dims=8)
    space = DescriptorSpace(ids, x)
    members, others, rejected = ids[:8], [ids[10:13], ids[13:20]], ids[20:22]
    v = _in_naming_metric(space.vectors, [range(8), range(10, 13), range(13, 20)])
    candidates = [a for a in ids if a not in members + rejected]
    row = {a: v[ids.index(a)] for a in ids}
    score = {a: _affinity(row[a], v[:8])
             - max([_affinity(row[a], v[10:13]), _affinity(row[a], v[13:20])] + [row[a] @ v[20], row[a] @ v[21]])
             for a in candidates}
    expected = sorted(candidates, key=lambda a: -score[a])[:7]
    assert rank_candidates(space, members, ids, other_concepts=others, rejected=rejected, k=7) == expected


def test_group_affinities_equal_a_sort_per_group():
    rng = np.random.default_rng(3)
    similarities = rng.normal(size=(6, 40)).astype(np.float32)
    labels = rng.integers(0, 4, size=40)
    labels[labels == 2] = 3  # group 2 is empty: -inf
    got = group_affinities(similarities, labels, 5, neighbours=3)
    for s in range(6):
        for g in range(5):
            values = sorted(similarities[s, labels == g], reverse=True)[:3]
            assert got[s, g] == (pytest.approx(np.mean(values), abs=1e-6) if values else -np.inf)


def two_looks(n_per_look=10):
    """A space of three looks: A and B at right angles, C between them (unit vectors as drawn)."""
    rng = np.random.default_rng(0)
    looks = {"A": [1, 0, 0], "B": [0, 1, 0], "C": [0.7, 0.7, 0.14]}
    ids, rows = [], []
    for direction in looks.values():
        for _ in range(n_per_look):
            ids.append(f"bird/img{len(ids):05d}/x0")
            rows.append(np.array(direction) + 0.05 * rng.normal(size=3))
    x = np.array(rows, np.float32)
    space = DescriptorSpace(ids, x)
    space.vectors = x / np.linalg.norm(x, axis=1, keepdims=True)  # the looks as drawn, not centred
    return ids, space


def test_a_concept_of_two_looks_brings_both_before_what_lies_between():
    """Members of two looks (A and B, more members of each than the 5 neighbours an affinity
    reads): their mean vector points between them, where the unlabeled look C lies; the
    members' nearest neighbours are A's and B's rest."""
    ids, space = two_looks()
    members = ids[:6] + ids[10:16]
    picked = rank_candidates(space, members, ids, k=8)
    assert set(picked) == set(ids[6:10] + ids[16:20])  # the rest of A and B; none of C
    prototype = space.vectors[[ids.index(a) for a in members]].mean(0)
    assert max(space.vectors[20:] @ prototype) > max(space.vectors[[6, 7, 8, 9, 16, 17, 18, 19]] @ prototype)


def test_many_candidates_are_ranked_from_a_prototype_shortlist(monkeypatch):
    """Beyond max(SHORTLIST, 10 k) candidates, affinities are computed only for that many, the
    best by the prototype score: with two looks and more of C (near the mean) than the
    shortlist holds, the shortlist is all C and so is the answer; a longer one reaches A and B."""
    from xnaming_widget.assist import suggest

    ids, space = two_looks(n_per_look=14)
    members = ids[:6] + ids[14:20]
    monkeypatch.setattr(suggest, "SHORTLIST", 10)
    short = rank_candidates(space, members, ids, k=1)
    monkeypatch.setattr(suggest, "SHORTLIST", 100)
    full = rank_candidates(space, members, ids, k=1)
    v = _in_naming_metric(space.vectors, [[ids.index(m) for m in members]])
    affinity = {a: _affinity(v[ids.index(a)], v[[ids.index(m) for m in members]]) for a in ids[28:]}
    assert short == [max(ids[28:], key=affinity.get)]  # the best of C, the whole shortlist
    assert full[0] in ids[6:14] + ids[20:28]


def test_proposed_groups_recover_the_parts_within_each_xfeature():
    ids, truth, x = blobs(n_per_part=40)
    space = DescriptorSpace(ids, x)
    groups = propose_groups(space, ids, {a: int(a[-1]) for a in ids}, size=40)
    part = dict(zip(ids, truth))
    assert sum(len(m) for _, m in groups) >= 0.9 * len(ids)
    for name, members in groups:
        assert len({int(a[-1]) for a in members}) == 1, "a group never mixes x-features"
        top = max(sum(part[a] == p for a in members) for p in PARTS)
        assert top / len(members) >= 0.9, f"{name} mixes parts"


def test_widget_suggest_accept_reject_propose_and_provenance(tmp_path):
    ids, truth, x = blobs(n_per_part=40)
    acts = activation_set(ids, x)
    w = NamingWidget(acts, category="bird", annotator="ana", autosave=tmp_path / "ana.json")
    heads = [a for a, t in zip(ids, truth) if t == "head"]
    cid = w.create_concept("head", heads[:3])
    suggested = w.suggest(cid, k=20)
    part = dict(zip(ids, truth))
    right = [a for a in suggested if part[a] == "head"]
    wrong = [a for a in suggested if part[a] != "head"]
    w.accept(cid, right)  # one operation
    if wrong:
        w.reject(cid, wrong)
        assert not set(w.suggest(cid, k=100)) & set(wrong)
    table = w.naming.set_index("activation_id")
    assert (table.loc[right, "placed_by"] == "suggestion").all() and (table.loc[heads[:3], "placed_by"] == "person").all()
    version = w.state["version"]
    proposed = w.propose_concepts(size=40)
    assert proposed and w.state["version"] == version + 1  # one operation
    assert all(w.state["marks"][a] == ["proposal", True] for c in w.state["concepts"] if c["id"] in proposed
               for a in c["members"])
    w.undo()
    assert [c["id"] for c in w.state["concepts"]] == [cid]  # one undo step
    w.close()
    again = NamingWidget(acts, category="bird", annotator="ana", autosave=tmp_path / "ana.json")
    if wrong:
        assert again._naming.rejected(cid) == set(wrong)  # rejections survive a restart
    again.close()


def test_start_from_another_person_and_transfer_to_new_images(tmp_path):
    ids, truth, x = blobs(n_per_part=30)
    source = activation_set(ids, x)
    state = NamingState(ids)
    for p in PARTS:
        state.create_concept(p, [a for a, t in zip(ids, truth) if t == p][:20])
    snap = state.snapshot()
    doc = naming_doc(annotator="ben", category="bird", fingerprint=source.fingerprint, concepts=snap["concepts"],
                     trash=snap["trash"], unlabeled=snap["unlabeled"])
    from xnaming_widget._files import write_json_atomic

    write_json_atomic(tmp_path / "ben.json", doc)
    w = NamingWidget(source, category="bird", annotator="ana", start_from=tmp_path / "ben.json")
    assert [c["name"] for c in w.state["concepts"]] == PARTS
    assert all(mark == ["transfer", True] for mark in w.state["marks"].values()) and len(w.state["marks"]) == 60
    w.confirm(w.state["concepts"][0]["members"])
    assert sum(m[1] for m in w.state["marks"].values()) == 40
    w.close()

    new_ids, new_truth, new_x = blobs(n_per_part=30, seed=9, offset=500)
    target = activation_set(new_ids, new_x)
    carried = transfer_naming(doc, source, target)
    assert list(carried.columns) == ["activation_id", "concept", "confidence"] and len(carried) == 90
    assert carried["confidence"].between(0, 1).all() and carried["confidence"].is_monotonic_decreasing
    truth_of = dict(zip(new_ids, new_truth))
    named = carried.dropna(subset=["concept"])
    confident = named[named["confidence"] >= named["confidence"].median()]
    assert (confident["concept"] == confident["activation_id"].map(truth_of)).mean() >= 0.95
    other_model = activation_set(new_ids, new_x, config={"model": "other", "descriptor_layer": "conv"})
    with pytest.raises(ValueError, match="differ in model"):
        transfer_naming(doc, source, other_model)


def test_suggestions_need_descriptors():
    ids, _, x = blobs(n_per_part=5)
    acts = activation_set(ids, None)
    w = NamingWidget(acts, category="bird", annotator="ana")
    cid = w.create_concept("head", ids[:3])
    with pytest.raises(ValueError, match="descriptors"):
        w.suggest(cid)


def test_suggestion_scores_are_the_ranking_score_and_reach_the_canvas():
    """The widget's scores equal the affinity to the concept minus the largest affinity to
    another concept or cosine to a rejected activation, computed here from the widget's own
    projected vectors; the canvas gets them with the ids."""
    ids, truth, x = blobs(n_per_part=30)
    acts = activation_set(ids, x)
    w = NamingWidget(acts, category="bird", annotator="ana")
    part = dict(zip(ids, truth))
    heads = [a for a in ids if part[a] == "head"]
    wings = [a for a in ids if part[a] == "wing"]
    head, wing = w.create_concept("head", heads[:3]), w.create_concept("wing", wings[:4])
    w.reject(head, wings[4:6])
    scored = w.suggestion_scores(head, k=12)
    space = w._descriptor_space()
    metric = _in_naming_metric(space.vectors, [space.rows(heads[:3]), space.rows(wings[:4])])
    v = {a: metric[space.index[a]] for a in space.ids}
    pool = [a for a in ids if a not in heads[:3] + wings[:6]]
    direct = {a: _affinity(v[a], [v[m] for m in heads[:3]])
              - max(_affinity(v[a], [v[m] for m in wings[:4]]), v[a] @ v[wings[4]], v[a] @ v[wings[5]]) for a in pool}
    assert list(scored.index) == sorted(pool, key=lambda a: -direct[a])[:12] == w.suggest(head, k=12)
    np.testing.assert_allclose(scored.to_numpy(), [direct[a] for a in scored.index], atol=1e-5)
    sent = []
    w.send = lambda msg, buffers=None: sent.append(msg)
    w._send_suggestions({"type": "suggest", "req": 4, "concept": head, "k": 12})
    assert sent[-1]["ids"] == list(scored.index)
    np.testing.assert_allclose(sent[-1]["scores"], scored.to_numpy(), atol=1e-4)
    w.close()

