"""Exact maximum-weight partition of a bipartite graph into bicliques (D = 2 matchings, definitions §6).

For D = 2 every group of a D-family matching is a complete bipartite block, so the best
matching is the partition of the nodes into bicliques that keeps the most edge weight. Rows
are the smaller side; given the row blocks, each column joins the block that pays it most.

Sparse graphs (each column has few neighbours, as when two namings mostly agree): the row
sets with a common neighbour are few, so one MILP over all of them is exact (y_S opens row
set S, x_bS lets column b join it; only y is integer). Its LP relaxation is almost always
integral, so the LP is tried first.

Dense graphs: branch and price (column generation inside branch and bound).

- Master LP (set partitioning over blocks): one variable per block (S, T), T a set of
  columns adjacent to all of S; every row in exactly one block (a row alone is ({r}, ∅)),
  every column in at most one.
- Pricing: for LP duals π (rows) and σ ≥ 0 (columns) the best block with row set S takes
  the columns that pay more than their dual, so its reduced cost is
  rc(S) = Σ_b max(0, w(b, S) − σ_b) − π(S). It is evaluated for *every* row set with a
  common neighbour at once, in one vectorised numpy pass: no block is ever missed, which is
  what makes the bound exact.
- Bound: for any π and σ ≥ 0, score ≤ Σπ + Σσ + Σ_rows max_{S ∋ r} max(0, rc(S)) / |S|
  (a Lagrangian bound, safe against LP tolerances); with integer weights it is rounded down.
  Because it holds for any duals, pricing uses Wentges smoothing (a point between the LP
  duals and the best duals so far), which tames the very degenerate master LPs of dense
  graphs, and column generation stops as soon as the bound is decided.
- Branching (Ryan and Foster): two rows whose LP co-membership is fractional go to the
  same block in one branch and to different blocks in the other. Every LP is also rounded
  to a real partition (greedy by LP value), which usually closes the tree at the root.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

MAX_ROWS = 18
COLUMNS_PER_ROUND = 60
FACILITY_MAX_CHOICES = 4000  # sparse graphs: at most this many (column, row set) choices go to one MILP
FACILITY_TIME_LIMIT_S = 0.5  # after this the MILP gives way to branch and price
_PRICE_TOL = 1e-9
SMOOTHING = 0.7


def _bits(masks: np.ndarray, m: int) -> np.ndarray:
    """(len(masks), m) booleans: which rows each row-set bit mask holds."""
    return ((np.asarray(masks, dtype=np.int64)[:, None] >> np.arange(m)) & 1).astype(bool)


def _allowed(masks: np.ndarray, together: list, apart: list) -> np.ndarray:
    """Which row sets respect the branch: pairs in ``together`` both in or both out, ``apart`` not both."""
    ok = np.ones(len(masks), dtype=bool)
    for a, b in together:
        ok &= ((masks >> a) & 1) == ((masks >> b) & 1)
    for a, b in apart:
        ok &= ((masks >> a) & 1) & ((masks >> b) & 1) == 0
    return ok


def _column_gain(W: np.ndarray, masks) -> np.ndarray:
    """(n, len(masks)) w(b, S) for row-set masks S, zero where column b is not adjacent to all of S."""
    bits = _bits(masks, W.shape[0])
    adjacent = ~((W.T[:, None, :] <= 0) & bits[None, :, :]).any(axis=2)
    return (W.T @ bits.T.astype(float)) * adjacent


def _with_lone_rows(blocks, m: int) -> list[int]:
    """The row blocks plus a singleton for every row of the m that no block covers."""
    covered = 0
    for S in blocks:
        covered |= S
    return list(blocks) + [1 << r for r in range(m) if not covered >> r & 1]


class _BicliquePacking:
    """Branch and price state for one weight matrix whose rows are the smaller side."""

    def __init__(self, W: np.ndarray):
        self.W = W
        self.m, self.n = m, n = W.shape
        all_sets = np.arange(1, 1 << m, dtype=np.int64)
        row_masks = ((W > 0) * (1 << np.arange(m))[:, None]).sum(axis=0)          # (n,) neighbour rows per column
        adjacent_to_all = (all_sets[None, :] & ~row_masks[:, None]) == 0          # (n, K) S ⊆ N(b)
        singleton = (all_sets & (all_sets - 1)) == 0
        # Only row sets with a common neighbour can carry weight; singletons stand for isolated rows.
        keep = adjacent_to_all.any(axis=0) | singleton
        self.sets = all_sets[keep]                                                # the priced family
        self.members_f = _bits(self.sets, m).astype(float)                        # (K, m)
        self.sizes = self.members_f.sum(axis=1)
        self.gain = (W.T @ self.members_f.T) * adjacent_to_all[:, keep]           # (n, K) w(b, S) where S ⊆ N(b)
        self.buffer = np.empty_like(self.gain)
        self.integral = bool(np.allclose(W, np.round(W)))
        self.scale = max(1.0, float(W.sum()))
        self.pool_sets = np.zeros(0, dtype=np.int64)                              # LP columns: row masks ...
        self.pool_cols = np.zeros((0, n), dtype=bool)                             # ... and their column sets
        self.pool_keys: set = set()
        self.best_score, self.best_blocks = -1.0, []
        self.nodes = 0

    def column_gain(self, masks) -> np.ndarray:
        return _column_gain(self.W, masks)

    def score(self, blocks: list[int]) -> tuple[float, list[int]]:
        """Real score of a row partition: each column joins the block that pays it most."""
        blocks = _with_lone_rows(blocks, self.m)
        return float(self.column_gain(blocks).max(axis=1).sum()), blocks

    def add_blocks(self, masks, sigma: np.ndarray) -> int:
        """Add to the LP pool the best block of each row set under column duals ``sigma``."""
        masks = np.asarray(masks, dtype=np.int64)
        cols = (self.column_gain(masks) - sigma[:, None] > _PRICE_TOL).T
        new_sets, new_cols = [], []
        for S, T in zip(masks.tolist(), cols):
            key = (S, T.tobytes())
            if key not in self.pool_keys:
                self.pool_keys.add(key)
                new_sets.append(S)
                new_cols.append(T)
        if new_sets:
            self.pool_sets = np.r_[self.pool_sets, new_sets]
            self.pool_cols = np.r_[self.pool_cols, np.array(new_cols)]
        return len(new_sets)

    def reduced_costs(self, pi: np.ndarray, sigma: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Best reduced cost of a block with row set S, for every S of the family (−inf where not allowed)."""
        np.subtract(self.gain, sigma[:, None], out=self.buffer)
        np.maximum(self.buffer, 0.0, out=self.buffer)
        rc = self.buffer.sum(axis=0) - self.members_f @ pi
        rc[~allowed] = -np.inf
        return rc

    def solve_lp(self, together: list, apart: list):
        """Column generation under the branch's constraints: (bound, LP row sets, LP values).

        Every round gives a valid bound (the Lagrangian one) and a real partition (greedy from
        the LP values), so the generation stops early once the bound cannot beat the best
        partition found, or, for integer weights, once the master LP already reaches the
        bound's integer part (converging further cannot lower it).
        """
        m = self.m
        allowed = _allowed(self.sets, together, apart)
        bound, centre = np.inf, None
        while True:
            use = np.nonzero(_allowed(self.pool_sets, together, apart))[0]
            masks, cols = self.pool_sets[use], self.pool_cols[use]
            weight = (self.column_gain(masks) * cols.T).sum(axis=0)
            res = linprog(-weight, A_ub=cols.T.astype(float), b_ub=np.ones(self.n),
                          A_eq=_bits(masks, m).T.astype(float), b_eq=np.ones(m), bounds=(0, None), method="highs")
            if res.status != 0:  # pragma: no cover - the pool always holds a partition
                raise RuntimeError(f"The D=2 master LP failed: {res.message}")
            self.round_to_partition(masks, res.x)
            duals = np.r_[-np.asarray(res.eqlin.marginals), np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)]
            # Price at a point between the LP duals and the best duals so far (Wentges smoothing:
            # the LP duals of this degenerate master jump around); fall back to the LP duals.
            for point in ([SMOOTHING * centre + (1 - SMOOTHING) * duals] if centre is not None else []) + [duals]:
                pi, sigma = point[:m], point[m:]
                rc = self.reduced_costs(pi, sigma, allowed)
                value = pi.sum() + sigma.sum() + self.packing_excess(rc)  # Lagrangian bound: valid for any duals
                if value < bound:
                    bound, centre = value, point
                k = min(COLUMNS_PER_ROUND, len(rc) - 1)
                top = np.argpartition(-rc, k)[:k] if k > 0 else np.arange(len(rc))
                top = top[rc[top] > _PRICE_TOL * self.scale]
                if len(top) and self.add_blocks(self.sets[top], sigma):
                    break
            else:
                return bound, masks, res.x
            if not self.can_improve(bound) or (self.integral and np.floor(bound + 1e-6) <= -res.fun + 1e-6):
                return bound, masks, res.x

    def packing_excess(self, rc: np.ndarray) -> float:
        """An upper bound on Σ rc over disjoint row sets: each row gets its best rc(S) / |S|."""
        share = np.where(np.isfinite(rc), np.maximum(rc, 0.0), 0.0) / self.sizes
        return float((self.members_f * share[:, None]).max(axis=0).sum())

    def round_to_partition(self, masks: np.ndarray, lam: np.ndarray) -> None:
        """Greedy real partition from LP values (largest first, disjoint); keep it if it is the best."""
        used, blocks = 0, []
        for k in np.argsort(-lam, kind="stable"):
            S = int(masks[k])
            if lam[k] > 1e-9 and not S & used:
                blocks.append(S)
                used |= S
        value, blocks = self.score(blocks)
        if value > self.best_score:
            self.best_score, self.best_blocks = value, blocks

    def can_improve(self, bound: float) -> bool:
        if self.integral:
            return np.floor(bound + 1e-6) > self.best_score + 0.5
        return bound > self.best_score + 1e-9 * self.scale

    def node(self, together: list, apart: list):
        self.nodes += 1
        self.add_blocks(self.forced_classes(together), np.full(self.n, np.inf))
        bound, masks, lam = self.solve_lp(together, apart)
        if not self.can_improve(bound):
            return
        support = lam > 1e-9
        M = _bits(masks[support], self.m).astype(float)
        co = (M * lam[support, None]).T @ M                 # LP co-membership of row pairs
        frac = np.abs(co - np.round(co))
        np.fill_diagonal(frac, 0.0)
        r1, r2 = (int(i) for i in np.unravel_index(np.argmax(frac), frac.shape))
        if frac[r1, r2] < 1e-6:  # pragma: no cover - the support is a partition, already scored
            return
        branches = [(together + [(r1, r2)], apart), (together, apart + [(r1, r2)])]
        if co[r1, r2] < 0.5:
            branches.reverse()
        for sub_together, sub_apart in branches:
            self.node(sub_together, sub_apart)

    def forced_classes(self, together: list) -> list[int]:
        """Row sets forced together by the branch, and singletons: a partition the LP can always use."""
        label = list(range(self.m))
        for a, b in together:
            la, lb = label[a], label[b]
            label = [la if x == lb else x for x in label]
        classes: dict[int, int] = {}
        for r, lab in enumerate(label):
            classes[lab] = classes.get(lab, 0) | 1 << r
        return list(classes.values())

    def solve(self) -> list[int]:
        # Start the pool with each column's whole neighbourhood as a block (the big bicliques of
        # nearly complete graphs, which column generation would otherwise reach slowly).
        neighbourhoods = np.unique(((self.W > 0) * (1 << np.arange(self.m))[:, None]).sum(axis=0))
        self.add_blocks(neighbourhoods[neighbourhoods > 0], np.zeros(self.n))
        self.node([], [])
        return self.best_blocks


def _facility_milp(W: np.ndarray) -> list[int] | None:
    """Row blocks of an exact D = 2 optimum by one MILP over every usable row set, or None.

    For sparse graphs (each column has few neighbours) the row sets with a common neighbour
    are few: variable y_S opens row set S (each row in at most one), x_bS lets column b join
    it (x_bS ≤ y_S, each column at most once). Only y needs integrality: with the blocks
    fixed, each column simply takes its best one. None when HiGHS did not prove optimality
    within ``FACILITY_TIME_LIMIT_S`` (the caller then uses branch and price).
    """
    m, n = W.shape
    if not (W > 0).any():
        return []
    sets: set[int] = set()
    for column in (W > 0).T:
        full = int((column * (1 << np.arange(m))).sum())
        sub = full
        while sub:
            sets.add(sub)
            sub = (sub - 1) & full
    masks = np.array(sorted(sets), dtype=np.int64)
    bits = _bits(masks, m)
    gain = _column_gain(W, masks)                                                # (n, K)
    col_idx, set_idx = np.nonzero(gain > 0)  # column b adjacent to all of a non-empty S: w(b, S) > 0
    ny, nx = len(masks), len(col_idx)
    member_row, member_set = np.nonzero(bits.T)
    links = m + n + np.arange(nx)
    A = csr_matrix((np.r_[np.ones(len(member_row) + nx), -np.ones(nx), np.ones(nx)],
                    (np.r_[member_row, m + col_idx, links, links],
                     np.r_[member_set, ny + np.arange(nx), set_idx, ny + np.arange(nx)])),
                   shape=(m + n + nx, ny + nx))
    cost, upper = np.r_[np.zeros(ny), -gain[col_idx, set_idx]], np.r_[np.ones(m + n), np.zeros(nx)]
    relaxed = linprog(cost, A_ub=A, b_ub=upper, bounds=(0, 1), method="highs")
    if relaxed.status == 0 and np.allclose(relaxed.x[:ny], np.round(relaxed.x[:ny]), atol=1e-9, rtol=0):
        return [int(S) for S in masks[relaxed.x[:ny] > 0.5]]  # integral relaxation: already optimal
    res = milp(cost, constraints=[LinearConstraint(A, -np.inf, upper)],
               integrality=np.r_[np.ones(ny), np.zeros(nx)], bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0.0, "time_limit": FACILITY_TIME_LIMIT_S})
    if res.status != 0 or res.x is None:
        return None
    return [int(S) for S in masks[res.x[:ny] > 0.5]]


def best_biclique_partition(W: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """The exact best partition of a bipartite graph into bicliques, as (rows, columns) groups.

    ``W`` is a non-negative weight matrix (edge where > 0). Groups without an edge are
    left out; the score is the total weight inside the returned groups. Sparse graphs go to
    one MILP (given up after ``FACILITY_TIME_LIMIT_S``), the rest to branch and price.
    """
    W = np.asarray(W, dtype=float)
    transposed = W.shape[0] > W.shape[1]
    if transposed:
        W = W.T
    m, n = W.shape
    if m > MAX_ROWS:
        raise ValueError(f"Exact D=2 matching prices every subset of the smaller side; a connected component "
                         f"with {m} concepts on each side is too large (limit {MAX_ROWS}). Raise min_size or "
                         "compare smaller namings.")
    if m == 0 or n == 0 or not (W > 0).any():
        return []
    degree = (W > 0).sum(axis=0)
    blocks = _facility_milp(W) if (2.0 ** degree - 1).sum() <= FACILITY_MAX_CHOICES else None
    packing = _BicliquePacking(W) if blocks is None else None
    if packing is not None:
        blocks = packing.solve()
    blocks = _with_lone_rows(blocks, m)
    gain = _column_gain(W, blocks)
    choice = np.array(blocks)[gain.argmax(axis=1)]
    paid = gain.max(axis=1) > 0
    groups = []
    for S in blocks:
        cols = [int(b) for b in np.nonzero(paid & (choice == S))[0]]
        if cols:
            rows = [r for r in range(m) if S >> r & 1]
            groups.append((cols, rows) if transposed else (rows, cols))
    return groups
