"""A first grouping of the unlabeled pool, for a person to name, split, merge or dissolve.

Within each x-feature (activations of one x-feature already share a direction of the XNN),
the pool's descriptors are clustered with k-means (scipy's ``kmeans2``, seeded, k-means++
start), about ``size`` activations per group; groups smaller than the minimum concept size
are left in the pool.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..naming.rules import MIN_CONCEPT_SIZE, PROPOSAL_SIZE
from .suggest import DescriptorSpace

__all__ = ["propose_groups"]


def propose_groups(space: DescriptorSpace, pool: Sequence[str], xfeature_of: dict[str, int], *,
                   size: int = PROPOSAL_SIZE, seed: int = 0) -> list[tuple[str, list[str]]]:
    """``[(name, members), ...]``: proposed groups of ``pool``, named ``"proposed x<k>.<j>"``."""
    if size < MIN_CONCEPT_SIZE:
        raise ValueError(f"size is the wanted group size, at least {MIN_CONCEPT_SIZE}; got {size}")
    groups: list[tuple[str, list[str]]] = []
    by_feature: dict[int, list[str]] = {}
    for aid in pool:
        by_feature.setdefault(int(xfeature_of[aid]), []).append(aid)
    for feature in sorted(by_feature):
        ids = by_feature[feature]
        if len(ids) < MIN_CONCEPT_SIZE:
            continue
        k = max(1, round(len(ids) / size))
        if k == 1:
            labels = np.zeros(len(ids), dtype=np.int64)
        else:
            from scipy.cluster.vq import kmeans2  # here: importing scipy.cluster takes ~0.7 s

            _, labels = kmeans2(space.vectors[space.rows(ids)].astype(np.float64), k, minit="++", seed=seed)
        order = sorted(set(labels.tolist()), key=lambda c: -int((labels == c).sum()))
        number = 0
        for cluster in order:
            members = [a for a, label in zip(ids, labels) if label == cluster]
            if len(members) >= MIN_CONCEPT_SIZE:
                number += 1
                groups.append((f"proposed x{feature}.{number}", members))
    return groups
