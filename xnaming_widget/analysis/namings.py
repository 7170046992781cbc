"""Naming tables: load, validate, and clean them (SPEC §5, §6) before any analysis.

Every measure in :mod:`xnaming_widget.analysis` goes through :func:`named_concepts`, which
applies the two rules of SPEC §6 in one place: only the category's significant activations
count, trash counts as unnamed, and concepts with fewer than ``min_size`` members are
dissolved (their members count as unnamed).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from xnaming_widget.naming_format import TABLE_COLUMNS, STATUSES, naming_table, read_naming_file, validate_naming_doc

MIN_SIZE = 3


class NamingError(ValueError):
    """A naming table that cannot be analysed as it is; the message says what and where."""


def activation_table(activations) -> pd.DataFrame:
    """The SPEC §5 activation table from a DataFrame or anything with a ``.table`` (ActivationSet)."""
    table = getattr(activations, "table", activations)
    if not isinstance(table, pd.DataFrame):
        raise TypeError("activations must be the activation DataFrame of SPEC §5 or an ActivationSet, "
                        f"not {type(activations).__name__}.")
    missing = {"activation_id", "image_id", "category", "significant"} - set(table.columns)
    if missing:
        raise NamingError(f"The activation table lacks the columns {sorted(missing)} (SPEC §5).")
    return table


def significant_ids(activations, category: str) -> pd.Index:
    """S: the significant activation ids of ``category``, in table order."""
    table = activation_table(activations)
    rows = (table["category"] == category) & table["significant"].astype(bool)
    return pd.Index(table.loc[rows, "activation_id"].astype(str))


def as_table(naming) -> pd.DataFrame:
    """The long naming table of a DataFrame, a :class:`Namings`, or a naming document."""
    if isinstance(naming, Namings):
        return naming.table
    if isinstance(naming, Mapping):
        validate_naming_doc(naming)
        return naming_table(naming)
    if not isinstance(naming, pd.DataFrame):
        raise TypeError(f"Expected a naming table (DataFrame), a Namings or a naming document, not {type(naming).__name__}.")
    missing = set(TABLE_COLUMNS) - set(naming.columns)
    if missing:
        raise NamingError(f"The naming table lacks the columns {sorted(missing)}; SPEC §5 needs {TABLE_COLUMNS}.")
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
    """The activations one naming names, after SPEC §6 cleaning.

    Returns ``(concept_of, names)``: a Series activation_id -> concept_id holding only the
    named activations (restricted to the category's significant ones when ``activations`` is
    given; trash and dissolved concepts dropped) and a dict concept_id -> name of the concepts
    that survive.
    """
    table, _, category = single_naming(naming)
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
    shared_ids = table[table["status"] == "named"].groupby(["annotator", "category", "concept_id"])["concept"].nunique()
    if (shared_ids > 1).any():
        annotator, category, cid = shared_ids[shared_ids > 1].index[0]
        raise NamingError(f"Annotator {annotator!r}, category {category!r}: concept id {cid!r} carries "
                          "several names; give each concept one name.")
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


def _load_one(source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return as_table(source)
    if isinstance(source, Mapping):
        return as_table(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise FileNotFoundError(f"No naming files (*.json) in {path}.")
            return pd.concat([naming_table(read_naming_file(f)) for f in files], ignore_index=True)
        return naming_table(read_naming_file(path))
    raise TypeError(f"Cannot read a naming from {type(source).__name__}; give a DataFrame, a naming "
                    "document, a naming file or a folder of them.")


class Namings:
    """Many people's namings of many categories as one validated long table (SPEC §5).

    ``sources`` is a DataFrame, a naming document, a naming file, a folder of naming files, or
    a list of these; they are concatenated. With ``activations`` the ids are checked against
    the activation table too. Views: :meth:`for_annotator`, :meth:`for_category`, :meth:`get`.
    """

    def __init__(self, sources, activations=None):
        if isinstance(sources, (pd.DataFrame, Mapping, str, os.PathLike)):
            sources = [sources]
        tables = [_load_one(s) for s in sources]
        if not tables:
            raise NamingError("No namings given.")
        table = pd.concat(tables, ignore_index=True)[TABLE_COLUMNS]
        table = table.astype({c: "string" for c in TABLE_COLUMNS})
        validate_table(table, activations)
        self.table = table.reset_index(drop=True)
        self.activations = activations

    @property
    def annotators(self) -> list[str]:
        return sorted(self.table["annotator"].unique())

    @property
    def categories(self) -> list[str]:
        return sorted(self.table["category"].unique())

    def _subset(self, rows) -> "Namings":
        view = object.__new__(Namings)
        view.table, view.activations = self.table[rows].reset_index(drop=True), self.activations
        return view

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
        return self.table[rows].reset_index(drop=True)

    def pairs(self) -> Iterable[tuple[str, str, pd.DataFrame]]:
        """(annotator, category, table) for every naming, sorted."""
        for (annotator, category), table in self.table.groupby(["annotator", "category"], sort=True):
            yield str(annotator), str(category), table.reset_index(drop=True)

    def __len__(self) -> int:
        return int(self.table.groupby(["annotator", "category"]).ngroups)

    def __repr__(self) -> str:
        return f"Namings({len(self)} namings, annotators={self.annotators}, categories={self.categories})"


def iter_namings(namings) -> Iterable[tuple[str, str, pd.DataFrame]]:
    """(annotator, category, table) for a Namings, a long DataFrame or a list of sources."""
    if not isinstance(namings, Namings):
        namings = Namings(namings)
    return namings.pairs()
