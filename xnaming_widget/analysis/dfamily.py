"""Exact best D-family matchings of a weighted bipartite graph (Cazals et al. 2017; definitions §6).

The graph is given by its weight matrix ``W`` (rows: one side's nodes, columns: the other's;
an edge wherever ``W > 0``). A D-family matching partitions all nodes into groups whose
induced subgraph has diameter ≤ D; its score is the weight of the edges inside the groups.

- D = 1: groups are single edges, so this is maximum-weight bipartite matching
  (``scipy.optimize.linear_sum_assignment``).
- D = 2: in a bipartite graph a group of diameter ≤ 2 is a complete bipartite block (or one
  node). Given the blocks' row parts, each column independently joins the block that pays it
  most among those it is adjacent to in full. Per connected component: when the smaller side
  has at most ``SEARCH_SIDE_D2`` concepts (the common case for real namings), a branch and
  bound over the partitions of that side is exact and fastest; larger components go to
  :mod:`.biclique_packing` (one MILP for sparse components, exact branch and price for dense
  ones, with the LP bound priced over every row subset).
- D ≥ 3: connected node subsets of diameter ≤ D are enumerated (small components only) and
  packed exactly by ``milp``.

Components whose own diameter is ≤ D are taken whole without search (all their weight).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from .biclique_packing import best_biclique_partition

SEARCH_SIDE_D2 = 7  # smaller side at most this: branch and bound over partitions; above: biclique_packing
MAX_NODES_ENUM = 16


@dataclass
class Matching:
    """A best D-family matching: its ``score`` and non-trivial ``groups`` as (rows, columns)."""

    score: float
    groups: list[tuple[list[int], list[int]]] = field(default_factory=list)


def _check_weights(weights) -> np.ndarray:
    W = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"weights must be a 2-D matrix (rows × columns of the intersection graph), got shape {W.shape}.")
    if not np.isfinite(W).all() or (W < 0).any():
        raise ValueError("weights must be finite and non-negative (intersection sizes).")
    return W


def _block_score(W: np.ndarray, rows, cols) -> float:
    return float(W[np.ix_(rows, cols)].sum()) if len(rows) and len(cols) else 0.0


def _solve_milp(c: np.ndarray, A, ub: np.ndarray) -> np.ndarray:
    res = milp(c, constraints=[LinearConstraint(A, -np.inf, ub)], integrality=np.ones(len(c)),
               bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if res.x is None:  # pragma: no cover - HiGHS always finds the empty packing
        raise RuntimeError(f"The matching MILP failed: {res.message}")
    return np.round(res.x).astype(bool)


def _d2_search(W: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Exact D = 2 by branch and bound over the partitions of the smaller side (small components).

    Rows are placed one at a time into an existing block or a new one; given the row blocks,
    each column independently joins the block it is fully adjacent to that pays it most. A
    partial partition is pruned when, even if every column got all its remaining neighbours
    on top of its best current block, it could not beat the best complete one.
    """
    transposed = W.shape[0] > W.shape[1]
    if transposed:
        W = W.T
    m, n = W.shape
    subsets = np.arange(1 << m)
    gain = (((subsets[:, None] >> np.arange(m)) & 1).astype(float) @ W).T.tolist()   # gain[b][S] = w(b, S)
    neighbours = [int(((W[:, b] > 0) * (1 << np.arange(m))).sum()) for b in range(n)]
    columns = range(n)
    best: list = [-1.0, []]

    def best_block(b, blocks):
        return max((gain[b][B] for B in blocks if B & ~neighbours[b] == 0), default=0.0)

    def bound(blocks, rest):
        return sum(best_block(b, blocks) + gain[b][rest & neighbours[b]] for b in columns)

    def search(k, blocks, rest):
        if k == m:
            value = bound(blocks, 0)
            if value > best[0]:
                best[0], best[1] = value, list(blocks)
            return
        bit, rest = 1 << k, rest & ~(1 << k)
        options = [blocks[:j] + [B | bit] + blocks[j + 1:] for j, B in enumerate(blocks)
                   if any((B | bit) & ~neighbours[b] == 0 for b in columns)] + [blocks + [bit]]
        for ub, new in sorted(((bound(o, rest), o) for o in options), key=lambda t: -t[0]):
            if ub > best[0]:
                search(k + 1, new, rest)

    search(0, [], (1 << m) - 1)
    chosen: dict[int, list[int]] = {}
    for b in columns:
        options = [(gain[b][B], -B, B) for B in best[1] if B & ~neighbours[b] == 0 and gain[b][B] > 0]
        if options:
            chosen.setdefault(max(options)[2], []).append(b)
    groups = [([r for r in range(m) if B >> r & 1], cols) for B, cols in chosen.items()]
    return [(c, r) if transposed else (r, c) for r, c in groups]


def _enumerated_component(W: np.ndarray, D: int) -> list[tuple[list[int], list[int]]]:
    """Exact D-family matching of a small component by enumerating all valid groups."""
    m, n = W.shape
    k = m + n
    if k > MAX_NODES_ENUM:
        raise ValueError(f"Exact D={D} matching enumerates node subsets; a connected component with {k} concepts "
                         f"is too large (limit {MAX_NODES_ENUM}).")
    adjacency = np.zeros((k, k), dtype=bool)
    adjacency[:m, m:] = W > 0
    adjacency |= adjacency.T
    candidates, values = [], []
    for mask in range(1, 1 << k):
        nodes = [i for i in range(k) if mask >> i & 1]
        rows = [i for i in nodes if i < m]
        cols = [i - m for i in nodes if i >= m]
        if not rows or not cols:
            continue
        sub = adjacency[np.ix_(nodes, nodes)]
        reach = np.eye(len(nodes), dtype=bool)
        for _ in range(D):
            reach = reach | (reach.astype(np.int8) @ sub.astype(np.int8) > 0)
        if reach.all():
            candidates.append((rows, cols, nodes))
            values.append(_block_score(W, rows, cols))
    if not candidates:
        return []
    A = np.zeros((k, len(candidates)))
    for j, (_, _, nodes) in enumerate(candidates):
        A[nodes, j] = 1
    x = _solve_milp(-np.asarray(values), csr_matrix(A), np.ones(k))
    return [(candidates[j][0], candidates[j][1]) for j in np.nonzero(x)[0]]


def dfamily_matching(weights, D: int = 1) -> Matching:
    """The exact best D-family matching of the bipartite graph with weight matrix ``weights``."""
    W = _check_weights(weights)
    if not isinstance(D, (int, np.integer)) or D < 1:
        raise ValueError(f"D must be an integer ≥ 1, got {D!r}.")
    m, n = W.shape
    if D == 1:
        rows, cols = linear_sum_assignment(W, maximize=True)
        keep = W[rows, cols] > 0
        groups = [([int(r)], [int(c)]) for r, c in zip(rows[keep], cols[keep])]
        return Matching(float(W[rows, cols].sum()), groups)
    adjacency = np.zeros((m + n, m + n), dtype=bool)
    adjacency[:m, m:] = W > 0
    adjacency |= adjacency.T
    n_comp, label = connected_components(csr_matrix(adjacency), directed=False)
    groups = []
    for comp in range(n_comp):
        nodes = np.nonzero(label == comp)[0]
        rows, cols = nodes[nodes < m], nodes[nodes >= m] - m
        if not len(rows) or not len(cols):
            continue
        sub = W[np.ix_(rows, cols)]
        if (sub > 0).all() or shortest_path(csr_matrix(adjacency[np.ix_(nodes, nodes)]), unweighted=True).max() <= D:
            local = [(list(range(len(rows))), list(range(len(cols))))]
        elif D == 2 and min(sub.shape) <= SEARCH_SIDE_D2:
            local = _d2_search(sub)
        elif D == 2:
            local = best_biclique_partition(sub)
        else:
            local = _enumerated_component(sub, D)
        groups += [([int(rows[r]) for r in g_rows], [int(cols[c]) for c in g_cols]) for g_rows, g_cols in local]
    groups.sort()
    return Matching(sum(_block_score(W, r, c) for r, c in groups), groups)
