import numpy as np
import pandas as pd

from xnaming_widget.analysis import ANY_ANNOTATOR, coverage, named_by_n, purity, purity_table


def test_coverage_by_hand(birds):
    acts, alice, bob = birds
    table = coverage(pd.concat([alice, bob]), acts).set_index("annotator")
    assert list(table.index) == ["alice", "bob", ANY_ANNOTATOR]
    assert np.allclose(table["activation_coverage"], [6 / 7, 3 / 7, 1.0])
    assert np.allclose(table["partial_coverage"], [4 / 5, 3 / 5, 1.0])
    assert np.allclose(table["complete_coverage"], [4 / 5, 1 / 5, 1.0])
    assert table["n_images"].tolist() == [5, 5, 5]


def test_named_by_n_by_hand(birds):
    acts, alice, bob = birds
    table = named_by_n(pd.concat([alice, bob]), acts)
    assert np.allclose(table.loc["bird"].to_numpy(), [0, 5 / 7, 2 / 7])
    # with min_size 2, bob's 'tiny' (a5, a7) survives: a5 and a7 are named twice
    table = named_by_n(pd.concat([alice, bob]), acts, min_size=2)
    assert np.allclose(table.loc["bird"].to_numpy(), [0, 3 / 7, 4 / 7])


def test_purity_by_hand(build):
    make_activations, make_naming = build
    acts = make_activations([(f"a{i}", f"i{i}", x, True) for i, x in enumerate([0, 0, 1, 0, 0, 0, 1])])
    naming = make_naming("p", {"A": ("a", ["a0", "a1", "a2"]), "B": ("b", ["a3", "a4", "a5"])}, unlabeled=["a6"])
    cx, xc = purity(naming, acts)
    assert cx == (2 + 3) / 6  # A's majority x0 holds 2, B's holds 3
    assert xc == (3 + 1) / 6  # x0's majority concept B holds 3, x1's (A) holds 1
    table = purity_table(naming, acts)
    assert table[["cx", "xc"]].to_numpy().tolist() == [[5 / 6, 4 / 6]]
    assert all(np.isnan(purity(make_naming("q", {}, unlabeled=["a0"]), acts)))
