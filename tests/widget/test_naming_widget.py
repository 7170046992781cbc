"""NamingWidget: input checks, the synced payload, and state sync driven by fake front-end messages.

A recording comm stands in for the kernel's comm, so the tests see exactly the messages a
browser would receive (state JSON plus binary buffers).
"""
from __future__ import annotations

import io
import json

import comm
import numpy as np
import pandas as pd
import pytest
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image

from xnaming_widget.widget import NamingWidget

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_table(n_images=4, n_features=3, categories=("Sneaker", "Boot"), significant_features=2):
    """definitions §5 table: every image of every category has n_features rows; the first few significant."""
    rows = []
    for category in categories:
        for i in range(n_images):
            for k in range(n_features):
                rows.append(dict(
                    activation_id=f"{category}/img{i:04d}/x{k}", image_id=f"img{i:04d}", category=category,
                    xfeature=k, value=float(k + 1), weight=1.0 - k, contribution=float((k + 1) * (1.0 - k)),
                    significant=k < significant_features, predicted=category,
                    label=category if i % 2 == 0 else (pd.NA if i % 4 == 3 else "Other"),
                ))
    return pd.DataFrame(rows)


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeActivationSet:
    """The ActivationSet contract of docs/architecture.md, with one missing heatmap thumbnail."""

    def __init__(self, table, missing=()):
        self.table = table
        self.fingerprint = "fake-set-1"
        self.missing = set(missing)
        self.thumbs = {aid: png(i) for i, aid in enumerate(table["activation_id"])}
        self.image_thumbs = {img: png(1000 + i) for i, img in enumerate(pd.unique(table["image_id"]))}

    def thumbnail(self, activation_id):
        return None if activation_id in self.missing else self.thumbs[activation_id]

    def image_thumbnail(self, image_id):
        return self.image_thumbs[image_id]


class RecordingComm(comm.base_comm.BaseComm):
    """A comm that keeps every message the widget publishes."""

    def __init__(self, *args, **kwargs):
        self.published = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self.published.append((msg_type, data, list(buffers or [])))


@pytest.fixture
def recorded(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda *a, **kw: RecordingComm(*a, **kw))


def frontend_op(widget, **content):
    """Deliver a custom message as the kernel would, through the widget's comm handler."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "op", **content}}},
                        "buffers": []})


def updates(widget):
    return [(data, buffers) for kind, data, buffers in widget.comm.published
            if kind == "comm_msg" and data["method"] == "update"]


# ------------------------------------------------------------------- inputs


def test_shows_only_the_categorys_significant_activations_in_table_order():
    table = make_table()
    w = NamingWidget(table, category="Sneaker", annotator="ana")
    expected = table[(table.category == "Sneaker") & table.significant]["activation_id"].tolist()
    assert [a["id"] for a in w.activations] == expected
    assert w.state["unlabeled"] == expected and w.state["concepts"] == [] and w.state["version"] == 0
    first = w.activations[0]
    assert first == {"id": "Sneaker/img0000/x0", "image_id": "img0000", "xfeature": 0, "value": 1.0,
                     "contribution": 1.0, "predicted": "Sneaker", "label": "Sneaker", "correct": True}
    by_image = {a["image_id"]: a for a in w.activations}
    assert by_image["img0001"]["correct"] is False and by_image["img0003"]["correct"] is None
    assert w._payload.thumbnails("heat", expected[:2]) == [b"", b""]  # a bare table: placeholders


def test_unknown_or_missing_category_lists_the_categories():
    table = make_table()
    with pytest.raises(ValueError, match=r"Unknown category 'Shirt'.*\['Boot', 'Sneaker'\]"):
        NamingWidget(table, category="Shirt", annotator="ana")
    with pytest.raises(ValueError, match=r"Pass category=.*\['Boot', 'Sneaker'\]"):
        NamingWidget(table, annotator="ana")
    only_boots = table[table.category == "Boot"]
    assert NamingWidget(only_boots, annotator="ana").category == "Boot"


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(annotator=None), ValueError, "annotator="),
    (dict(annotator="  "), ValueError, "annotator="),
    (dict(annotator="ana", thumb_size=4), ValueError, "thumb_size"),
])
def test_bad_arguments_say_what_to_pass(kwargs, error, message):
    with pytest.raises(error, match=message):
        NamingWidget(make_table(), category="Sneaker", **kwargs)


def test_bad_activation_inputs_are_explained():
    with pytest.raises(TypeError, match="ActivationSet .* or a pandas DataFrame"):
        NamingWidget([1, 2], category="Sneaker", annotator="ana")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['significant'\]"):
        NamingWidget(make_table().drop(columns="significant"), category="Sneaker", annotator="ana")
    table = make_table()
    table.loc[1, "activation_id"] = table.loc[0, "activation_id"]
    with pytest.raises(ValueError, match="unique"):
        NamingWidget(table, category="Sneaker", annotator="ana")
    table = make_table()
    table.loc[table.category == "Boot", "significant"] = False
    with pytest.raises(ValueError, match="no significant activations"):
        NamingWidget(table, category="Boot", annotator="ana")


def thumbs_request(widget, kind, ids, req=1):
    """Ask for thumbnails as the browser does; return Python's answer ``(content, buffers)``."""
    widget.comm.published.clear()
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "thumbs", "kind": kind, "req": req, "ids": ids}}}, "buffers": []})
    answers = [(data["content"], buffers) for kind_, data, buffers in widget.comm.published
               if kind_ == "comm_msg" and data["method"] == "custom"]
    assert len(answers) == 1, widget.comm.published
    return answers[0]


def unpack(content, buffers):
    (blob,) = buffers
    blob, offsets = bytes(blob), content["offsets"]
    return [blob[offsets[i]:offsets[i + 1]] for i in range(len(content["ids"]))]


def test_the_table_trait_has_the_shown_activations_column_by_column():
    table = make_table()
    w = NamingWidget(FakeActivationSet(table), category="Sneaker", annotator="ana")
    expected = table[(table.category == "Sneaker") & table.significant]
    columns = json.loads(w.table.decode("utf-8"))  # sent as one binary buffer of UTF-8 JSON
    assert columns["id"] == expected["activation_id"].tolist()
    assert columns["xfeature"] == expected["xfeature"].tolist()
    assert columns["contribution"] == pytest.approx(expected["contribution"].tolist())
    assert columns["label"][:8:2] == ["Sneaker", "Other", "Sneaker", None]
    assert set(columns) == {"id", "image_id", "xfeature", "value", "contribution", "predicted", "label"}


def test_compare_gets_every_xfeature_of_an_image_on_request(recorded):
    table = make_table()
    w = NamingWidget(FakeActivationSet(table), category="Sneaker", annotator="ana")
    w.comm.published.clear()
    w._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "image_rows", "req": 3, "image_ids": ["img0002", "nope"]}}}, "buffers": []})
    (answer,) = [data["content"] for kind, data, _ in w.comm.published if kind == "comm_msg"]
    assert answer["type"] == "image_rows" and answer["req"] == 3 and list(answer["images"]) == ["img0002"]
    rows = answer["images"]["img0002"]
    assert [r["xfeature"] for r in rows] == [0, 1, 2]
    assert [r["significant"] for r in rows] == [True, True, False]  # the compare view shows them all
    assert rows[2]["id"] == "Sneaker/img0002/x2" and rows[2]["contribution"] == pytest.approx(3 * (1.0 - 2))


def test_thumbnails_are_sent_on_request_in_one_binary_buffer(recorded):
    table = make_table()
    acts = FakeActivationSet(table, missing={"Sneaker/img0001/x1"})
    w = NamingWidget(acts, category="Sneaker", annotator="ana")
    ids = ["Sneaker/img0002/x0", "Sneaker/img0001/x1", "Sneaker/img0002/x2", "Boot/img0000/x0", "nope"]
    content, buffers = thumbs_request(w, "heat", ids, req=7)
    assert content["type"] == "thumbs" and content["kind"] == "heat" and content["req"] == 7 and content["ids"] == ids
    pngs = unpack(content, buffers)
    # missing thumbnail, another category's activation and an unknown id: empty (placeholders)
    assert pngs == [acts.thumbs[ids[0]], b"", acts.thumbs[ids[2]], b"", b""]
    assert pngs[0].startswith(PNG_MAGIC)
    content, buffers = thumbs_request(w, "image", ["img0002", "img9999"])
    assert unpack(content, buffers) == [acts.image_thumbs["img0002"], b""]
    assert "iVBORw0KGgo" not in json.dumps(content)  # base64 of the PNG signature: never in JSON


def test_nothing_proportional_to_the_thumbnails_is_sent_at_open(recorded):
    acts = FakeActivationSet(make_table(n_images=50, categories=("Sneaker",)))
    w = NamingWidget(acts, category="Sneaker", annotator="ana")
    kind, data, buffers = w.comm.published[0]
    assert kind == "comm_open"
    assert data["buffer_paths"] == [["table"]]  # the activation table, and nothing else
    (table,) = buffers
    assert bytes(table) == w.table and len(table) < 20_000
    as_json = json.dumps(data["state"])
    assert "iVBORw0KGgo" not in as_json and PNG_MAGIC not in bytes(table)


def test_a_thumbnail_that_cannot_be_read_is_a_placeholder_and_an_error(recorded):
    acts = FakeActivationSet(make_table())

    def broken(activation_id):
        raise OSError("disk gone")

    acts.thumbnail = broken
    w = NamingWidget(acts, category="Sneaker", annotator="ana")
    content, buffers = thumbs_request(w, "heat", ["Sneaker/img0000/x0"])
    assert unpack(content, buffers) == [b""]
    assert "disk gone" in w.error


@pytest.mark.parametrize("content", [
    {"type": "thumbs", "kind": "heat", "ids": "Sneaker/img0000/x0"},
    {"type": "thumbs", "kind": "secret", "ids": ["Sneaker/img0000/x0"]},
    {"type": "thumbs", "kind": "heat", "ids": ["Sneaker/img0000/x0"] * 513},
])
def test_malformed_thumbnail_requests_get_no_answer_and_change_nothing(recorded, content):
    w = NamingWidget(FakeActivationSet(make_table()), category="Sneaker", annotator="ana")
    w.comm.published.clear()
    w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    assert w.comm.published == [] and w.error == ""


def test_table_fingerprint_follows_content_not_row_order():
    table = make_table()
    a = NamingWidget(table, category="Sneaker", annotator="ana").fingerprint
    b = NamingWidget(table.sample(frac=1.0, random_state=0), category="Sneaker", annotator="ana").fingerprint
    changed = table.copy()
    changed.loc[5, "contribution"] += 0.5
    c = NamingWidget(changed, category="Sneaker", annotator="ana").fingerprint
    assert a == b and a != c
    assert NamingWidget(FakeActivationSet(table), category="Sneaker", annotator="ana").fingerprint == "fake-set-1"


# --------------------------------------------------------- binary transport


def test_an_operation_sends_only_what_it_changed(recorded):
    """A change travels as one small delta, whatever the size of the naming; no state update."""
    sizes = []
    for n_images in (30, 3000):  # 60 and 6,000 shown activations
        table = make_table(n_images=n_images, categories=("Sneaker",))
        w = NamingWidget(FakeActivationSet(table), category="Sneaker", annotator="ana")
        ids = [a["id"] for a in w.activations][:5]
        concept = w.create_concept("heel")
        w.comm.published.clear()
        before = w.state["version"]
        frontend_op(w, op="move", ids=ids, target=concept)
        assert updates(w) == []  # the synced base state is not re-sent
        (delta,) = [data["content"] for kind, data, _ in w.comm.published
                    if kind == "comm_msg" and data["method"] == "custom"]
        assert (delta["type"], delta["base"], delta["version"]) == ("delta", before, before + 1)
        (change, reverse), = delta["changes"]
        assert change["moves"] == [[ids, "unlabeled", concept]] and reverse is False
        sizes.append(len(json.dumps(delta)))
        frontend_op(w, op="undo")
        undo = [data["content"] for kind, data, _ in w.comm.published if kind == "comm_msg"][-1]
        assert undo["changes"] == [[change, True]] and undo["can_redo"] is True
        w.close()
    assert abs(sizes[0] - sizes[1]) < 40  # only the ids' digits differ


def test_a_view_that_missed_deltas_gets_the_whole_naming_once(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    w.create_concept("heel", [a["id"] for a in w.activations][:3])
    w.comm.published.clear()
    w._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "resync", "version": 0}}}, "buffers": []})
    (data, _), = updates(w)
    assert data["state"]["base_state"] == w.state and w.base_state == w.state
    w.comm.published.clear()
    w._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "resync", "version": w.state["version"]}}}, "buffers": []})
    assert w.comm.published == []  # that view is up to date: nothing to send


# ------------------------------------------------------ front-end messages


def test_frontend_operations_drive_the_naming(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    ids = [a["id"] for a in w.activations]
    frontend_op(w, op="create", name="toe cap", members=ids[:3])
    (concept,) = w.state["concepts"]
    assert concept["name"] == "toe cap" and concept["members"] == ids[:3]
    frontend_op(w, op="create", name="lace", members=[])
    lace = w.state["concepts"][1]["id"]
    frontend_op(w, op="move", ids=ids[3:5], target=lace)
    frontend_op(w, op="move", ids=ids[5:6], target="trash")
    frontend_op(w, op="rename", concept_id=lace, name="laces")
    frontend_op(w, op="merge", concept_ids=[concept["id"], lace])
    assert [(c["name"], len(c["members"])) for c in w.state["concepts"]] == [("toe cap", 5)]
    frontend_op(w, op="undo")
    assert len(w.state["concepts"]) == 2 and w.state["can_redo"]
    frontend_op(w, op="redo")
    frontend_op(w, op="delete", concept_id=concept["id"])
    assert w.state["concepts"] == [] and w.state["trash"] == ids[5:6]
    assert w.error == "" and w.state["version"] == 9  # 7 operations, an undo and a redo
    table = w.naming
    assert list(table.columns) == ["annotator", "category", "activation_id", "concept_id", "concept", "status",
                                   "placed_by", "proposed"]
    assert set(table["placed_by"]) == {"person"} and not table["proposed"].any()
    assert table.set_index("activation_id").loc[ids[5], "status"] == "trash"


@pytest.mark.parametrize("content, message", [
    (dict(op="move", ids=["nope"], target="trash"), "Unknown activation"),
    (dict(op="move", ids=["Sneaker/img0000/x0"]), "lacks the field"),
    (dict(op="rename", concept_id="c404", name="x"), "No concept"),
    (dict(op="create", name="   "), "cannot be empty"),
    (dict(op="explode"), "Unknown operation"),
    (dict(op="undo"), "Nothing to undo"),
    (dict(op="merge", concept_ids="c1"), "not a single string"),
])
def test_invalid_frontend_operations_set_error_and_keep_state(recorded, content, message):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    before = dict(w.state)
    w.comm.published.clear()
    frontend_op(w, **content)  # must not raise
    assert message in w.error
    naming = ("concepts", "unlabeled", "trash", "can_undo", "can_redo")
    assert all(w.state[k] == before[k] for k in naming)
    # the unchanged naming is published under a new version, so the browser gets a change event
    # and drops its optimistic view
    (sent,) = [data["state"] for data, _ in updates(w) if "base_state" in data["state"]]
    assert sent["error"] == w.error and sent["base_state"]["version"] == before["version"] + 1
    w.comm.published.clear()
    frontend_op(w, **content)  # the same mistake again: the banner must show again
    errors = [data["state"]["error"] for data, _ in updates(w) if "error" in data["state"]]
    assert errors == ["", w.error] and w.state["version"] == before["version"] + 2
    frontend_op(w, op="create", name="ok")
    assert w.error == "" and w.state["version"] == before["version"] + 3


def test_browser_cannot_overwrite_python_owned_traits(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    before = dict(w.state)
    w._handle_msg({"content": {"data": {"method": "update", "state": {
        "base_state": {"version": 99, "concepts": [], "unlabeled": [], "trash": []},
        "single_key_shortcuts": False}, "buffer_paths": []}}, "buffers": []})
    assert w.state == before and w.single_key_shortcuts is False


def test_messages_of_other_types_are_ignored(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    w._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "hello"}}}, "buffers": []})
    assert w.error == "" and w.state["version"] == 0


# ------------------------------------------------------------ python API


def test_python_operations_and_concepts_table():
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    ids = [a["id"] for a in w.activations]
    a = w.create_concept("toe", ids[:2])
    b = w.create_concept("heel", ids[2:6])
    w.move(ids[6:7], "trash")
    assert w.concepts.to_dict("records") == [{"id": a, "name": "toe", "size": 2}, {"id": b, "name": "heel", "size": 4}]
    assert w.merge([b, a], name="shoe") == b
    w.rename(b, "whole shoe")
    w.undo()
    assert w.concepts["name"].tolist() == ["shoe"]
    w.redo()
    w.delete_concept(b)
    status = w.naming["status"].value_counts().to_dict()
    assert status == {"unlabeled": len(ids) - 1, "trash": 1}


def test_python_errors_raise_and_leave_the_widget_unchanged():
    from xnaming_widget.widget import NamingError

    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    before = dict(w.state)
    with pytest.raises(NamingError, match="Unknown target"):
        w.move(["Sneaker/img0000/x0"], "c12")
    assert w.state == before


def test_mimebundle_has_the_live_view_and_an_escaped_html_fallback():
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    ids = [a["id"] for a in w.activations]
    w.create_concept("<img src=x onerror=alert(1)>", ids[:4])
    data, _ = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    html = data["text/html"]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "4 named" in html


def test_closed_widget_refuses_operations():
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.create_concept("x")


def test_works_with_a_real_activation_set_and_its_category_subset():
    from xnaming_widget.activations import ActivationSet
    from xnaming_widget.thumbnails import image_pngs, overlay_pngs

    rng = np.random.default_rng(0)
    table = make_table(n_images=3)
    image_ids = [f"img{i:04d}" for i in range(3)]
    images = rng.integers(0, 255, (3, 8, 8, 3), dtype=np.uint8)
    significant = table["significant"].to_numpy()
    heatmap_rows = np.full(len(table), -1)
    heatmap_rows[significant] = np.arange(significant.sum())
    heatmaps = rng.random((int(significant.sum()), 8, 8)).astype(np.float32)
    of_image = np.array([image_ids.index(i) for i in table["image_id"][significant]])
    acts = ActivationSet(table, image_ids, images, heatmap_rows, heatmaps,
                         overlay_pngs(images[of_image], heatmaps), image_pngs(images, size=8))
    for source in (acts, acts.for_category("Boot")):
        w = NamingWidget(source, category="Boot", annotator="ana")
        assert w.fingerprint == source.fingerprint
        ids = [a["id"] for a in w.activations]
        assert w._payload.thumbnails("heat", ids) == [acts.thumbnail(i) for i in ids]
        # ActivationSet keeps heatmaps only for significant rows: the compare view gets placeholders
        first_image = [r["id"] for r in w._payload.image_rows(["img0000"])["img0000"]]
        assert [bool(p) for p in w._payload.thumbnails("heat", first_image)] == [True, True, False]
        assert w._payload.thumbnails("image", ["img0001"]) == [acts.image_thumbnail("img0001")]


def test_the_text_summary_below_the_view_is_refreshed_after_every_change(recorded, monkeypatch):
    from xnaming_widget.widget import naming_widget as module

    shown, updated = [], []
    monkeypatch.setattr(module, "display", lambda data, **kw: shown.append((data, kw)))
    monkeypatch.setattr(module, "update_display", lambda data, **kw: updated.append((data, kw)))
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    ids = [a["id"] for a in w.activations]
    w.create_concept("toe", ids[:3])
    assert updated == []  # not displayed yet: nothing to refresh
    w._ipython_display_()
    (view, _), (summary, kw) = shown
    assert view["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert "text/html" not in view  # the summary is an output of its own, so it can be refreshed
    assert "3 named" in summary["text/html"] and kw["display_id"]
    frontend_op(w, op="move", ids=ids[3:4], target=w.state["concepts"][0]["id"])
    data, update_kw = updated[-1]
    assert "4 named" in data["text/html"] and update_kw["display_id"] == kw["display_id"]
    frontend_op(w, op="undo")
    assert "3 named" in updated[-1][0]["text/html"]
    frontend_op(w, op="move", ids=["nope"], target="trash")  # refused: the naming did not change
    assert len(updated) == 2


# ------------------------------------------------------ assisted naming (the canvas's messages)


def assisted_set(n_per_part=12, parts=3, dims=16):
    """An ActivationSet with descriptors: ``parts`` tight clusters of ``n_per_part`` activations
    (cluster p around its own direction), so every suggestion for a concept seeded in cluster p
    comes from cluster p. Returns ``(acts, clusters)``, the ids of each cluster."""
    from xnaming_widget.activations import ActivationSet

    rng = np.random.default_rng(0)
    ids, rows, clusters = [], [], []
    for p in range(parts):
        centre = np.zeros(dims)
        centre[p] = 10.0
        members = [f"bird/img{p * n_per_part + i:04d}/x{i % 2}" for i in range(n_per_part)]
        clusters.append(members)
        ids += members
        rows += [centre + 0.3 * rng.normal(size=dims) for _ in members]
    n = len(ids)
    table = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "bird",
                          "xfeature": [int(a[-1]) for a in ids], "value": 1.0, "weight": 1.0, "contribution": 1.0,
                          "significant": True, "predicted": "bird", "label": "bird"})
    images = list(dict.fromkeys(table["image_id"]))
    acts = ActivationSet(table, images, np.zeros((len(images), 4, 4, 3), np.uint8), np.arange(n),
                         np.zeros((n, 4, 4), np.float16), [png(i) for i in range(n)],
                         [png(1000 + i) for i in range(len(images))], descriptors=np.array(rows, dtype=np.float32))
    return acts, clusters


def custom(widget, content):
    """Send the widget a custom message; return the custom messages it answered with."""
    widget.comm.published.clear()
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    return [data["content"] for kind, data, _ in widget.comm.published
            if kind == "comm_msg" and data["method"] == "custom"]


def test_suggest_message_answers_with_python_s_suggestions(recorded):
    acts, clusters = assisted_set()
    w = NamingWidget(acts, category="bird", annotator="ana")
    cid = w.create_concept("head", clusters[1][:3])
    (answer,) = custom(w, {"type": "suggest", "req": 7, "concept": cid, "k": 5})
    scored = w.suggestion_scores(cid, k=5)
    assert answer == {"type": "suggestions", "req": 7, "concept": cid, "version": w.state["version"],
                      "ids": w.suggest(cid, k=5), "scores": scored.tolist()}
    assert list(scored.index) == answer["ids"] and (scored.diff().dropna() <= 0).all()  # best first
    assert set(answer["ids"]) <= set(clusters[1][3:])
    (default,) = custom(w, {"type": "suggest", "req": 8, "concept": cid})
    assert default["ids"] == w.suggest(cid) and len(default["ids"]) == 20  # k=20 by default
    assert set(default["ids"][:9]) == set(clusters[1][3:])  # what is left of the cluster comes first
    assert w.error == "" and w.state["version"] == 1  # asking changes nothing
    w.close()


@pytest.mark.parametrize("content, message", [
    ({"concept": "c404"}, "No concept with id 'c404'"),
    ({"concept": None}, "concept id"),
    ({"concept": "c1", "k": 0}, "k must be a whole number"),
    ({"concept": "c1", "k": "20"}, "k must be a whole number"),
    ({"concept": "c1", "k": 10_000}, "k must be a whole number"),
])
def test_a_suggest_request_that_cannot_be_answered_says_why_in_the_banner(recorded, content, message):
    acts, clusters = assisted_set()
    w = NamingWidget(acts, category="bird", annotator="ana")
    w.create_concept("head", clusters[0][:3])
    version = w.state["version"]
    (answer,) = custom(w, {"type": "suggest", "req": 3, **content})
    assert answer["type"] == "suggestions" and answer["req"] == 3 and answer["ids"] == []
    assert message in answer["error"] and answer["error"].startswith("No suggestions")
    assert w.error == answer["error"] and w.state["version"] == version  # shown, nothing changed
    # the same error again is shown again (the banner may have been dismissed)
    w.comm.published.clear()
    custom(w, {"type": "suggest", "req": 4, **content})
    assert [d["state"].get("error") for d, _ in updates(w) if "error" in d["state"]] == ["", answer["error"]]
    w.close()


def test_suggest_errors_never_reach_the_comm(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")  # a DataFrame: no descriptors
    cid = w.create_concept("heel", [a["id"] for a in w.activations][:3])
    (answer,) = custom(w, {"type": "suggest", "req": 1, "concept": cid, "k": 20})
    assert answer["ids"] == [] and "descriptors" in answer["error"] and w.error == answer["error"]
    acts, clusters = assisted_set()
    v = NamingWidget(acts, category="bird", annotator="ana")
    empty = v.create_concept("nothing yet")
    (answer,) = custom(v, {"type": "suggest", "req": 2, "concept": empty})
    assert answer["ids"] == [] and "no members" in answer["error"]
    w.close()
    v.close()


def test_accept_reject_propose_and_confirm_from_the_browser_are_one_operation_each(recorded, tmp_path):
    acts, clusters = assisted_set()
    w = NamingWidget(acts, category="bird", annotator="ana", autosave=tmp_path / "ana.json")
    cid = w.create_concept("head", clusters[0][:3])
    suggested = w.suggest(cid, k=6)
    version = w.state["version"]
    frontend_op(w, op="accept", concept_id=cid, ids=suggested[:4])
    assert w.state["version"] == version + 1 and w.error == ""
    assert {a: w.state["marks"][a] for a in suggested[:4]} == dict.fromkeys(suggested[:4], ["suggestion", False])
    assert set(suggested[:4]) <= set(w.state["concepts"][0]["members"])
    frontend_op(w, op="reject", concept_id=cid, ids=suggested[4:5])
    assert w._naming.rejected(cid) == {suggested[4]} and suggested[4] not in w.suggest(cid, k=50)
    frontend_op(w, op="undo")  # the reject
    frontend_op(w, op="undo")  # the accept, all four at once
    assert w.state["concepts"][0]["members"] == clusters[0][:3] and w.state["marks"] == {}
    frontend_op(w, op="accept", concept_id="unlabeled", ids=suggested[:1])
    assert "Only a person" in w.error  # refused like any operation
    (notice,) = [m for m in custom(w, {"type": "op", "op": "propose"}) if m["type"] == "notice"]
    proposed = [c for c in w.state["concepts"] if c["name"].startswith("proposed")]
    assert proposed and notice["text"].startswith(f"Proposed {len(proposed)} concept")
    members = [a for c in proposed for a in c["members"]]
    assert all(w.state["marks"][a] == ["proposal", True] for a in members)
    frontend_op(w, op="confirm", ids=proposed[0]["members"])
    assert all(w.state["marks"][a] == ["proposal", False] for a in proposed[0]["members"])
    (notice,) = [m for m in custom(w, {"type": "op", "op": "propose"}) if m["type"] == "notice"]
    assert notice["text"].startswith("Nothing new to propose")
    w.close()


def test_propose_without_descriptors_is_refused_in_the_banner(recorded):
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    frontend_op(w, op="propose")
    assert "descriptors" in w.error and w.state["concepts"] == []
    w.close()

def test_in_a_kernel_the_summary_is_refreshed_after_the_changes_not_with_each(recorded, monkeypatch):
    """Inside a running event loop (a kernel) the summary's update_display waits until the
    changes pause, and comes after their deltas; at most MAX_DELAY_S after the first change."""
    import asyncio

    from xnaming_widget.widget import naming_widget as module
    from xnaming_widget.widget import summary

    monkeypatch.setattr(summary, "DELAY_S", 0.05)
    monkeypatch.setattr(summary, "MAX_DELAY_S", 0.3)
    events = []
    monkeypatch.setattr(module, "display", lambda data, **kw: None)
    monkeypatch.setattr(module, "update_display", lambda data, **kw: events.append(("summary", data["text/html"])))
    w = NamingWidget(make_table(), category="Sneaker", annotator="ana")
    w._ipython_display_()
    real_send = w.send
    monkeypatch.setattr(w, "send", lambda msg, *a, **kw: (events.append(("delta", msg["version"])), real_send(msg, *a, **kw)))
    ids = [a["id"] for a in w.activations]

    refreshed = 0

    async def session():
        nonlocal refreshed
        cid = w.create_concept("toe", ids[:3])
        frontend_op(w, op="move", ids=ids[3:4], target=cid)
        assert [kind for kind, _ in events] == ["delta", "delta"], "no summary on the changes' path"
        await asyncio.sleep(0.15)
        assert [kind for kind, _ in events] == ["delta", "delta", "summary"] and "4 named" in events[-1][1]
        for k in range(10):  # changes that never pause for DELAY_S: still refreshed within MAX_DELAY_S
            frontend_op(w, op="move", ids=ids[3:4], target="unlabeled" if k % 2 == 0 else cid)
            await asyncio.sleep(0.04)
        assert sum(kind == "summary" for kind, _ in events) >= 2
        refreshed = sum(kind == "summary" for kind, _ in events)
        frontend_op(w, op="move", ids=ids[4:6], target=cid)
        w.close()  # what is waiting is written at close

    asyncio.run(session())
    assert events[-1][0] == "summary" and "6 named" in events[-1][1]
    assert sum(kind == "summary" for kind, _ in events) == refreshed + 1
