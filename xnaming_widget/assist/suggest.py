"""Rank the unlabeled activations by how likely each belongs to a concept.

The model is learned online from the naming as it stands: the concept's members are the
positive evidence (their mean descriptor, the concept's prototype), the other concepts'
prototypes and the activations a person rejected for this concept are the negative
evidence. A candidate scores ``cos(x, prototype) − max cos(x, negatives)``: close to the
concept and farther from anything it was told apart from. Descriptors are first projected on
their leading principal directions (:class:`DescriptorSpace`, computed once per widget), so a
ranking over 10,000 activations is a few small matrix products.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["DescriptorSpace", "rank_candidates"]

MAX_DIMS = 64


class DescriptorSpace:
    """Descriptors of a fixed list of activations, centred, projected (PCA) and unit length."""

    def __init__(self, ids: Sequence[str], descriptors: np.ndarray, *, max_dims: int = MAX_DIMS):
        descriptors = np.asarray(descriptors, dtype=np.float32)
        if descriptors.ndim != 2 or len(descriptors) != len(ids):
            raise ValueError(f"descriptors must be (N, d) with one row per id ({len(ids)}); got {descriptors.shape}")
        if not np.isfinite(descriptors).all():
            raise ValueError("descriptors contain NaN or inf; rebuild the activation set")
        self.ids = list(ids)
        self.index = {a: i for i, a in enumerate(self.ids)}
        centred = descriptors - descriptors.mean(axis=0, keepdims=True)
        if descriptors.shape[1] > max_dims and len(descriptors) > max_dims:
            _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 4096)], full_matrices=False)
            centred = centred @ vt[:max_dims].T
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        self.vectors = (centred / np.maximum(norms, 1e-12)).astype(np.float32)

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row indices of ``ids`` (KeyError naming the first unknown id)."""
        try:
            return np.fromiter((self.index[a] for a in ids), dtype=np.int64, count=len(ids))
        except KeyError as err:
            raise KeyError(f"no descriptor for activation {err.args[0]!r}") from None


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def rank_candidates(space: DescriptorSpace, members: Sequence[str], candidates: Sequence[str], *,
                    other_concepts: Sequence[Sequence[str]] = (), rejected: Sequence[str] = (),
                    k: int = 20) -> list[str]:
    """The ``k`` best ``candidates`` for the concept whose members are ``members``, best first.

    ``other_concepts``: the members of every other concept; ``rejected``: activations turned
    down for this concept (they and the members themselves are never returned). Ties go to
    the earlier candidate.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not len(members):
        raise ValueError("the concept has no members yet: place a few activations in it first")
    excluded = set(members) | set(rejected)
    pool = [a for a in candidates if a not in excluded]
    if not pool:
        return []
    vectors = space.vectors
    prototype = _unit(vectors[space.rows(members)].mean(axis=0))
    negatives = [_unit(vectors[space.rows(group)].mean(axis=0)) for group in other_concepts if len(group)]
    if len(rejected):
        negatives += list(vectors[space.rows(list(rejected))])
    x = vectors[space.rows(pool)]
    score = x @ prototype
    if negatives:
        score = score - (x @ np.stack(negatives).T).max(axis=1)
    best = np.argsort(-score, kind="stable")[:k]
    return [pool[i] for i in best]
