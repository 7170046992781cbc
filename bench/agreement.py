"""Benchmark: the full pairwise agreement table, and exact D = 2 on dense intersection graphs.

1. Simulated namings of 10 annotators × 12 categories (~150 significant activations and ~12
   true concepts per category); time of ``pairwise_table`` with D = 1, D = 2 and Jaccard
   (target < 10 s).
2. The worst single exact D = 2 time on three dense 15 × 15 intersection graphs (two
   unrelated namings of 300 activations into 15 concepts; target < 2 s), then on denser
   ones (500 and 900 activations, edge density ~0.9 and ~0.98) as a stress test.
3. Against the obvious alternative, brute force over all node partitions, on 4 × 4 graphs;
   the last line ends with the speed-up ratio.

Run: ``python bench/agreement.py`` (XNAMING_PROGRESS=0 to hide bars).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from xnaming_widget.analysis import dfamily_matching, pairwise_table, simulate_annotators


def simulated_world(categories=12, activations=150, concepts=12, seed=0):
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for c in range(categories):
        for i in range(activations):
            aid = f"cat{c}/img{i // 2}/x{i % 2}"
            rows.append((aid, f"cat{c}/img{i // 2}", f"cat{c}", i % 2, True))
            truth[aid] = f"part{rng.integers(concepts)}"
    acts = pd.DataFrame(rows, columns=["activation_id", "image_id", "category", "xfeature", "significant"])
    return acts, truth


def brute_force_d2(W):
    """Best D = 2 score by trying every partition of the nodes (the obvious alternative)."""
    m, n = W.shape
    nodes = list(range(m + n))

    def partitions(items):
        if not items:
            yield []
            return
        for part in partitions(items[1:]):
            for k in range(len(part)):
                yield part[:k] + [[items[0]] + part[k]] + part[k + 1:]
            yield [[items[0]]] + part

    best = 0.0
    for part in partitions(nodes):
        score, ok = 0.0, True
        for block in part:
            rows = [v for v in block if v < m]
            cols = [v - m for v in block if v >= m]
            sub = W[np.ix_(rows, cols)]
            if (rows and cols and not (sub > 0).all()) or (len(block) > 1 and not (rows and cols)):
                ok = False
                break
            score += sub.sum()
        if ok:
            best = max(best, score)
    return best


def main():
    acts, truth = simulated_world()
    namings = simulate_annotators(acts, truth, 10, skip=0.1, trash=0.02, noise=0.1, split=0.15, merge=0.1, seed=1)
    start = time.perf_counter()
    table = pairwise_table(namings, acts, measures=("agreement_d1", "agreement_d2", "jaccard"))
    total = time.perf_counter() - start
    print(table.loc["global average"].round(3).to_string())
    print(f"pairwise_table, 10 annotators × 12 categories (540 pairs, D=1, D=2, Jaccard): {total:.2f} s "
          f"(target < 10 s)")

    rng = np.random.default_rng(2)
    for activations in (300, 500, 900):
        worst, density = 0.0, []
        for _ in range(3):
            W = np.zeros((15, 15))
            np.add.at(W, (rng.integers(0, 15, activations), rng.integers(0, 15, activations)), 1)
            density.append((W > 0).mean())
            start = time.perf_counter()
            dfamily_matching(W, 2)
            worst = max(worst, time.perf_counter() - start)
        print(f"worst exact D=2 on dense 15×15 graphs ({activations} activations, edge density "
              f"{np.mean(density):.2f}): {worst:.2f} s" + (" (target < 2 s)" if activations == 300 else ""))

    graphs = [rng.integers(1, 6, (4, 4)) * (rng.random((4, 4)) < 0.6) for _ in range(5)]
    start = time.perf_counter()
    brute = [brute_force_d2(W) for W in graphs]
    t_brute = time.perf_counter() - start
    start = time.perf_counter()
    ours = [dfamily_matching(W, 2).score for W in graphs]
    t_ours = time.perf_counter() - start
    assert np.allclose(brute, ours)
    print(f"exact D=2 on five 4×4 graphs: brute force over partitions {t_brute:.3f} s, dfamily_matching "
          f"{t_ours:.3f} s, ratio {t_brute / t_ours:.1f}")


if __name__ == "__main__":
    main()
