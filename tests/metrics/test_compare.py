"""compare_methods: F_reg/F_cls against a per-class loop, and a reduced Table 1 run end to end."""
from __future__ import annotations

import math
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xnaming_widget.metrics.compare import ROWS, compare_methods, faithfulness_scores


def _loop_faithfulness(scores, logits):
    """The direct definition (definitions §2): one class replaced at a time."""
    unchanged = []
    for i in range(len(logits)):
        for c in range(logits.shape[1]):
            row = logits[i].copy()
            row[c] = scores[i, c]
            unchanged.append(row.argmax() == logits[i].argmax())
    return np.abs(scores - logits).mean(), np.mean(unchanged)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (6, 4), elements=st.floats(-5, 5)), arrays(np.float64, (6, 4), elements=st.floats(-5, 5)))
def test_faithfulness_matches_loop(scores, logits):
    f_reg, f_cls = faithfulness_scores(scores, logits)
    expected_reg, expected_cls = _loop_faithfulness(scores, logits)
    assert f_reg == pytest.approx(expected_reg) and f_cls == pytest.approx(expected_cls)


def test_perfect_scores_are_perfectly_faithful():
    logits = np.random.default_rng(0).normal(size=(10, 3))
    assert faithfulness_scores(logits, logits) == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        faithfulness_scores(logits[:, :2], logits)


def test_reduced_table_1(tmp_path, monkeypatch):
    from xnaming_widget.data import make_parts_dataset

    monkeypatch.setenv("XNAMING_CACHE", str(tmp_path))
    monkeypatch.setenv("XNAMING_PROGRESS", "0")
    torch.manual_seed(0)
    classes = ["Cardinal", "Mallard", "Flamingo"]
    train = make_parts_dataset(24, size=32, seed=0, classes=classes)
    test = make_parts_dataset(8, size=32, seed=1, classes=classes)
    small = {"hidden": (32, 16), "epochs": 3, "batch_size": 32}
    table = compare_methods(train, test, methods=("srae", "lasso"), n_features=3, maps_per_class=4,
                            xnn_params={"srae": small}, classifier_epochs=2, batch_size=32,
                            show_progress=False)
    assert list(table.index) == ROWS and list(table.columns) == ["SRAE", "Lasso", "1-Heatmap"]
    methods = table[["SRAE", "Lasso"]]
    assert (methods.loc[["F_reg train", "F_reg test"]] >= 0).all().all()
    assert ((methods.loc[["F_cls train", "F_cls test"]] >= 0) & (methods.loc[["F_cls train", "F_cls test"]] <= 1)).all().all()
    finite = methods.loc[["O1", "O2"]].to_numpy()
    assert (finite[np.isfinite(finite)] >= -1e-9).all()  # ‖P‖_F ≥ √n and det P ≤ 1 (Hadamard)
    n_parts = len(train.part_names) + 1
    localities = table.loc["Locality"].to_numpy()
    assert np.isfinite(localities).all() and (localities >= 0).all() and (localities <= math.log(n_parts) + 1e-9).all()
    assert table["1-Heatmap"].iloc[:6].isna().all()


def test_bad_arguments_are_explained():
    from xnaming_widget.data import ImageArrayDataset

    with pytest.raises(ValueError, match="unknown XNN methods"):
        compare_methods(methods=("srae", "pca"))
    plain = ImageArrayDataset(np.zeros((2, 16, 16, 3), np.uint8), np.zeros(2), classes=["a"])
    with pytest.raises(TypeError, match="PartsDataset"):
        compare_methods(plain, plain)
    with pytest.raises(ValueError, match="not compared"):
        compare_methods(methods=("srae",), xnn_params={"nn": {}})
