"""Small hand-made activation tables and namings whose measures are worked out by hand in the tests."""
import pandas as pd
import pytest


def make_activations(rows):
    """rows: (activation_id, image_id, xfeature, significant) of category 'bird'."""
    table = pd.DataFrame(rows, columns=["activation_id", "image_id", "xfeature", "significant"])
    table["category"] = "bird"
    return table


def make_naming(annotator, concepts, trash=(), unlabeled=(), category="bird"):
    """concepts: {concept_id: (name, [activation ids])}."""
    rows = [(annotator, category, aid, cid, name, "named") for cid, (name, members) in concepts.items() for aid in members]
    rows += [(annotator, category, aid, None, None, "trash") for aid in trash]
    rows += [(annotator, category, aid, None, None, "unlabeled") for aid in unlabeled]
    cols = ["annotator", "category", "activation_id", "concept_id", "concept", "status"]
    return pd.DataFrame(rows, columns=cols).astype("string")


@pytest.fixture
def birds():
    """Five images, seven significant activations (a6 is not significant)."""
    acts = make_activations([
        ("a1", "i1", 0, True), ("a2", "i1", 1, True),
        ("a3", "i2", 0, True), ("a4", "i2", 0, True),
        ("a5", "i3", 0, True), ("a6", "i3", 2, False),
        ("a7", "i4", 1, True), ("a8", "i5", 0, True),
    ])
    alice = make_naming("alice", {"c1": ("eye", ["a1", "a3", "a5"]), "c2": ("wing", ["a2", "a4", "a7"])},
                        unlabeled=["a8"])
    bob = make_naming("bob", {"k1": ("head", ["a1", "a3", "a8"]), "k2": ("tiny", ["a5", "a7"])},
                      trash=["a2"], unlabeled=["a4"])
    return acts, alice, bob


@pytest.fixture
def build():
    """The table builders, for tests that make their own small cases."""
    return make_activations, make_naming
