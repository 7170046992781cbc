"""Abstract local explanations and global explanations (definitions §6).

A local explanation of an image is the sorted tuple of the distinct concept names of its
significant activations, with ``other`` (once) for unnamed ones; a global explanation is how
often each local explanation occurs over the category's images.
"""
from __future__ import annotations

import pandas as pd

from .namings import MIN_SIZE, activation_table, named_concepts, single_naming


def local_explanations(naming, activations, *, other: str = "other", min_size: int = MIN_SIZE) -> pd.DataFrame:
    """One row per image of the naming's category that has significant activations.

    Columns: ``image_id``, ``explanation`` (sorted tuple of names), ``n_significant``,
    ``n_named``, ``partial`` (≥ 1 named) and ``complete`` (all named).
    """
    _, _, category = single_naming(naming)
    concept_of, names = named_concepts(naming, activations, min_size=min_size)
    acts = activation_table(activations)
    sig = acts[(acts["category"] == category) & acts["significant"].astype(bool)]
    ids = sig["activation_id"].astype(str)
    concept = ids.map(concept_of)
    frame = pd.DataFrame({
        "image_id": sig["image_id"].astype(str).to_numpy(),
        "name": concept.map(names).fillna(other).to_numpy(),
        "named": concept.notna().to_numpy(),
    })
    grouped = frame.groupby("image_id", sort=True)
    out = pd.DataFrame({
        "explanation": grouped["name"].agg(lambda s: tuple(sorted(set(s)))),
        "n_significant": grouped.size(),
        "n_named": grouped["named"].sum().astype(int),
    })
    out["partial"] = out["n_named"] > 0
    out["complete"] = out["n_named"] == out["n_significant"]
    return out.reset_index()


def global_explanation(naming, activations, *, level: str = "image", other: str = "other",
                       min_size: int = MIN_SIZE) -> pd.DataFrame:
    """The frequency of each abstract explanation, most frequent first (fractions sum to 1).

    ``level="image"`` counts local explanations over images; ``level="activation"`` counts the
    significant activations per concept name (``(name,)``, unnamed ones as ``(other,)``).
    Columns: ``explanation`` (tuple of names), ``count``, ``fraction``.
    """
    if level == "image":
        keys = local_explanations(naming, activations, other=other, min_size=min_size)["explanation"]
    elif level == "activation":
        _, _, category = single_naming(naming)
        concept_of, names = named_concepts(naming, activations, min_size=min_size)
        acts = activation_table(activations)
        ids = acts.loc[(acts["category"] == category) & acts["significant"].astype(bool), "activation_id"].astype(str)
        keys = ids.map(concept_of).map(names).fillna(other).map(lambda name: (name,))
    else:
        raise ValueError(f"level must be 'image' or 'activation', not {level!r}.")
    counts = keys.value_counts()
    out = pd.DataFrame({"explanation": list(counts.index), "count": counts.to_numpy().astype(int)})
    out["fraction"] = out["count"] / max(int(out["count"].sum()), 1)
    out["_key"] = out["explanation"].map(repr)
    out = out.sort_values(["count", "_key"], ascending=[False, True], kind="stable").drop(columns="_key")
    return out.reset_index(drop=True)


def explanation_summary(global_table: pd.DataFrame, *, digits: int = 1) -> str:
    """A one-line summary like the papers': ``('eye', 'close wing') 56.7 %, ('eye',) 10.0 %``."""
    return ", ".join(f"{tuple(e)!r} {100 * f:.{digits}f} %"
                     for e, f in zip(global_table["explanation"], global_table["fraction"]))
