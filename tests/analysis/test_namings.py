import pandas as pd
import pytest

from xnaming_widget.analysis import NamingError, Namings, named_concepts
from xnaming_widget.analysis.simulate import naming_docs
from xnaming_widget._files import write_json_atomic
from xnaming_widget.naming import NamingState, fingerprint_of
from xnaming_widget.naming.document import TABLE_COLUMNS, naming_doc


def test_cleaning_dissolves_small_concepts_and_drops_trash(birds):
    acts, _, bob = birds
    concept_of, names = named_concepts(bob, acts)
    assert sorted(concept_of.index) == ["a1", "a3", "a8"]  # k2 has 2 members < 3; a2 is trash
    assert names == {"k1": "head"}
    concept_of, names = named_concepts(bob, acts, min_size=2)
    assert sorted(concept_of.index) == ["a1", "a3", "a5", "a7", "a8"]
    assert names == {"k1": "head", "k2": "tiny"}


def test_only_significant_activations_count(birds):
    acts, alice, _ = birds
    extra = pd.concat([alice, alice.iloc[:0]]).copy()
    extra.loc[len(extra)] = ["alice", "bird", "a6", "c1", "eye", "named"]
    concept_of, _ = named_concepts(extra, acts)
    assert "a6" not in concept_of.index
    assert "a6" in named_concepts(extra)[0].index  # without activations nothing is filtered


def test_views_per_annotator_and_category(birds, tmp_path):
    acts, alice, bob = birds
    namings = Namings([alice, bob], acts)
    assert namings.annotators == ["alice", "bob"] and namings.categories == ["bird"] and len(namings) == 2
    assert set(namings.for_annotator("bob").table["activation_id"]) == set(bob["activation_id"])
    pd.testing.assert_frame_equal(namings.get("alice", "bird")[TABLE_COLUMNS], alice.reset_index(drop=True))
    assert (namings.table["placed_by"] == "person").all() and not namings.table["proposed"].any()  # by hand
    with pytest.raises(KeyError, match="carol"):
        namings.for_annotator("carol")


def test_loads_files_and_folders(birds, tmp_path):
    acts, alice, bob = birds
    for doc in naming_docs(pd.concat([alice, bob]), fingerprint=fingerprint_of(acts)):
        write_json_atomic(tmp_path / f"{doc['annotator']}.json", doc)
    from_folder = Namings(tmp_path, acts)
    from_files = Namings([tmp_path / "alice.json", tmp_path / "bob.json"], acts)
    key = ["annotator", "activation_id"]
    expected = pd.concat([alice, bob]).sort_values(key).reset_index(drop=True)
    for loaded in (from_folder, from_files):
        got = loaded.table[TABLE_COLUMNS].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


def test_validation_errors_say_what_and_where(birds):
    acts, alice, bob = birds
    unknown = alice.copy()
    unknown.loc[0, "activation_id"] = "zz"
    with pytest.raises(NamingError, match="alice.*'zz'.*not in the activation table"):
        Namings(unknown, acts)
    with pytest.raises(NamingError, match="appears 2 times"):
        Namings([alice, alice], acts)
    two_places = alice.copy()
    two_places.loc[len(two_places)] = ["alice", "bird", "a1", None, None, "trash"]
    with pytest.raises(NamingError, match="'a1' is in two places"):
        Namings(two_places, acts)
    mixed = alice.copy()
    mixed["category"] = mixed["category"].where(mixed["activation_id"] != "a2", "fish")
    with pytest.raises(NamingError, match="'a2' belongs to category 'bird'.*mixed categories"):
        Namings(mixed, acts)
    with pytest.raises(NamingError, match="one annotator's naming of one category"):
        named_concepts(pd.concat([alice, bob]), acts)


def test_a_naming_of_another_activation_set_is_refused_unless_asked(birds, tmp_path):
    """Regression: Namings used to read a file of another set against these activations."""
    acts, alice, _ = birds
    doc = naming_docs(alice, fingerprint="another-set")[0]
    with pytest.raises(NamingError, match="another activation set.*check_fingerprint=False"):
        Namings(doc, acts)
    with pytest.raises(NamingError, match="another activation set"):
        named_concepts(Namings(doc).get("alice", "bird"), acts)  # the table remembers its set
    assert len(Namings(doc, acts, check_fingerprint=False)) == 1


def test_agreement_can_leave_out_what_the_tool_placed():
    """Members a suggestion, proposal or transfer placed carry it into the table; person_placed()
    counts them as unlabeled, so only people's own decisions are compared."""
    ids = [f"bird/img{i:05d}/x0" for i in range(9)]
    acts = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "bird",
                         "significant": True})
    state = NamingState(ids)
    head = state.create_concept("head", ids[:3])
    state.move(ids[3:5], head, via="suggestion")
    wing = state.create_concept("wing", ids[5:8], via="proposal")
    state.confirm(ids[5:6])
    snap = state.snapshot()
    doc = naming_doc(annotator="ana", category="bird", fingerprint=fingerprint_of(acts), concepts=snap["concepts"],
                     trash=snap["trash"], unlabeled=snap["unlabeled"], marks=snap["marks"])
    namings = Namings(doc, acts)
    by_id = namings.table.set_index("activation_id")
    assert by_id.loc[ids[0], "placed_by"] == "person" and by_id.loc[ids[3], "placed_by"] == "suggestion"
    assert by_id.loc[ids[5], "placed_by"] == "proposal" and not by_id.loc[ids[5], "proposed"]
    assert by_id.loc[ids[6], "proposed"] and by_id.loc[ids[6], "concept_id"] == wing
    own = namings.person_placed().table.set_index("activation_id")
    assert list(own.index[own["status"] == "named"]) == ids[:3]
    assert named_concepts(namings.person_placed().get("ana", "bird"), acts)[1] == {head: "head"}
