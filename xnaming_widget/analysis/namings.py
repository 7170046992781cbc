"""Naming tables: load, validate, and clean them (definitions §5, §6) before any analysis.

Every measure in :mod:`xnaming_widget.analysis` goes through :func:`named_concepts`, which
checks that the naming belongs to the activation set given (its fingerprint) and applies the
cleaning rules of ``docs/definitions.md`` in one place: only the category's significant activations
count, trash counts as unnamed, and concepts with fewer than ``min_size`` members are
dissolved (their members count as unnamed).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from xnaming_widget.naming.activation_table import activation_table, significant_ids
from xnaming_widget.naming.activation_table import check_fingerprint as check_fingerprint_of
from xnaming_widget.naming.document import (PROVENANCE_COLUMNS, TABLE_COLUMNS, naming_table, read_naming_file,
                                            validate_naming_doc)
from xnaming_widget.naming.rules import PERSON
from xnaming_widget.naming.rules import (MIN_CONCEPT_SIZE, STATUSES, NamingError,
                                         clean_concept_name, name_key)

MIN_SIZE = MIN_CONCEPT_SIZE
FINGERPRINT = "fingerprint"  # key of a naming table's .attrs that names its activation set

__all__ = ["MIN_SIZE", "NamingError", "Namings", "activation_table", "significant_ids", "as_table",
           "single_naming", "named_concepts", "validate_table", "iter_namings"]


def as_table(naming) -> pd.DataFrame:
    """The long naming table of a DataFrame, a :class:`Namings`, or a naming document."""
    if isinstance(naming, Namings):
        return naming.table
    if isinstance(naming, Mapping):
        validate_naming_doc(naming)
        table = naming_table(naming)
        validate_table(table)
        return table
    if not isinstance(naming, pd.DataFrame):
        raise TypeError(f"Expected a naming table (DataFrame), a Namings or a naming document, not {type(naming).__name__}.")
    missing = set(TABLE_COLUMNS) - set(naming.columns)
    if missing:
        raise NamingError(f"The naming table lacks the columns {sorted(missing)}; definitions §5 needs {TABLE_COLUMNS}.")
    return naming


def single_naming(naming) -> tuple[pd.DataFrame, str, str]:
    """The table of one annotator's naming of one category, with that annotator and category."""
    table = as_table(naming)
    annotators, categories = table["annotator"].unique(), table["category"].unique()
    if len(annotators) != 1 or len(categories) != 1:
        raise NamingError(
            f"Expected one annotator's naming of one category, got annotators {list(annotators)} and "
            f"categories {list(categories)}; select one with Namings.get(annotator, category).")
    return table, str(annotators[0]), str(categories[0])


def named_concepts(naming, activations=None, *, min_size: int = MIN_SIZE) -> tuple[pd.Series, dict]:
    """The activations one naming names, after definitions §6 cleaning.

    Returns ``(concept_of, names)``: a Series activation_id -> concept_id holding only the
    named activations (restricted to the category's significant ones when ``activations`` is
    given; trash and dissolved concepts dropped) and a dict concept_id -> name of the concepts
    that survive.
    """
    table, annotator, category = single_naming(naming)
    check_fingerprint_of(table.attrs.get(FINGERPRINT), activations,
                      source=f"The naming of {category!r} by {annotator!r}")
    rows = table[table["status"] == "named"]
    if activations is not None:
        rows = rows[rows["activation_id"].isin(significant_ids(activations, category))]
    sizes = rows.groupby("concept_id")["activation_id"].transform("size")
    rows = rows[sizes >= min_size]
    concept_of = pd.Series(rows["concept_id"].astype(str).to_numpy(), index=pd.Index(rows["activation_id"].astype(str)),
                           name="concept_id")
    names = dict(zip(rows["concept_id"].astype(str), rows["concept"].astype(str)))
    return concept_of, names


def validate_table(table: pd.DataFrame, activations=None) -> None:
    """Raise :class:`NamingError` naming the annotator, category and activation of the first problem."""
    bad_status = ~table["status"].isin(STATUSES)
    if bad_status.any():
        row = table[bad_status].iloc[0]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: activation "
                          f"{row.activation_id!r} has status {row.status!r}; use one of {STATUSES}.")
    named_without_id = (table["status"] == "named") & table["concept_id"].isna()
    if named_without_id.any():
        row = table[named_without_id].iloc[0]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: activation "
                          f"{row.activation_id!r} is named but has no concept_id.")
    dup_rows = table.duplicated(keep=False)
    if dup_rows.any():
        row = table[dup_rows].iloc[0]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: the row for activation "
                          f"{row.activation_id!r} appears {int((table.astype(str) == row.astype(str)).all(axis=1).sum())} times; drop the duplicates "
                          "(e.g. the same naming file loaded twice).")
    two_places = table.duplicated(["annotator", "category", "activation_id"], keep=False)
    if two_places.any():
        row = table[two_places].iloc[0]
        places = table[two_places & (table["activation_id"] == row.activation_id)
                       & (table["annotator"] == row.annotator)]
        where = [f"{s}{'' if pd.isna(c) else ' ' + repr(c)}" for s, c in zip(places["status"], places["concept_id"])]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: activation "
                          f"{row.activation_id!r} is in two places ({', '.join(where)}); every activation "
                          "must be in exactly one concept, trash or unlabeled.")
    named = table[table["status"] == "named"]
    shared_ids = named.groupby(["annotator", "category", "concept_id"])["concept"].nunique()
    if (shared_ids > 1).any():
        annotator, category, cid = shared_ids[shared_ids > 1].index[0]
        raise NamingError(f"Annotator {annotator!r}, category {category!r}: concept id {cid!r} carries "
                          "several names; give each concept one name.")
    _check_names(named)
    if activations is None:
        return
    acts = activation_table(activations)
    category_of = pd.Series(acts["category"].astype(str).to_numpy(), index=acts["activation_id"].astype(str))
    known = table["activation_id"].isin(category_of.index)
    if not known.all():
        row = table[~known].iloc[0]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: activation "
                          f"{row.activation_id!r} is not in the activation table ({int((~known).sum())} unknown "
                          "ids); was the naming made on another activation set (compare fingerprints)?")
    wrong = category_of.loc[table["activation_id"]].to_numpy() != table["category"].astype(str).to_numpy()
    if wrong.any():
        row = table[wrong].iloc[0]
        raise NamingError(f"Annotator {row.annotator!r}, category {row.category!r}: activation "
                          f"{row.activation_id!r} belongs to category {category_of[row.activation_id]!r}; "
                          "a naming holds the activations of one category only (mixed categories).")


def _check_names(named: pd.DataFrame) -> None:
    """Concept names obey the naming rules, and no two concepts of one naming share a name."""
    concepts = named.drop_duplicates(["annotator", "category", "concept_id"])
    for annotator, category, cid, name in zip(concepts["annotator"], concepts["category"],
                                              concepts["concept_id"], concepts["concept"]):
        try:
            if pd.isna(name) or clean_concept_name(name) != name:
                raise NamingError(f"the name {None if pd.isna(name) else name!r} is empty, has outer white "
                                  "space or is not in Unicode NFC")
        except NamingError as err:
            raise NamingError(f"Annotator {annotator!r}, category {category!r}: concept {cid!r} has an "
                              f"invalid name ({err}).") from None
    keys = concepts.assign(key=[name_key(n) for n in concepts["concept"]])
    repeated = keys.duplicated(["annotator", "category", "key"], keep=False)
    if repeated.any():
        first = keys[repeated].iloc[0]
        same = keys[repeated & (keys["key"] == first.key) & (keys["annotator"] == first.annotator)
                    & (keys["category"] == first.category)]
        raise NamingError(f"Annotator {first.annotator!r}, category {first.category!r}: concepts "
                          f"{list(same['concept_id'])} share the name {first.concept!r} (case and spaces "
                          "ignored); a naming gives each concept its own name (merge them or rename one).")


def _with_provenance(table: pd.DataFrame) -> pd.DataFrame:
    """A naming table with the provenance columns; tables made by hand were placed by a person."""
    if all(c in table.columns for c in PROVENANCE_COLUMNS):
        return table
    return table.assign(placed_by=PERSON, proposed=False)


def _load_one(source) -> list[pd.DataFrame]:
    """The naming tables of one source (a folder gives one per file), each tagged with its fingerprint."""
    if isinstance(source, (pd.DataFrame, Mapping)):
        return [as_table(source)]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise FileNotFoundError(f"No naming files (*.json) in {path}.")
            return [naming_table(read_naming_file(f)) for f in files]
        return [naming_table(read_naming_file(path))]
    raise TypeError(f"Cannot read a naming from {type(source).__name__}; give a DataFrame, a naming "
                    "document, a naming file or a folder of them.")


class Namings:
    """Many people's namings of many categories as one validated long table.

    ``sources`` is a DataFrame, a naming document, a naming file, a folder of naming files, or
    a list of these; they are concatenated. With ``activations`` each naming's fingerprint
    must be that activation set's (``check_fingerprint=False`` compares across sets on
    purpose) and the ids are checked against its table. Views: :meth:`for_annotator`,
    :meth:`for_category`, :meth:`get` (tables that remember their fingerprint).
    """

    def __init__(self, sources, activations=None, *, check_fingerprint: bool = True):
        if isinstance(sources, (pd.DataFrame, Mapping, str, os.PathLike)):
            sources = [sources]
        tables = [t for s in sources for t in _load_one(s)]
        if not tables:
            raise NamingError("No namings given.")
        fingerprints: dict[tuple[str, str], str | None] = {}
        for t in tables:
            fingerprint = t.attrs.get(FINGERPRINT) if check_fingerprint else None
            for key in t[["annotator", "category"]].drop_duplicates().itertuples(index=False):
                key = (str(key[0]), str(key[1]))
                if fingerprint is not None and activations is not None:
                    check_fingerprint_of(fingerprint, activations,
                                         source=f"The naming of {key[1]!r} by {key[0]!r}")
                fingerprints[key] = fingerprint
        table = pd.concat([_with_provenance(t) for t in tables], ignore_index=True)[TABLE_COLUMNS + PROVENANCE_COLUMNS]
        table = table.astype({**{c: "string" for c in TABLE_COLUMNS + ["placed_by"]}, "proposed": bool})
        validate_table(table, activations)
        self.table = table.reset_index(drop=True)
        self.activations = activations
        self._fingerprints = fingerprints

    @property
    def annotators(self) -> list[str]:
        return sorted(self.table["annotator"].unique())

    @property
    def categories(self) -> list[str]:
        return sorted(self.table["category"].unique())

    def person_placed(self) -> "Namings":
        """The namings as people made them: members a suggestion, a proposal or a transfer placed
        count as unlabeled, so agreement can be measured free of the tool's influence."""
        view = self._subset(slice(None))
        table = view.table.copy()
        assisted = (table["status"] == "named") & (table["placed_by"] != PERSON)
        table.loc[assisted, ["concept_id", "concept"]] = pd.NA
        table.loc[assisted, "status"] = "unlabeled"
        view.table = table
        return view

    def _subset(self, rows) -> "Namings":
        view = object.__new__(Namings)
        view.table, view.activations = self.table[rows].reset_index(drop=True), self.activations
        view._fingerprints = self._fingerprints
        return view

    def _tagged(self, table: pd.DataFrame, annotator: str, category: str) -> pd.DataFrame:
        table = table.reset_index(drop=True)
        table.attrs = {FINGERPRINT: self._fingerprints.get((annotator, category))}
        return table

    def for_annotator(self, annotator: str) -> "Namings":
        """The namings of one annotator (all their categories)."""
        if annotator not in self.annotators:
            raise KeyError(f"No naming by annotator {annotator!r}; annotators: {self.annotators}.")
        return self._subset(self.table["annotator"] == annotator)

    def for_category(self, category: str) -> "Namings":
        """Every annotator's naming of one category."""
        if category not in self.categories:
            raise KeyError(f"No naming of category {category!r}; categories: {self.categories}.")
        return self._subset(self.table["category"] == category)

    def get(self, annotator: str, category: str) -> pd.DataFrame:
        """One annotator's naming of one category, as its long table."""
        rows = (self.table["annotator"] == annotator) & (self.table["category"] == category)
        if not rows.any():
            raise KeyError(f"Annotator {annotator!r} has no naming of category {category!r}.")
        return self._tagged(self.table[rows], annotator, category)

    def pairs(self) -> Iterable[tuple[str, str, pd.DataFrame]]:
        """(annotator, category, table) for every naming, sorted."""
        for (annotator, category), table in self.table.groupby(["annotator", "category"], sort=True):
            yield str(annotator), str(category), self._tagged(table, str(annotator), str(category))

    def __len__(self) -> int:
        return int(self.table.groupby(["annotator", "category"]).ngroups)

    def __repr__(self) -> str:
        return f"Namings({len(self)} namings, annotators={self.annotators}, categories={self.categories})"


def iter_namings(namings) -> Iterable[tuple[str, str, pd.DataFrame]]:
    """(annotator, category, table) for a Namings, a long DataFrame or a list of sources."""
    if not isinstance(namings, Namings):
        namings = Namings(namings)
    return namings.pairs()
