"""Exact D-family matchings against linear_sum_assignment and brute force over all partitions."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from xnaming_widget.analysis import dfamily_matching
from xnaming_widget.analysis.biclique_packing import _BicliquePacking, _column_gain, _facility_milp
from xnaming_widget.analysis.dfamily import _d2_search


def partitions(items):
    """Every set partition of a list (Bell-number many)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in partitions(rest):
        for k in range(len(part)):
            yield part[:k] + [[first] + part[k]] + part[k + 1:]
        yield [[first]] + part


def diameter(nodes, adjacency):
    """Largest BFS distance inside the induced subgraph (inf if disconnected)."""
    worst = 0
    for start in nodes:
        dist, frontier = {start: 0}, [start]
        while frontier:
            nxt = [v for u in frontier for v in nodes if adjacency[u][v] and v not in dist]
            for v in nxt:
                dist.setdefault(v, dist[frontier[0]] + 1)
            frontier = list(dict.fromkeys(nxt))
        if len(dist) < len(nodes):
            return np.inf
        worst = max(worst, max(dist.values()))
    return worst


def brute_force(W, D):
    m, n = W.shape
    adjacency = np.zeros((m + n, m + n), dtype=bool)
    adjacency[:m, m:] = W > 0
    adjacency |= adjacency.T
    best = 0.0
    for part in partitions(list(range(m + n))):
        if all(diameter(block, adjacency) <= D for block in part):
            score = sum(W[np.ix_([v for v in b if v < m], [v - m for v in b if v >= m])].sum() for b in part)
            best = max(best, score)
    return best


def check_groups(W, D, result):
    """The groups are disjoint, of diameter ≤ D, and their weights add up to the score."""
    m, _ = W.shape
    adjacency = np.zeros((sum(W.shape),) * 2, dtype=bool)
    adjacency[:m, m:] = W > 0
    adjacency |= adjacency.T
    seen = [r for rows, _ in result.groups for r in rows]
    assert len(seen) == len(set(seen))
    total = 0.0
    for rows, cols in result.groups:
        assert diameter(rows + [m + c for c in cols], adjacency) <= D
        total += W[np.ix_(rows, cols)].sum()
    assert total == pytest.approx(result.score)


def test_small_graph_by_hand():
    W = np.array([[3, 1, 0], [0, 2, 2], [0, 0, 1]])
    assert dfamily_matching(W, 1).score == 3 + 2 + 1
    assert dfamily_matching(W, 2).score == 3 + 2 + 2  # r1 with c1 and c2 (a star)
    assert dfamily_matching(W, 3).score == 3 + 2 + 2 + 1  # {r1, r2, c1, c2} is a path of length 3
    assert dfamily_matching(W, 5).score == W.sum()


def test_d1_equals_linear_sum_assignment():
    rng = np.random.default_rng(0)
    for _ in range(20):
        W = rng.integers(0, 6, (rng.integers(1, 7), rng.integers(1, 7))) * (rng.random() < 0.9)
        rows, cols = linear_sum_assignment(W, maximize=True)
        result = dfamily_matching(W, 1)
        assert result.score == W[rows, cols].sum()
        check_groups(W, 1, result)


@pytest.mark.parametrize("D", [2, 3])
def test_exact_against_brute_force_over_partitions(D):
    rng = np.random.default_rng(D)
    for _ in range(12):
        m, n = rng.integers(1, 5, 2)
        W = rng.integers(1, 5, (m, n)) * (rng.random((m, n)) < 0.55)
        result = dfamily_matching(W, D)
        assert result.score == brute_force(W, D), W
        check_groups(W, D, result)


def test_complete_bipartite_block_is_taken_whole():
    W = np.full((15, 15), 2.0)
    result = dfamily_matching(W, 2)
    assert result.score == W.sum() and result.groups == [(list(range(15)), list(range(15)))]


def test_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        dfamily_matching(np.array([[-1.0]]), 1)
    with pytest.raises(ValueError, match="D must be an integer"):
        dfamily_matching(np.ones((2, 2)), 0)


def partition_score(W, blocks):
    """Score of disjoint row blocks (bit masks; uncovered rows alone) when every column joins the block
    that pays it most."""
    covered = [r for r in range(W.shape[0]) if any(S >> r & 1 for S in blocks)]
    assert len(covered) == sum(bin(S).count("1") for S in blocks), "blocks overlap"
    alone = [1 << r for r in range(W.shape[0]) if r not in covered]
    return _column_gain(np.asarray(W, float), list(blocks) + alone).max(axis=1).sum()


def branch_and_price(W):
    packing = _BicliquePacking(np.asarray(W, float))
    blocks = packing.solve()
    assert packing.best_score == pytest.approx(partition_score(W, blocks))
    return packing.best_score, packing.nodes


def random_graph(rng, m, n, density, integer=True):
    W = rng.integers(1, 6, (m, n)) * (rng.random((m, n)) < density)
    return W if integer else W * rng.uniform(0.5, 1.5, (m, n))


@pytest.mark.parametrize("density", [0.35, 0.6, 0.9])
def test_each_exact_d2_solver_against_brute_force(density):
    """Branch and price, the sparse-graph MILP and the partition search, on sparse and dense graphs."""
    rng = np.random.default_rng(int(density * 100))
    for _ in range(10):
        m, n = rng.integers(1, 5, 2)
        W = random_graph(rng, m, n, density)
        expected = brute_force(W, 2)
        assert branch_and_price(W)[0] == pytest.approx(expected), W
        assert partition_score(W, _facility_milp(W.astype(float))) == pytest.approx(expected), W
        assert sum(W[np.ix_(r, c)].sum() for r, c in _d2_search(W)) == pytest.approx(expected), W


def test_exact_d2_solvers_agree_beyond_brute_force_sizes():
    """On dense 7 × 8 graphs (integer and real weights) all three exact solvers give one score,
    and some of these graphs make branch and price branch (a fractional LP at the root)."""
    rng = np.random.default_rng(7)
    branched = 0
    for trial in range(10):
        W = random_graph(rng, 7, 8, 0.75, integer=trial % 2 == 0)
        search = sum(W[np.ix_(r, c)].sum() for r, c in _d2_search(W))
        score, nodes = branch_and_price(W)
        branched += nodes > 1
        assert score == pytest.approx(search), W
        assert partition_score(W, _facility_milp(W.astype(float))) == pytest.approx(search), W
    assert branched > 0


def test_nearly_complete_graphs():
    """Almost every edge present (the degenerate case for the master LP): branch and price against
    the partition search."""
    rng = np.random.default_rng(11)
    for _ in range(4):
        W = random_graph(rng, 7, 7, 0.93)
        assert branch_and_price(W)[0] == sum(W[np.ix_(r, c)].sum() for r, c in _d2_search(W)), W


def test_dense_fifteen_by_fifteen_is_exact_and_valid():
    """The benchmark's dense case: valid groups, and the same score as the sparse-graph MILP."""
    rng = np.random.default_rng(2)
    W = np.zeros((15, 15))
    np.add.at(W, (rng.integers(0, 15, 300), rng.integers(0, 15, 300)), 1)
    result = dfamily_matching(W, 2)
    check_groups(W, 2, result)
    assert result.score >= dfamily_matching(W, 1).score
    assert result.score == branch_and_price(W)[0]


def test_too_many_rows_for_exact_d2():
    W = np.eye(20) + np.eye(20, k=1)
    W[0, -1] = 1  # one connected cycle of 40 concepts: both sides have 20
    with pytest.raises(ValueError, match="too large"):
        dfamily_matching(W, 2)
