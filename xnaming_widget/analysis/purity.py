"""Purity of a naming against the x-features (definitions §6, the papers' CX and XC tables)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .namings import MIN_SIZE, activation_table, iter_namings, named_concepts


class Purity(NamedTuple):
    cx: float
    """Concept -> x-feature: share of named activations on their concept's majority x-feature."""
    xc: float
    """X-feature -> concept: share of named activations in their x-feature's majority concept."""


def purity(naming, activations, *, min_size: int = MIN_SIZE) -> Purity:
    """(CX, XC) purity of one naming; NaN for both when nothing is named."""
    concept_of, _ = named_concepts(naming, activations, min_size=min_size)
    if concept_of.empty:
        return Purity(np.nan, np.nan)
    acts = activation_table(activations)
    xfeature = pd.Series(acts["xfeature"].to_numpy(), index=acts["activation_id"].astype(str))
    counts = pd.crosstab(concept_of.to_numpy(), xfeature.loc[concept_of.index].to_numpy()).to_numpy()
    total = counts.sum()
    return Purity(float(counts.max(axis=1).sum() / total), float(counts.max(axis=0).sum() / total))


def purity_table(namings, activations, *, min_size: int = MIN_SIZE) -> pd.DataFrame:
    """CX and XC purity for every (category, annotator) naming."""
    rows = [{"category": c, "annotator": a, **purity(t, activations, min_size=min_size)._asdict()}
            for a, c, t in iter_namings(namings)]
    return pd.DataFrame(rows, columns=["category", "annotator", "cx", "xc"])
