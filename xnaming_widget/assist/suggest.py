"""Rank the unlabeled activations by how likely each belongs to a concept.

The model is learned online from the naming as it stands: the concept's members are the
positive evidence, the other concepts' members and the activations a person rejected for this
concept the negative evidence. A candidate's **affinity** to a group of activations is the
mean of its ``NEIGHBOURS`` highest cosines to the group's members (all of them in a smaller
group): a concept with several looks (a wing seen from above and from below) is near each of
them, which one mean vector is not. A candidate scores its affinity to the concept minus its
largest affinity to another concept or cosine to a rejected activation: above 0, it is closer
to this concept than to anything it was told apart from.

The cosines are taken in a metric learned from the naming itself (:func:`whiten_by_concepts`):
directions along which the named concepts' own members spread count less, so what tells
concepts apart counts more (on the parts set this settles part of what colour and layers
leave open between parts drawn alike).

Descriptors are first projected on their leading principal directions
(:class:`DescriptorSpace`, computed once per widget). For speed at tens of thousands of
activations the affinities are computed for a **shortlist**: the max(``SHORTLIST``, 10 k)
candidates that score best on the groups' unit mean vectors (prototypes), a few small matrix
products; a group's affinity reads at most ``MAX_REFERENCE`` of its members, evenly spaced.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse

__all__ = ["DescriptorSpace", "group_affinities", "group_prototypes", "rank_candidates", "rank_rows",
           "whiten_by_concepts"]

MAX_DIMS = 64
NEIGHBOURS = 5  # a candidate's affinity to a group: the mean of its 5 highest cosines to the members
SHORTLIST = 200  # candidates whose affinities are computed (at least 10 k): the best by prototype score
MAX_REFERENCE = 64  # members of a group an affinity reads (evenly spaced)
PRIOR_MEMBERS = 20  # the within-concept spread is shrunk toward the plain cosine with weight 20 / (20 + named)


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


def _group_sums(vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sums (G, d) float64, sizes (G,))`` of the rows of each group: ``labels (N,)`` numbers
    rows 0..G-1 (-1: none). One sparse product, no loop over groups."""
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels >= 0)
    n_groups = int(labels.max(initial=-1)) + 1
    indicator = sparse.csr_matrix((np.ones(len(kept)), (labels[kept], kept)), shape=(n_groups, len(vectors)))
    sums = np.asarray(indicator @ vectors.astype(np.float64)).reshape(n_groups, vectors.shape[1])
    return sums, np.bincount(labels[kept], minlength=n_groups)


def group_prototypes(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean vector of each group: ``labels (N,)`` numbers rows 0..G-1 (-1: none)."""
    return _unit(_group_sums(vectors, labels)[0].astype(np.float32))


def _rank_in_group(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``labels (L,)`` in 0..G-1: the order that sorts them by group (stable), each sorted
    row's rank within its group, and the groups' sizes."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=int(labels.max(initial=-1)) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, np.arange(len(labels)) - np.repeat(starts, counts), counts


def group_affinities(similarities: np.ndarray, labels: np.ndarray, n_groups: int, neighbours: int = NEIGHBOURS
                     ) -> np.ndarray:
    """``(S, n_groups)``: for each row of ``similarities (S, L)``, the mean of its ``neighbours``
    largest values among the columns of each group (``labels (L,)`` in 0..n_groups-1; the whole
    group when it is smaller); -inf for a group with no columns. One padded partition, no loop
    over groups."""
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return np.full((len(similarities), n_groups), -np.inf, np.float32)
    order, rank, counts = _rank_in_group(labels)
    counts = np.pad(counts, (0, n_groups - len(counts)))
    padded = np.full((len(similarities), n_groups, int(counts.max())), -np.inf, np.float32)
    padded[:, labels[order], rank] = similarities[:, order]
    m = min(neighbours, padded.shape[2])
    top = -np.partition(-padded, m - 1, axis=2)[:, :, :m]  # the m largest, in any order
    sums = np.where(np.isfinite(top), top, 0).sum(axis=2)
    return np.where(counts > 0, sums / np.maximum(np.minimum(counts, m), 1), -np.inf).astype(np.float32)


def whiten_by_concepts(vectors: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``vectors (N, d)`` in the naming's metric, unit length: multiplied by S^(-1/2), where S is
    the named rows' within-concept scatter (each row minus its concept's mean; ``groups (N,)``
    numbers each row's concept 0..G-1, -1 for rows in none) shrunk toward its isotropic part,
    S = (1 − a)·S_w + a·tr(S_w)/d·I with a = PRIOR_MEMBERS / (PRIOR_MEMBERS + named rows). With
    fewer than 2 named rows or no spread, the vectors are returned as they are."""
    groups = np.asarray(groups, dtype=np.int64)
    named = np.flatnonzero(groups >= 0)
    if len(named) < 2:
        return vectors
    sums, sizes = _group_sums(vectors, groups)
    spread = vectors[named] - (sums / np.maximum(sizes, 1)[:, None])[groups[named]]
    scatter = spread.T @ spread / len(named)
    d = vectors.shape[1]
    isotropic = np.trace(scatter) / d
    if isotropic <= 0:
        return vectors
    a = PRIOR_MEMBERS / (PRIOR_MEMBERS + len(named))
    values, axes = np.linalg.eigh((1 - a) * scatter + a * isotropic * np.eye(d))
    transform = (axes / np.sqrt(np.maximum(values, 1e-12 * isotropic))) @ axes.T
    return _unit((vectors @ transform).astype(np.float32))


def _evenly_spaced(labels: np.ndarray, limit: int) -> np.ndarray:
    """A mask keeping at most ``limit`` rows of each group of ``labels`` (-1: none), evenly spaced."""
    keep = np.zeros(len(labels), bool)
    kept = np.flatnonzero(labels >= 0)
    if len(kept):
        order, rank, counts = _rank_in_group(labels[kept])
        step = -(-counts // limit)  # ceil: 1 for a group within the limit
        keep[kept[order]] = rank % step[labels[kept][order]] == 0
    return keep


def rank_rows(vectors: np.ndarray, member_rows: np.ndarray, candidate_rows: np.ndarray, *,
              negative_labels: np.ndarray | None = None, rejected_rows: np.ndarray = (),
              k: int = 20, with_scores: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ``k`` best ``candidate_rows`` (row numbers of ``vectors``), best first.

    The score of the module docstring, on row numbers, in the naming's metric
    (:func:`whiten_by_concepts` over this concept and the others): ``negative_labels (N,)``
    numbers the rows of the other concepts 0..G-1 (-1: none), ``rejected_rows`` are the
    activations turned down for this concept. Ties go to the earlier candidate. With
    ``with_scores`` also their scores (float32, best first).
    """
    candidate_rows = np.asarray(candidate_rows, dtype=np.int64)
    member_rows = np.asarray(member_rows, dtype=np.int64)
    rejected_rows = np.asarray(rejected_rows, dtype=np.int64)
    if not len(candidate_rows):
        return (candidate_rows, np.zeros(0, np.float32)) if with_scores else candidate_rows
    labels = np.full(len(vectors), -1, np.int64) if negative_labels is None else np.asarray(negative_labels, np.int64)
    n_negative = int(labels.max(initial=-1)) + 1
    # the groups: 0 the concept, 1..G the other concepts
    groups = np.where(labels >= 0, labels + 1, -1)
    groups[member_rows] = 0
    vectors = whiten_by_concepts(vectors, groups)
    if len(candidate_rows) > max(SHORTLIST, 10 * k):
        candidate_rows = _shortlist(vectors, groups, candidate_rows, rejected_rows, max(SHORTLIST, 10 * k))
    groups[~_evenly_spaced(groups, MAX_REFERENCE)] = -1  # each group read through MAX_REFERENCE
    reference = np.flatnonzero(groups >= 0)
    x = vectors[candidate_rows]
    affinity = group_affinities(x @ vectors[reference].T, groups[reference], n_negative + 1)
    negative = affinity[:, 1:].max(axis=1, initial=-np.inf)
    if len(rejected_rows):
        negative = np.maximum(negative, (x @ vectors[rejected_rows].T).max(axis=1))
    score = affinity[:, 0] - np.where(np.isfinite(negative), negative, 0)
    best = np.argsort(-score, kind="stable")[:k]  # ties to the earlier candidate
    return (candidate_rows[best], score[best].astype(np.float32)) if with_scores else candidate_rows[best]


def _shortlist(vectors: np.ndarray, groups: np.ndarray, candidate_rows: np.ndarray, rejected_rows: np.ndarray,
               size: int) -> np.ndarray:
    """The ``size`` candidates that score best on prototypes (cos to the concept's unit mean,
    group 0 of ``groups``, minus the largest cos to another group's unit mean or a rejected
    activation), in their given order."""
    x = vectors[candidate_rows]
    prototypes = group_prototypes(vectors, groups)
    score = x @ prototypes[0]
    negatives = np.concatenate([prototypes[1:], vectors[rejected_rows]])
    if len(negatives):
        score = score - (x @ negatives.T).max(axis=1)
    return candidate_rows[np.sort(np.argpartition(-score, size - 1)[:size])]


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
    best = rank_rows(space.vectors, space.rows(list(members)), space.rows(pool), negative_labels=labels,
                     rejected_rows=space.rows(list(rejected)), k=k)
    return [space.ids[i] for i in best]
