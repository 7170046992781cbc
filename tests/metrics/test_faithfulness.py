"""Faithfulness metrics against direct loops over classes and hand computations."""
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xnaming_widget.metrics.faithfulness import f_cls, f_reg, faithfulness_table, rmse, xnn_accuracy


def test_f_reg_and_rmse_by_hand():
    y_bar, y_hat = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 0.0])
    assert f_reg(y_bar, y_hat) == pytest.approx(2.0)
    assert rmse(y_bar, y_hat) == pytest.approx(np.sqrt(20 / 3))
    two = np.stack([y_bar, y_bar], axis=1), np.stack([y_hat, y_bar], axis=1)
    np.testing.assert_allclose(f_reg(*two), [2.0, 0.0])
    assert f_reg(torch.tensor(y_bar), torch.tensor(y_hat)) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same"):
        f_reg(y_bar, y_hat[:2])


small_ints = st.integers(-3, 3).map(float)  # small integers make ties frequent


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 5)), elements=small_ints), st.data())
def test_f_cls_all_classes_matches_replacing_each_column(logits, data):
    y_bar = data.draw(arrays(np.float64, logits.shape, elements=small_ints))
    per_class = f_cls(logits, y_bar)
    for c in range(logits.shape[1]):
        replaced = logits.copy()
        replaced[:, c] = y_bar[:, c]
        expected = np.mean(replaced.argmax(axis=1) == logits.argmax(axis=1))
        assert per_class[c] == pytest.approx(expected)
        assert f_cls(logits, y_bar[:, c], c) == pytest.approx(expected)


def test_f_cls_hand_example():
    logits = np.array([[5.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    y_bar = np.array([[0.5, 1.0, 0.0], [0.0, 2.0, 3.0]])  # class 0 loses image 0; class 2 steals image 1
    np.testing.assert_allclose(f_cls(logits, y_bar), [0.5, 1.0, 0.5])
    with pytest.raises(ValueError, match="c=None"):
        f_cls(logits, y_bar[:, 0])


def test_xnn_accuracy_by_hand():
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert xnn_accuracy(scores, np.array([0, 1, 1])) == pytest.approx(2 / 3)


class _FixedBank:
    """A stand-in bank whose predictions are given, to test the table on its own."""
    classes = ["a", "b"]

    def __init__(self, scores):
        self.scores = scores

    def predict(self, Z):
        return self.scores


def test_faithfulness_table_rows_and_columns():
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]])
    scores = np.array([[2.0, 1.0], [0.0, 2.0], [-1.0, 0.0], [0.0, 1.0]])
    labels = np.array([0, 1, 0, 0])
    table = faithfulness_table(_FixedBank(scores), np.zeros((4, 3)), logits, labels)
    assert list(table.index) == ["a", "b", "overall"]
    assert table.loc["a", "F_reg"] == pytest.approx(0.5) and table.loc["b", "F_reg"] == pytest.approx(0.25)
    assert table.loc["a", "F_cls"] == pytest.approx(0.75) and table.loc["b", "F_cls"] == pytest.approx(1.0)
    assert table.loc["overall", "dnn_accuracy"] == pytest.approx(0.75)
    assert table.loc["overall", "xnn_accuracy"] == pytest.approx(0.5)
    assert pd.isna(table.loc["a", "xnn_accuracy"])
