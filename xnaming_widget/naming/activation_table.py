"""The activation table a naming refers to: checked once, fingerprinted, matched to namings.

A naming belongs to one activation set, recorded as the set's *fingerprint*. An
``ActivationSet`` carries its own content fingerprint; a bare DataFrame gets a content hash of
its rows. Every entrance that joins a naming with activations (the widget, the analysis)
checks that fingerprint here, so one set's naming is never read against another set.
"""
from __future__ import annotations

import hashlib
from typing import Any, Sequence

import pandas as pd

from .rules import NamingError

ACTIVATION_COLUMNS = ["activation_id", "image_id", "category", "xfeature", "value", "weight",
                      "contribution", "significant", "predicted", "label"]
WIDGET_COLUMNS = ("activation_id", "image_id", "category", "xfeature", "contribution", "significant")
ANALYSIS_COLUMNS = ("activation_id", "image_id", "category", "significant")

__all__ = ["ACTIVATION_COLUMNS", "WIDGET_COLUMNS", "ANALYSIS_COLUMNS", "activation_table", "table_fingerprint",
           "fingerprint_of", "check_fingerprint", "significant_ids"]


def activation_table(activations: Any, required: Sequence[str] = ANALYSIS_COLUMNS) -> pd.DataFrame:
    """The activation table of an ``ActivationSet`` or a DataFrame, with the ``required`` columns
    and unique activation ids; raises ``TypeError`` / :class:`NamingError` saying what is wrong."""
    table = activations if isinstance(activations, pd.DataFrame) else getattr(activations, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            "activations must be an ActivationSet (from build_activations / ActivationSet.load) or a "
            f"pandas DataFrame with the columns {ACTIVATION_COLUMNS}; got {type(activations).__name__}.")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise NamingError(f"The activation table lacks the column(s) {missing}; an activation table has "
                          f"{ACTIVATION_COLUMNS} (docs/definitions.md).")
    # an ActivationSet refused repeated ids when it was made (its ``ids_unique``): not checked again
    if not getattr(activations, "ids_unique", False) and table["activation_id"].duplicated().any():
        dupes = table.loc[table["activation_id"].duplicated(), "activation_id"].head(5).tolist()
        raise NamingError(f"activation_id must be unique; repeated: {dupes}.")
    return table


def table_fingerprint(table: pd.DataFrame) -> str:
    """A content hash of an activation table (row order does not matter), for bare DataFrames."""
    columns = [c for c in ACTIVATION_COLUMNS if c in table.columns]
    canonical = table[columns].sort_values("activation_id", kind="stable").reset_index(drop=True)
    numeric = ("xfeature", "value", "weight", "contribution", "significant")
    canonical = canonical.astype({c: "string" for c in columns if c not in numeric})
    row_hashes = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
    digest = hashlib.sha256(",".join(columns).encode() + row_hashes.tobytes()).hexdigest()
    return f"table-sha256:{digest[:32]}"


def fingerprint_of(activations: Any, table: pd.DataFrame | None = None) -> str:
    """The activation set's own fingerprint, or a content hash of a bare table."""
    fingerprint = getattr(activations, "fingerprint", None)
    if isinstance(activations, pd.DataFrame) or not fingerprint:
        return table_fingerprint(activation_table(activations) if table is None else table)
    return str(fingerprint)


def _accepted_fingerprints(activations: Any) -> set[str]:
    """The fingerprints a naming of these activations may carry: the set's own, and those of the
    sets it was cut from (``ActivationSet.for_category`` keeps the naming of the whole set valid)."""
    return {fingerprint_of(activations), *getattr(activations, "parent_fingerprints", ())}


def check_fingerprint(naming_fingerprint: str | None, activations: Any, *, source: str = "the naming") -> None:
    """Refuse a naming made on another activation set (a naming without a fingerprint passes).

    Raises :class:`NamingError` that says how to override the check on purpose.
    """
    if naming_fingerprint is None or activations is None:
        return
    accepted = _accepted_fingerprints(activations)
    if naming_fingerprint not in accepted:
        raise NamingError(
            f"{source} was made on another activation set (fingerprint {naming_fingerprint!r}; the "
            f"activations given have {fingerprint_of(activations)!r}). Analyse it with the activation set "
            "it was made on; to compare across sets on purpose, pass check_fingerprint=False to Namings(...).")


def significant_ids(activations: Any, category: str) -> pd.Index:
    """The significant activation ids of ``category``, in table order."""
    table = activation_table(activations)
    rows = (table["category"] == category) & table["significant"].astype(bool)
    return pd.Index(table.loc[rows, "activation_id"].astype(str))
