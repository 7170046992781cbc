"""The naming file: one person's clustering of one category's activations, on disk.

A naming file is JSON (SPEC §5) so that people can share and diff it. This module is the
single place that knows its layout: the widget writes it, the analysis reads it, and both go
through :func:`naming_table` to get the long table of SPEC §5.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

SCHEMA = "xnaming-widget/naming"
SCHEMA_VERSION = 1
TABLE_COLUMNS = ["annotator", "category", "activation_id", "concept_id", "concept", "status"]
STATUSES = ("named", "unlabeled", "trash")


class NamingFileError(ValueError):
    """A naming file that cannot be used as it is (corrupt, wrong schema, wrong owner)."""


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON so that ``path`` holds either the old or the new content, never half.

    The data goes to a temporary file in the same folder, is flushed and fsync'ed, then
    renamed over ``path`` (atomic on POSIX and Windows), and the folder is fsync'ed too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dir_fd)


def read_naming_file(path: str | os.PathLike) -> dict:
    """Read and validate a naming file; raise :class:`NamingFileError` saying what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"No naming file at {path}.") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise NamingFileError(
            f"Naming file {path} is not valid JSON ({err}). The file was left as it is; "
            "restore it from a backup or move it away to start a new naming."
        ) from None
    validate_naming_doc(doc, source=str(path))
    return doc


def validate_naming_doc(doc: Mapping, source: str = "naming") -> None:
    """Check the structure of a naming document (not its activation ids)."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise NamingFileError(f"{source} is not an xnaming-widget naming file (no schema {SCHEMA!r}).")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise NamingFileError(
            f"{source} has schema_version {version!r}; this version of xnaming-widget reads "
            f"version {SCHEMA_VERSION}. Upgrade xnaming-widget to read it."
        )
    for key in ("annotator", "category", "concepts", "trash", "unlabeled"):
        if key not in doc:
            raise NamingFileError(f"{source} lacks the field {key!r}.")
    seen: dict[str, str] = {}
    ids: set[str] = set()
    places = [(f"concept {c.get('id')!r}", c.get("members", [])) for c in doc["concepts"]]
    places += [("trash", doc["trash"]), ("unlabeled", doc["unlabeled"])]
    for concept in doc["concepts"]:
        if not {"id", "name", "members"} <= set(concept):
            raise NamingFileError(f"{source}: a concept lacks id, name or members: {concept!r}")
        if concept["id"] in ids:
            raise NamingFileError(f"{source}: concept id {concept['id']!r} appears twice.")
        ids.add(concept["id"])
    for place, members in places:
        for aid in members:
            if aid in seen:
                raise NamingFileError(
                    f"{source}: activation {aid!r} is in two places ({seen[aid]} and {place})."
                )
            seen[aid] = place


def naming_table(doc: Mapping) -> pd.DataFrame:
    """The long table of SPEC §5 for a naming document: one row per activation."""
    annotator, category = doc["annotator"], doc["category"]
    rows: list[tuple] = []
    for concept in doc["concepts"]:
        rows += [(annotator, category, aid, concept["id"], concept["name"], "named")
                 for aid in concept["members"]]
    rows += [(annotator, category, aid, pd.NA, pd.NA, "trash") for aid in doc["trash"]]
    rows += [(annotator, category, aid, pd.NA, pd.NA, "unlabeled") for aid in doc["unlabeled"]]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return table.astype({c: "string" for c in TABLE_COLUMNS})


def naming_doc(
    *,
    annotator: str,
    category: str,
    fingerprint: str | None,
    concepts: Iterable[Mapping],
    trash: Iterable[str],
    unlabeled: Iterable[str],
    log: Iterable[Mapping] = (),
    saved_at: str | None = None,
) -> dict:
    """Assemble a naming document in the file layout."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "fingerprint": fingerprint,
        "annotator": annotator,
        "category": category,
        "concepts": [
            {"id": str(c["id"]), "name": str(c["name"]), "members": list(c["members"])} for c in concepts
        ],
        "trash": list(trash),
        "unlabeled": list(unlabeled),
        "log": list(log),
        "saved_at": saved_at,
    }
