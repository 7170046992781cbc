"""Coverage of significant activations and of explanations by namings (definitions §6, RQ1)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .namings import MIN_SIZE, activation_table, iter_namings, named_concepts

ANY_ANNOTATOR = "any annotator"


def _significant(activations, category: str) -> pd.DataFrame:
    acts = activation_table(activations)
    sig = acts[(acts["category"] == category) & acts["significant"].astype(bool)]
    return pd.DataFrame({"activation_id": sig["activation_id"].astype(str).to_numpy(),
                         "image_id": sig["image_id"].astype(str).to_numpy()})


def _coverage_row(sig: pd.DataFrame, named: np.ndarray) -> dict:
    per_image = pd.Series(named).groupby(sig["image_id"].to_numpy())
    n_images = int(per_image.ngroups)
    return {
        "n_significant": len(sig), "n_named": int(named.sum()),
        "activation_coverage": named.mean() if len(sig) else np.nan,
        "n_images": n_images,
        "partial_coverage": per_image.any().mean() if n_images else np.nan,
        "complete_coverage": per_image.all().mean() if n_images else np.nan,
    }


def _named_matrix(namings, activations, min_size):
    """Per category: (significant table, annotators, bool matrix annotators × S of 'named')."""
    by_category: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for annotator, category, table in iter_namings(namings):
        sig = _significant(activations, category)
        concept_of, _ = named_concepts(table, activations, min_size=min_size)
        annotators, rows = by_category.setdefault(category, ([], []))
        annotators.append(annotator)
        rows.append(sig["activation_id"].isin(concept_of.index).to_numpy())
    for category, (annotators, rows) in sorted(by_category.items()):
        yield category, _significant(activations, category), annotators, np.vstack(rows)


def coverage(namings, activations, *, min_size: int = MIN_SIZE, any_annotator: str = ANY_ANNOTATOR) -> pd.DataFrame:
    """Activation, partial and complete explanation coverage per category and annotator.

    One row per (category, annotator) with a naming, plus a row per category for
    ``any_annotator``, whose named set is the union of everyone's named sets. Columns:
    category, annotator, n_significant, n_named, activation_coverage, n_images,
    partial_coverage, complete_coverage.
    """
    rows = []
    for category, sig, annotators, named in _named_matrix(namings, activations, min_size):
        for annotator, row in zip(annotators, named):
            rows.append({"category": category, "annotator": annotator, **_coverage_row(sig, row)})
        rows.append({"category": category, "annotator": any_annotator, **_coverage_row(sig, named.any(axis=0))})
    return pd.DataFrame(rows)


def named_by_n(namings, activations, *, min_size: int = MIN_SIZE) -> pd.DataFrame:
    """Fraction of each category's S named by exactly n annotators (rows: categories, columns: n).

    Columns run from 0 to the largest number of annotators of any category; each row sums to 1.
    """
    results = {}
    for category, sig, _, named in _named_matrix(namings, activations, min_size):
        counts = named.sum(axis=0)
        results[category] = np.bincount(counts, minlength=named.shape[0] + 1) / max(len(counts), 1)
    width = max(len(v) for v in results.values())
    table = pd.DataFrame({c: np.pad(v, (0, width - len(v))) for c, v in results.items()}).T
    table.index.name, table.columns.name = "category", "n"
    return table
