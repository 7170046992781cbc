"""Autosave: every change on disk, exact restoration, and refusals that never lose anybody's work."""
from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnaming_widget.naming.document import NamingFileError, read_naming_file
from xnaming_widget.widget import AutosaveConflictError, NamingWidget


def make_table(category="Sneaker", n_images=5, shift=0.0):
    rows = [dict(activation_id=f"{category}/img{i}/x{k}", image_id=f"img{i}", category=category, xfeature=k,
                 value=1.0, weight=1.0, contribution=1.0 + shift, significant=k < 2, predicted=category,
                 label=category) for i in range(n_images) for k in range(3)]
    return pd.DataFrame(rows)


TABLE = make_table()
IDS = [f"Sneaker/img{i}/x{k}" for i in range(5) for k in range(2)]


@pytest.fixture
def widgets():
    """Widgets made by a test, closed afterwards so that their autosave files are released."""
    made = []

    def make(*args, **kwargs):
        w = NamingWidget(*args, **kwargs)
        made.append(w)
        return w

    make.load = lambda *a, **kw: made.append(NamingWidget.load(*a, **kw)) or made[-1]
    yield make
    for w in made:
        w.close()


def some_work(w):
    heel = w.create_concept("heel", IDS[:3])
    toe = w.create_concept("toe <b>", IDS[3:5])
    w.move(IDS[5:6], "trash")
    w.rename(toe, "toe cap")
    w.move(IDS[6:8], heel)
    w.undo()
    return heel, toe


def test_every_change_is_on_disk_with_owner_and_timestamped_log(tmp_path, widgets):
    path = tmp_path / "namings" / "ana-Sneaker.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    assert read_naming_file(path)["unlabeled"] == IDS  # written at once, folders created
    some_work(w)
    doc = read_naming_file(path)
    assert (doc["annotator"], doc["category"], doc["fingerprint"]) == ("ana", "Sneaker", w.fingerprint)
    assert doc["schema_version"] == 2
    assert [e["op"] for e in doc["log"]] == ["create", "create", "move", "rename", "move", "undo"]
    times = [datetime.fromisoformat(e["time"]) for e in doc["log"]]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert doc["saved_at"] == w.state["saved_at"]
    assert doc["concepts"][1] == {"id": doc["concepts"][1]["id"], "name": "toe cap", "members": IDS[3:5]}
    assert doc["trash"] == IDS[5:6]
    lock = f".{path.name}.lock"  # says who has the file open, while the widget is open
    assert sorted(p.name for p in tmp_path.joinpath("namings").iterdir()) == sorted([path.name, lock])
    w.close()
    assert [p.name for p in tmp_path.joinpath("namings").iterdir()] == [path.name]  # no temp files left


def test_reopening_the_file_restores_the_naming_ids_and_undo_history(tmp_path, widgets):
    path = tmp_path / "ana.json"
    first = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    heel, toe = some_work(first)
    naming = first.naming
    first.close()
    second = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    pd.testing.assert_frame_equal(second.naming, naming)
    assert second.state["can_undo"] and second.state["can_redo"]
    second.redo()  # the move undone before the restart
    assert second.concepts.set_index("id").loc[heel, "size"] == 5
    for _ in range(5):
        second.undo()
    assert not second.state["can_undo"] and second.state["unlabeled"] == IDS
    assert second.create_concept("new") not in (heel, toe)
    assert read_naming_file(path)["concepts"][0]["name"] == "new"


@pytest.mark.parametrize("other, message", [
    (dict(activations=make_table(shift=0.5)), "another activation set"),
    (dict(annotator="ben"), "annotator 'ana'"),
    (dict(activations=make_table("Boot"), category="Boot"), "category 'Sneaker'"),
])
def test_a_file_of_another_set_category_or_person_is_refused_untouched(tmp_path, widgets, other, message):
    path = tmp_path / "ana.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    some_work(w)
    w.close()
    before = path.read_bytes()
    kwargs = dict(activations=TABLE, category="Sneaker", annotator="ana", autosave=path) | other
    with pytest.raises(NamingFileError, match=message):
        widgets(**kwargs)
    assert path.read_bytes() == before
    widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)  # the refusal held nothing open


@pytest.mark.parametrize("content, message", [
    ('{"schema": "xnaming-widget/naming", "concepts": [', "not valid JSON"),
    ('{"hello": 1}', "not an xnaming-widget naming file"),
])
def test_a_corrupt_file_is_refused_and_kept(tmp_path, widgets, content, message):
    path = tmp_path / "ana.json"
    path.write_text(content)
    with pytest.raises(NamingFileError, match=message):
        widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    assert path.read_text() == content


def test_a_file_naming_unknown_activations_is_refused(tmp_path, widgets):
    path = tmp_path / "ana.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    w.close()
    doc = json.loads(path.read_text())
    doc["unlabeled"].append("Sneaker/img99/x0")
    path.write_text(json.dumps(doc))
    with pytest.raises(NamingFileError, match="not among the shown activations"):
        widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)


def test_a_second_widget_on_the_file_takes_over_and_the_first_stops_changing(tmp_path, widgets):
    path = tmp_path / "ana.json"
    first = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    first.create_concept("heel", IDS[:3])
    second = widgets(TABLE, category="Sneaker", annotator="ana", autosave=tmp_path / "." / "ana.json")
    assert second.concepts["name"].tolist() == ["heel"]  # everything the first did was on disk
    saved = path.read_bytes()
    with pytest.raises(AutosaveConflictError, match="newer naming widget"):
        first.move(IDS[3:4], "trash")
    assert "newer naming widget" in first.error
    first._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "op", "op": "undo"}}}, "buffers": []})
    assert first.concepts["size"].tolist() == [3] and path.read_bytes() == saved
    second.move(IDS[3:4], "trash")
    assert read_naming_file(path)["trash"] == IDS[3:4]
    first.close()  # closing the superseded widget does not free the newer one's file
    with pytest.raises(AutosaveConflictError, match="already the autosave file"):
        first.save(path)


def test_a_refused_file_does_not_disturb_the_widget_that_holds_it(tmp_path, widgets):
    path = tmp_path / "ana.json"
    first = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    with pytest.raises(NamingFileError):
        widgets(TABLE, category="Sneaker", annotator="ben", autosave=path)
    first.create_concept("heel", IDS[:3])
    assert read_naming_file(path)["concepts"][0]["name"] == "heel"


def test_a_change_made_by_someone_else_is_never_overwritten(tmp_path, widgets):
    path = tmp_path / "ana.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    w.create_concept("heel", IDS[:3])
    doc = read_naming_file(path)
    doc["concepts"][0]["name"] = "edited elsewhere"
    path.write_text(json.dumps(doc))  # e.g. a widget in another kernel
    foreign = path.read_bytes()
    before = dict(w.state)
    with pytest.raises(AutosaveConflictError, match="changed by someone else"):
        w.move(IDS[3:4], "trash")
    assert path.read_bytes() == foreign and w.state == before and w.concepts["size"].tolist() == [3]
    w._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "op", "op": "move", "ids": IDS[3:4], "target": "trash"}}}, "buffers": []})
    assert "changed by someone else" in w.error and path.read_bytes() == foreign
    saved = w.save(tmp_path / "ana-rescued.json")  # the way out the message names
    assert read_naming_file(saved)["concepts"][0]["name"] == "heel"


def test_save_and_load_round_trip(tmp_path, widgets):
    w = widgets(TABLE, category="Sneaker", annotator="ana")
    some_work(w)
    path = w.save(tmp_path / "copy.json")
    loaded = widgets.load(path, TABLE)
    pd.testing.assert_frame_equal(loaded.naming, w.naming)
    assert loaded.autosave_path is None and loaded.state["can_undo"]
    continued = widgets.load(path, TABLE, autosave=True)
    continued.create_concept("later")
    assert read_naming_file(path)["concepts"][-1]["name"] == "later"


def test_load_refuses_other_activations_and_save_refuses_another_persons_file(tmp_path, widgets):
    ana = widgets(TABLE, category="Sneaker", annotator="ana")
    path = ana.save(tmp_path / "ana.json")
    with pytest.raises(NamingFileError, match="another activation set"):
        NamingWidget.load(path, make_table(shift=1.0))
    ben = widgets(TABLE, category="Sneaker", annotator="ben")
    before = path.read_bytes()
    with pytest.raises(NamingFileError, match="annotator 'ana'"):
        ben.save(path)
    assert path.read_bytes() == before
    ben.save(path, overwrite=True)
    assert read_naming_file(path)["annotator"] == "ben"


def test_a_folder_as_autosave_path_is_explained(tmp_path):
    with pytest.raises(ValueError, match="is a folder; give a file path"):
        NamingWidget(TABLE, category="Sneaker", annotator="ana", autosave=tmp_path)


def test_save_refuses_a_file_another_widget_autosaves_into(tmp_path, widgets):
    path = tmp_path / "ana.json"
    widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    other = widgets(TABLE, category="Sneaker", annotator="ana")
    with pytest.raises(AutosaveConflictError):
        other.save(path)


def test_a_log_that_does_not_fit_restores_the_naming_with_a_warning(tmp_path, widgets):
    path = tmp_path / "ana.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    w.create_concept("heel", IDS[:3])
    w.close()
    doc = json.loads(path.read_text())
    doc["concepts"][0]["members"].remove(IDS[0])
    doc["trash"].append(IDS[0])  # edited by hand
    path.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="undo history starts afresh"):
        again = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    assert again.state["trash"] == [IDS[0]] and not again.state["can_undo"]
    assert [e["op"] for e in read_naming_file(path)["log"]] == ["create", "history_reset"]  # record kept


def test_a_failed_write_rolls_the_change_back(tmp_path, widgets, monkeypatch):
    from xnaming_widget.naming import journal as autosave_module

    path = tmp_path / "ana.json"
    w = widgets(TABLE, category="Sneaker", annotator="ana", autosave=path)
    w.create_concept("heel", IDS[:3])
    saved, before = path.read_bytes(), dict(w.state)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(autosave_module, "_sync_data", disk_full)
    with pytest.raises(OSError, match="No space"):
        w.move(IDS[3:6], "trash")
    w._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "op", "op": "undo"}}}, "buffers": []})
    assert "No space" in w.error
    assert path.read_bytes() == saved and w.state["concepts"] == before["concepts"] and w.state["can_undo"]
    monkeypatch.undo()
    w.undo()
    assert read_naming_file(path)["concepts"] == []


operations = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sampled_from(["heel", "toe", ""]), st.lists(st.sampled_from(IDS), max_size=4)),
    st.tuples(st.just("move"), st.lists(st.sampled_from(IDS), max_size=4),
              st.sampled_from(["c1", "c2", "c3", "trash", "unlabeled"])),
    st.tuples(st.just("merge"), st.sampled_from([["c1", "c2"], ["c2", "c3", "c1"]])),
    st.tuples(st.just("delete"), st.sampled_from(["c1", "c2", "c3"])),
    st.tuples(st.just("undo")), st.tuples(st.just("redo")),
), max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_file_always_holds_what_the_widget_shows(tmp_path_factory, ops):
    """Random browser operations, valid or not: the file matches the state after every one."""
    path = tmp_path_factory.mktemp("random") / "ana.json"
    w = NamingWidget(TABLE, category="Sneaker", annotator="ana", autosave=path)
    try:
        fields = {"create": ("name", "members"), "move": ("ids", "target"), "merge": ("concept_ids",),
                  "delete": ("concept_id",), "undo": (), "redo": ()}
        for op, *args in ops:
            content = {"type": "op", "op": op, **dict(zip(fields[op], args))}
            w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
            doc = read_naming_file(path)  # also checks: every activation in exactly one place
            assert {k: doc[k] for k in ("concepts", "unlabeled", "trash")} == \
                {k: w.state[k] for k in ("concepts", "unlabeled", "trash")}
            placed = [a for c in doc["concepts"] for a in c["members"]] + doc["unlabeled"] + doc["trash"]
            assert sorted(placed) == sorted(IDS)
        w.close()
        again = NamingWidget(TABLE, category="Sneaker", annotator="ana", autosave=path)
        assert (again.state["can_undo"], again.state["can_redo"]) == (w.state["can_undo"], w.state["can_redo"])
        again.close()
    finally:
        w.close()
