"""Carry a naming to another activation set of the same model and layer (new images).

Each significant activation of the target set takes the concept of its nearest named
activation in the source naming (cosine similarity of descriptors), with a confidence: the
margin between that similarity and the nearest activation of any other concept (or of the
unnamed ones), mapped to [0, 1]. Activations nearest to something unnamed stay unlabeled.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis.namings import named_concepts, single_naming
from ..naming.rules import MIN_CONCEPT_SIZE

__all__ = ["transfer_naming"]


def _descriptors_of(activations: Any, what: str) -> tuple[list[str], np.ndarray]:
    from .on_demand import descriptors_for_assist

    descriptors = descriptors_for_assist(activations, f"the {what}")
    table = activations.table
    rows = np.flatnonzero(activations.heatmap_rows >= 0)
    ids = table["activation_id"].to_numpy()[rows].tolist()
    return ids, np.asarray(descriptors, dtype=np.float32)[activations.heatmap_rows[rows]]


def _config(activations: Any) -> dict:
    return (getattr(activations, "meta", {}) or {}).get("config", {})


def transfer_naming(naming, source_activations, target_activations, *, category: str | None = None,
                    min_size: int = MIN_CONCEPT_SIZE) -> pd.DataFrame:
    """The target's significant activations of the naming's category with a concept each.

    Returns ``activation_id, concept, confidence`` (``concept`` missing where the nearest
    source activation is unnamed), best confidence first. The two sets must come from the
    same classifier, descriptor layer and descriptor definition (``DESCRIPTOR_VERSION``), or
    their descriptors are not comparable.
    """
    source_cfg, target_cfg = _config(source_activations), _config(target_activations)
    for key in ("model", "descriptor_layer", "descriptor_version"):
        if source_cfg.get(key) != target_cfg.get(key):
            raise ValueError(f"the activation sets differ in {key} ({source_cfg.get(key)!r} vs "
                             f"{target_cfg.get(key)!r}): a naming carries over only between sets of the same "
                             "classifier, descriptor layer and descriptor definition (rebuild the older one)")
    concept_of, names = named_concepts(naming, source_activations, min_size=min_size)
    category = category or single_naming(naming)[2]
    if not len(concept_of):
        raise ValueError("the naming names no concept with enough members to carry over")
    source_ids, source_vectors = _descriptors_of(source_activations, "source")
    source_table = source_activations.table.set_index("activation_id")
    keep = [i for i, a in enumerate(source_ids) if source_table.at[a, "category"] == category]
    source_ids = [source_ids[i] for i in keep]
    source_vectors = source_vectors[keep]
    labels = np.array([names.get(concept_of.get(a), None) if a in concept_of.index else None
                       for a in source_ids], dtype=object)
    target_ids, target_vectors = _descriptors_of(target_activations, "target")
    target_table = target_activations.table.set_index("activation_id")
    chosen = [i for i, a in enumerate(target_ids) if target_table.at[a, "category"] == category]
    target_ids = [target_ids[i] for i in chosen]
    target_vectors = target_vectors[chosen]

    def unit(v):
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    similarity = unit(target_vectors) @ unit(source_vectors).T  # (T, S)
    nearest = similarity.argmax(axis=1)
    best = similarity[np.arange(len(target_ids)), nearest]
    label = labels[nearest]
    other = np.where(labels[None, :] == label[:, None], -np.inf, similarity).max(axis=1)
    other = np.where(np.isfinite(other), other, -1.0)
    confidence = np.clip((best - other) / 2.0, 0.0, 1.0)
    result = pd.DataFrame({"activation_id": target_ids, "concept": pd.array(label.tolist(), dtype="string"),
                           "confidence": confidence.astype(np.float64)})
    return result.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)
