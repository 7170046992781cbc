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
from scipy import sparse

__all__ = ["DescriptorSpace", "group_prototypes", "rank_candidates", "rank_rows"]

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


def group_prototypes(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean vector of each group: ``labels (N,)`` numbers rows 0..G-1 (-1: none)."""
    labels = np.asarray(labels)
    kept = labels >= 0
    n_groups = int(labels.max(initial=-1)) + 1
    sums = np.zeros((n_groups, vectors.shape[1]), np.float64)
    if kept.any():
        sums = sparse.csr_matrix((np.ones(int(kept.sum())), (labels[kept], np.flatnonzero(kept))),
                                 shape=(n_groups, len(vectors))) @ vectors
    return _unit(np.asarray(sums, dtype=np.float32))


def rank_rows(vectors: np.ndarray, member_rows: np.ndarray, candidate_rows: np.ndarray, *,
              negative_prototypes: np.ndarray | None = None, rejected_rows: np.ndarray = (),
              k: int = 20, with_scores: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ``k`` best ``candidate_rows`` (row numbers of ``vectors``), best first.

    The score of the module docstring, on row numbers: ``negative_prototypes (G, d)`` are the
    other concepts' unit mean vectors (:func:`group_prototypes`), ``rejected_rows`` the
    activations turned down for this concept. Ties go to the earlier candidate. With
    ``with_scores`` also their scores (float32, best first): above 0, a candidate is closer to
    this concept than to any other concept or rejected activation.
    """
    candidate_rows = np.asarray(candidate_rows, dtype=np.int64)
    if not len(candidate_rows):
        return (candidate_rows, np.zeros(0, np.float32)) if with_scores else candidate_rows
    prototype = _unit(vectors[np.asarray(member_rows, dtype=np.int64)].mean(axis=0))
    negatives = [vectors[np.asarray(rejected_rows, dtype=np.int64)]]
    if negative_prototypes is not None:
        negatives.append(np.asarray(negative_prototypes, dtype=np.float32))
    negatives = np.concatenate(negatives)
    x = vectors[candidate_rows]
    score = x @ prototype
    if len(negatives):
        score = score - (x @ negatives.T).max(axis=1)
    best = np.argsort(-score, kind="stable")[:k]  # ties to the earlier candidate
    return (candidate_rows[best], score[best].astype(np.float32)) if with_scores else candidate_rows[best]


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
    groups = [group for group in other_concepts if len(group)]
    labels = np.full(len(space.ids), -1, np.int64)
    for number, group in enumerate(groups):
        labels[space.rows(list(group))] = number
    best = rank_rows(space.vectors, space.rows(list(members)), space.rows(pool),
                     negative_prototypes=group_prototypes(space.vectors, labels) if groups else None,
                     rejected_rows=space.rows(list(rejected)), k=k)
    return [space.ids[i] for i in best]
