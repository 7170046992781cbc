"""The rules of a naming, defined once: places, statuses, sizes, names and the errors.

Every activation of a naming is in exactly one *place*: a concept id, ``"unlabeled"`` or
``"trash"``. In the long naming table a place becomes a *status*: ``named``, ``unlabeled`` or
``trash``. Concepts with fewer than ``MIN_CONCEPT_SIZE`` members are dissolved before any
analysis (the naming papers' rule). The browser takes these constants from here through the
generated module ``js/src/naming_rules.generated.js`` (see :mod:`.export_js`).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Mapping

UNLABELED = "unlabeled"
TRASH = "trash"
SPECIAL_PLACES = (UNLABELED, TRASH)
NAMED = "named"
STATUSES = (NAMED, UNLABELED, TRASH)
MIN_CONCEPT_SIZE = 3
PERSON = "person"  # who placed an activation: a person, or a person accepting a suggestion, or a
VIA = (PERSON, "suggestion", "proposal", "transfer")  # proposal / transfer the tool made
PROPOSING = ("proposal", "transfer")  # their members stay *proposed* until a person confirms them
PROPOSAL_SIZE = 20  # about how many activations a proposed concept gathers, unless asked otherwise
MAX_NAME_LENGTH = 200
CONCEPT_ID_PATTERN = r"^c(\d+)$"
_CONCEPT_ID = re.compile(CONCEPT_ID_PATTERN)
_SPACES = re.compile(r"\s+")


class NamingError(ValueError):
    """A naming, or an operation on one, that breaks the naming rules; the message says why."""


class NamingFileError(NamingError):
    """A naming file or document that cannot be used as it is (corrupt, wrong schema, wrong owner)."""


def clean_concept_name(name: Any) -> str:
    """A valid concept name: NFC, outer white space stripped, non-empty, one line, at most 200 characters.

    Names are untrusted text: they are stored as cleaned here and never interpreted as markup.
    """
    if not isinstance(name, str):
        raise NamingError(f"A concept name must be a string, not {type(name).__name__}.")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise NamingError("A concept name cannot be empty; type a few words that describe the concept.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise NamingError(
            f"A concept name can have at most {MAX_NAME_LENGTH} characters (this one has "
            f"{len(cleaned)}); shorten it."
        )
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise NamingError("A concept name must be a single line without control characters (tabs, newlines).")
    return cleaned


def name_key(name: str) -> str:
    """What makes two names the same concept name: case and runs of white space do not count."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()


def check_new_name(name: str, existing: Mapping[str, str], *, except_id: str | None = None) -> None:
    """Refuse ``name`` when another concept of the naming (id -> name) already has it."""
    key = name_key(name)
    for concept_id, other in existing.items():
        if concept_id != except_id and name_key(other) == key:
            raise NamingError(f"A concept is already called {other!r} ({concept_id}); choose another name, "
                              f"or move the activations into {concept_id}.")


def concept_number(concept_id: str) -> int | None:
    """The number n of a concept id ``"c<n>"``, or None for ids of another form."""
    match = _CONCEPT_ID.match(concept_id)
    return int(match.group(1)) if match else None


def preview(items: Iterable[Any], limit: int = 5) -> str:
    """The first few items, for error messages: ``'a', 'b' and 3 more``."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
