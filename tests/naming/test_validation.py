"""Names and fingerprints are checked at every entrance: the widget, naming files, Namings and
global_explanation refuse what the widget would refuse, with a message that says what."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from xnaming_widget.analysis import Namings, global_explanation
from xnaming_widget.analysis.simulate import naming_docs
from xnaming_widget.naming import NamingError, NamingFileError, NamingState, fingerprint_of, read_naming_file

IDS = [f"bird/img{i:05d}/x0" for i in range(8)]
ACTS = pd.DataFrame({"activation_id": IDS, "image_id": [a.split("/")[1] for a in IDS], "category": "bird",
                     "xfeature": 0, "contribution": 1.0, "significant": True})


def _table(names):
    rows = [("ana", "bird", aid, f"c{k // 3 + 1}", names[k // 3], "named") for k, aid in enumerate(IDS[:3 * len(names)])]
    rows += [("ana", "bird", aid, pd.NA, pd.NA, "unlabeled") for aid in IDS[3 * len(names):]]
    return pd.DataFrame(rows, columns=["annotator", "category", "activation_id", "concept_id", "concept", "status"])


@pytest.mark.parametrize("bad, message", [
    ("", "empty"), (None, "must be a string|empty"), ("tab\there", "control characters"),
    ("x" * 10_000_000, "at most 200"),
])
def test_invalid_names_are_refused_by_the_analysis(bad, message):
    """Regression: empty, null, control-character and 10 MB names reached the plots."""
    with pytest.raises(NamingError, match=message):
        Namings(_table(["head", bad]), ACTS)
    doc = naming_docs(_table(["head", "wing"]), fingerprint=fingerprint_of(ACTS))[0]
    doc["concepts"][1]["name"] = bad
    with pytest.raises(NamingFileError, match=r"concepts\[1\]\.name"):
        Namings(doc, ACTS)
    with pytest.raises(NamingError):
        global_explanation(doc, ACTS)


def test_names_in_files_are_cleaned_as_the_widget_cleans_them_and_tables_must_be_clean():
    doc = naming_docs(_table(["head", "wing"]), fingerprint=fingerprint_of(ACTS))[0]
    doc["concepts"][1]["name"] = "  wing "
    assert set(Namings(doc, ACTS).table["concept"].dropna()) == {"head", "wing"}
    with pytest.raises(NamingError, match="outer white space"):
        Namings(_table(["head", "  wing"]), ACTS)


@pytest.mark.parametrize("twin", ["Head", "head ", " HEAD", "he\u0061d"])
def test_duplicate_names_are_refused_naming_the_existing_concept(twin):
    """Regression: duplicates were accepted and global explanations pooled them."""
    with pytest.raises(NamingError, match=r"\['c1', 'c2'\] share the name"):
        Namings(_table(["head", twin.strip()]), ACTS)
    state = NamingState(IDS)
    state.create_concept("head", IDS[:3])
    with pytest.raises(NamingError, match=r"already called 'head' \(c1\)"):
        state.create_concept(twin)
    other = state.create_concept("wing")
    with pytest.raises(NamingError, match="already called 'head'"):
        state.rename(other, twin)
    state.merge(["c1", other], "Head")  # the merged concepts' own names are free to reuse
    assert state.concepts[0]["name"] == "Head"


def test_names_are_stored_in_unicode_nfc():
    state = NamingState(IDS)
    cid = state.create_concept("e\u0301clair")  # e + combining accent
    assert state.concept_name(cid) == "\u00e9clair"
    with pytest.raises(NamingError, match="already called"):
        state.create_concept("\u00e9clair")


@pytest.mark.parametrize("field, value, where", [
    ("annotator", "", "'annotator'"), ("concepts", {"id": "c1"}, "'concepts'"),
    ("trash", "bird/img00001/x0", "'trash'"), ("fingerprint", 7, "'fingerprint'"),
])
def test_malformed_files_name_the_field(tmp_path, field, value, where):
    doc = naming_docs(_table(["head"]), fingerprint="f")[0]
    doc[field] = value
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(NamingFileError, match=f"field {where}"):
        read_naming_file(path)


def test_a_member_that_is_not_an_id_is_named_by_its_place(tmp_path):
    doc = naming_docs(_table(["head"]), fingerprint="f")[0]
    doc["concepts"][0]["members"][1] = None
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(NamingFileError, match=r"concepts\[0\]\.members\[1\]"):
        read_naming_file(path)
