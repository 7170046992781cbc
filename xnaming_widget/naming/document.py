"""The naming file and the naming table: one person's clustering of one category, on disk.

A naming file (``docs/definitions.md`` has the full layout) is UTF-8 text: a JSON *snapshot*
(version, owner, the placements and the log of operations), optionally followed by a
*journal*: one JSON record per line, each an operation appended after the snapshot was
written. The widget appends a record per change and rewrites (compacts) the snapshot now and
then; :func:`read_naming_file` replays the journal, so readers always get the latest naming.
Version 1 files (a plain JSON snapshot, no journal) still load.

The long *naming table* (:func:`naming_table`) has one row per activation:
``annotator, category, activation_id, concept_id, concept, status``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .rules import (NAMED, PERSON, STATUSES, TRASH, UNLABELED, VIA, NamingError, NamingFileError,
                    check_new_name, clean_concept_name)

SCHEMA = "xnaming-widget/naming"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
TABLE_COLUMNS = ["annotator", "category", "activation_id", "concept_id", "concept", "status"]
PROVENANCE_COLUMNS = ["placed_by", "proposed"]  # who placed a named activation; unconfirmed proposal

__all__ = ["SCHEMA", "SCHEMA_VERSION", "TABLE_COLUMNS", "STATUSES", "NamingFileError", "naming_doc",
           "naming_table", "read_naming_file", "parse_naming_text", "validate_naming_doc", "check_owner",
           "snapshot_text"]


def _field_error(source: str, field: str, problem: str) -> NamingFileError:
    return NamingFileError(f"{source}: field {field!r} {problem}.")


def _id_list(doc: Mapping, key: str, source: str, field: str | None = None) -> list[str]:
    value = doc.get(key)
    field = field or key
    if not isinstance(value, list):
        raise _field_error(source, field, f"must be a list of activation ids, not {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise _field_error(source, f"{field}[{i}]", f"must be a non-empty activation id string, got {item!r}")
    return value


def validate_naming_doc(doc: Any, source: str = "naming") -> None:
    """Check a naming document field by field; raise :class:`NamingFileError` naming the field.

    Checks the schema, the owner fields, that every concept has a string id, a name that obeys
    the naming rules and a member list, that no two concepts share a name (case and white space
    ignored), and that no activation is in two places. Activation ids are checked against an
    activation set elsewhere (the widget, :class:`~xnaming_widget.analysis.Namings`).
    """
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise NamingFileError(f"{source} is not an xnaming-widget naming file (no schema {SCHEMA!r}).")
    version = doc.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise NamingFileError(
            f"{source} has schema_version {version!r}; this version of xnaming-widget reads versions "
            f"{list(READABLE_VERSIONS)}. Upgrade xnaming-widget to read it.")
    for key in ("annotator", "category", "concepts", "trash", "unlabeled"):
        if key not in doc:
            raise NamingFileError(f"{source} lacks the field {key!r}.")
    for key in ("annotator", "category"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise _field_error(source, key, f"must be a non-empty string, got {doc[key]!r}")
    fingerprint = doc.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise _field_error(source, "fingerprint", f"must be a string or null, got {fingerprint!r}")
    if not isinstance(doc["concepts"], list):
        raise _field_error(source, "concepts", "must be a list of {id, name, members} objects")
    if not isinstance(doc.get("log", []), list):
        raise _field_error(source, "log", "must be a list of operations")
    names: dict[str, str] = {}
    places: dict[str, str] = {}
    for i, concept in enumerate(doc["concepts"]):
        where = f"concepts[{i}]"
        if not isinstance(concept, Mapping) or not {"id", "name", "members"} <= set(concept):
            raise _field_error(source, where, f"must be an object with id, name and members, got {concept!r}")
        cid = concept["id"]
        if not isinstance(cid, str) or not cid or cid in (TRASH, UNLABELED):
            raise _field_error(source, f"{where}.id", f"must be a concept id string, got {cid!r}")
        if cid in names:
            raise _field_error(source, f"{where}.id", f"repeats concept id {cid!r}")
        try:
            name = clean_concept_name(concept["name"])
            check_new_name(name, names)
        except NamingError as err:
            raise _field_error(source, f"{where}.name", f"is not a valid concept name: {err}") from None
        names[cid] = name
        lists = [(f"concept {cid!r}", _id_list(concept, "members", source, f"{where}.members"))]
        for place, members in lists:
            _place_all(members, place, places, source)
    _place_all(_id_list(doc, "trash", source), "trash", places, source)
    _place_all(_id_list(doc, "unlabeled", source), "unlabeled", places, source)
    if doc.get("order") is not None:
        _id_list(doc, "order", source)  # a hint only: replay ignores an order that does not fit
    rejected = doc.get("rejected") or {}
    if not isinstance(rejected, Mapping):
        raise _field_error(source, "rejected", "must be an object {concept_id: [activation ids]}")
    for cid, ids in rejected.items():
        _id_list(rejected, cid, source, f"rejected[{cid!r}]")
    marks = doc.get("marks") or {}
    if not isinstance(marks, Mapping):
        raise _field_error(source, "marks", "must be an object {activation_id: [via, proposed]}")
    for aid, mark in marks.items():
        if not str(places.get(aid, "")).startswith("concept "):
            raise _field_error(source, f"marks[{aid!r}]", "marks an activation that is not a concept member")
        if not (isinstance(mark, list) and len(mark) == 2 and mark[0] in VIA and mark[0] != PERSON
                and isinstance(mark[1], bool)):
            raise _field_error(source, f"marks[{aid!r}]", f"must be [via, proposed] with via in {list(VIA[1:])}")


def _place_all(members: list[str], place: str, places: dict[str, str], source: str) -> None:
    for aid in members:
        if aid in places:
            raise NamingFileError(f"{source}: activation {aid!r} is in two places ({places[aid]} and {place}).")
        places[aid] = place


def check_owner(doc: Mapping, *, source: str, fingerprint: str, category: str, annotator: str) -> None:
    """Raise ``NamingFileError`` unless the naming ``doc`` belongs to this set, category and person."""
    problems = []
    if doc.get("fingerprint") != fingerprint:
        problems.append(f"another activation set (fingerprint {doc.get('fingerprint')!r}, "
                        f"these activations have {fingerprint!r})")
    if doc.get("category") != category:
        problems.append(f"category {doc.get('category')!r} (not {category!r})")
    if doc.get("annotator") != annotator:
        problems.append(f"annotator {doc.get('annotator')!r} (not {annotator!r})")
    if problems:
        raise NamingFileError(
            f"{source} holds a naming for " + "; ".join(problems) + ". Nothing was overwritten; "
            "choose another file for this naming.")


def parse_naming_text(text: str, source: str = "naming") -> tuple[dict, list[dict]]:
    """Split a naming file's text into its snapshot and its journal records.

    A last line without its newline is a record whose write was interrupted: it is kept when it
    is complete JSON and dropped otherwise (that operation was never reported done). Any other
    damaged line raises :class:`NamingFileError` with its line number.
    """
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    try:
        snapshot, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as err:
        raise NamingFileError(
            f"Naming file {source} is not valid JSON ({err}). The file was left as it is; restore it "
            "from a backup or move it away to start a new naming.") from None
    validate_naming_doc(snapshot, source=source)
    records: list[dict] = []
    rest = text[end:]
    first_line = text.count("\n", 0, end) + 1
    lines = rest.split("\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        torn = number == len(lines) - 1  # no newline after it
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if torn:
                break
            raise NamingFileError(f"{source}: journal line {first_line + number} is damaged (not JSON); "
                                  "the file was left as it is.") from None
        if not isinstance(record, dict) or "op" not in record:
            raise NamingFileError(f"{source}: journal line {first_line + number} is not an operation record.")
        if snapshot.get("schema_version") == 1:
            raise NamingFileError(f"{source}: a version 1 naming file cannot have journal lines.")
        records.append(record)
    return dict(snapshot), records


def read_naming_file(path: str | os.PathLike) -> dict:
    """The naming in a file, journal replayed, as a version-2 document; errors name the problem.

    Raises :class:`NamingFileError` (corrupt, wrong schema, a bad field) or ``FileNotFoundError``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"No naming file at {path}.") from None
    except UnicodeDecodeError as err:
        raise NamingFileError(f"Naming file {path} is not UTF-8 text ({err}).") from None
    snapshot, records = parse_naming_text(text, source=str(path))
    return replay(snapshot, records, source=str(path))


def replay(snapshot: Mapping, records: list[Mapping], source: str = "naming") -> dict:
    """The document a snapshot becomes after its journal records (no records: the snapshot, upgraded)."""
    doc = naming_doc(annotator=snapshot["annotator"], category=snapshot["category"],
                     fingerprint=snapshot.get("fingerprint"), concepts=snapshot["concepts"],
                     trash=snapshot["trash"], unlabeled=snapshot["unlabeled"], log=snapshot.get("log") or [],
                     saved_at=snapshot.get("saved_at"), order=snapshot.get("order"), marks=snapshot.get("marks"),
                     rejected=snapshot.get("rejected"))
    if not records:
        return doc
    from .state import NamingState

    ids = [a for c in doc["concepts"] for a in c["members"]] + doc["trash"] + doc["unlabeled"]
    if doc["order"] is not None and len(doc["order"]) == len(ids) and set(doc["order"]) == set(ids):
        ids = doc["order"]
    state, _ = NamingState.restore(ids, doc["concepts"], doc["trash"], doc["unlabeled"], doc["log"],
                                   marks=doc["marks"], rejected=doc["rejected"])
    for record in records:
        try:
            state.apply_logged(record)
        except (NamingError, KeyError, IndexError, TypeError, ValueError) as err:
            raise NamingFileError(f"{source}: journal record {record.get('n')!r} ({record.get('op')!r}) does "
                                  f"not fit the naming before it ({err}); the file was left as it is.") from None
    snap = state.snapshot()
    doc.update(concepts=snap["concepts"], trash=snap["trash"], unlabeled=snap["unlabeled"], marks=snap["marks"],
               rejected=state.rejections,
               log=state.log_since(0), saved_at=records[-1].get("time", doc["saved_at"]))
    return doc


def naming_table(doc: Mapping) -> pd.DataFrame:
    """The long naming table of a naming document: one row per activation.

    Besides :data:`TABLE_COLUMNS`, ``placed_by`` says who placed a named activation
    (``"person"``, or a person accepting a ``"suggestion"``, or a ``"proposal"`` / ``"transfer"``)
    and ``proposed`` whether that placement still awaits a person's confirmation.
    ``table.attrs["fingerprint"]`` carries the document's activation-set fingerprint, so the
    analysis can check the naming against the activation set it is given.
    """
    annotator, category = doc["annotator"], doc["category"]
    marks = doc.get("marks") or {}
    rows: list[tuple] = []
    for concept in doc["concepts"]:
        name = clean_concept_name(concept["name"])
        rows += [(annotator, category, aid, concept["id"], name, NAMED, *marks.get(aid, (PERSON, False)))
                 for aid in concept["members"]]
    rows += [(annotator, category, aid, pd.NA, pd.NA, TRASH, PERSON, False) for aid in doc["trash"]]
    rows += [(annotator, category, aid, pd.NA, pd.NA, UNLABELED, PERSON, False) for aid in doc["unlabeled"]]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS + PROVENANCE_COLUMNS)
    table = table.astype({**{c: "string" for c in TABLE_COLUMNS + ["placed_by"]}, "proposed": bool})
    table.attrs["fingerprint"] = doc.get("fingerprint")
    return table


def naming_doc(*, annotator: str, category: str, fingerprint: str | None, concepts: Iterable[Mapping],
               trash: Iterable[str], unlabeled: Iterable[str], log: Iterable[Mapping] = (),
               saved_at: str | None = None, order: Iterable[str] | None = None,
               marks: Mapping[str, Any] | None = None, rejected: Mapping[str, Any] | None = None) -> dict:
    """Assemble a naming document (the snapshot part of a naming file).

    ``order`` lists every activation in display order, so that a journal replayed without the
    activation set keeps concept members in that order; ``marks`` maps the concept members a
    suggestion, proposal or transfer placed to ``[via, proposed]``; ``rejected`` maps a concept
    id to the activations a person turned down as suggestions for it.
    """
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "fingerprint": fingerprint,
        "annotator": annotator,
        "category": category,
        "concepts": [{"id": str(c["id"]), "name": str(c["name"]), "members": list(c["members"])}
                     for c in concepts],
        "trash": list(trash),
        "unlabeled": list(unlabeled),
        "log": list(log),
        "saved_at": saved_at,
        "order": None if order is None else list(order),
        "marks": {str(k): list(v) for k, v in (marks or {}).items()},
        "rejected": {str(k): list(v) for k, v in (rejected or {}).items()},
    }


def snapshot_text(doc: Mapping) -> str:
    """A naming document as the snapshot text of a naming file: one key per line, one concept and
    one log entry per line, each list of activation ids on one line.

    Readable in any editor, and fast to write however large the naming (no line is indented
    item by item, so the whole text comes from the C JSON encoder: 100,000 activations in
    about 0.05 s).
    """
    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def lines(items: Sequence) -> str:
        return "[\n  " + ",\n  ".join(dump(item) for item in items) + "\n ]" if items else "[]"

    parts = []
    for key, value in doc.items():
        if key in ("log", "order"):
            continue
        parts.append(f"{dump(key)}: {lines(value) if key == 'concepts' else dump(value)}")
    entries = ",\n  ".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in doc.get("log", []))
    parts.append('"log": [\n  ' + entries + "\n ]" if entries else '"log": []')
    if doc.get("order") is not None:
        parts.append('"order": ' + dump(doc["order"]))
    return "{\n " + ",\n ".join(parts) + "\n}\n"
