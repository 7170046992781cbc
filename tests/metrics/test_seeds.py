"""compare_over_seeds: intervals and paired tests against scipy's direct formulas, a tiny run end
to end, and determinism by seed."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xnaming_widget.metrics.compare import ROWS
from xnaming_widget.metrics.seeds import SeedTable, compare_over_seeds, t_interval


def test_t_interval_is_students():
    x = np.array([0.3, 0.5, 0.45, 0.61, 0.2])
    mean, low, high = t_interval(x)
    expected = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(x.mean()) and (low, high) == pytest.approx(expected)
    # NaNs are dropped; one value has no spread; none has no mean
    assert t_interval([1.0, math.nan, 3.0])[1:] == pytest.approx(stats.t.interval(0.95, 1, loc=2, scale=1))
    assert t_interval([2.0])[0] == 2.0 and all(math.isnan(v) for v in t_interval([2.0])[1:])
    assert all(math.isnan(v) for v in t_interval([math.nan]))


def _table(values: dict[str, list[float]]) -> SeedTable:
    """A SeedTable whose every metric has the given per-seed values per method."""
    records = [dict(seed=s, method=m, metric=r, value=v)
               for m, vs in values.items() for s, v in enumerate(vs) for r in ROWS]
    return SeedTable(pd.DataFrame(records))


def test_summary_and_paired_test_match_scipy():
    a, b = [0.9, 0.8, 0.85, 0.95, 0.7], [0.6, 0.65, 0.5, 0.7, 0.55]
    table = _table({"A": a, "B": b})
    summary = table.summary()
    for method, x in (("A", a), ("B", b)):
        row = summary.loc[("O1", method)]
        low, high = stats.t.interval(0.95, 4, loc=np.mean(x), scale=stats.sem(x))
        assert (row["mean"], row["low"], row["high"], row["n"]) == pytest.approx((np.mean(x), low, high, 5))
    paired = table.paired("A", "B")
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert paired.loc["O1", "p"] == pytest.approx(2 * stats.t.sf(abs(t), len(d) - 1))
    assert paired.loc["O1", "difference"] == pytest.approx(d.mean())
    # A is higher everywhere: better on F_cls (higher wins), worse on the rest (lower wins)
    assert paired.loc["F_cls test", "better"] == "A" and paired.loc["Locality", "better"] == "B"
    same = _table({"A": a, "B": [v + 0.01 * (-1) ** i for i, v in enumerate(a)]})
    assert all(v is None for v in same.paired("A", "B")["better"])  # no significant difference: None


SMALL = dict(n_per_class=6, test_per_class=4, image_size=32, classifier_epochs=1, xnn_epochs=2,
             maps_per_class=2, n_features=2, batch_size=32, show_progress=False,
             variants={"SRAE": ("srae", {"hidden": (16, 8)}), "Lasso": ("lasso", {})})


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XNAMING_CACHE", str(tmp_path_factory.mktemp("cache")))
        return compare_over_seeds([2, 5], **SMALL), compare_over_seeds([5], **SMALL)


def test_compare_over_seeds_runs_every_method_and_seed(tiny_runs):
    both, _ = tiny_runs
    assert both.seeds == [2, 5] and both.methods == ["SRAE", "Lasso", "1-Heatmap"]
    assert len(both.values) == 2 * 3 * len(ROWS)
    assert list(both.cnn_accuracy.index) == [2, 5] and ((0 <= both.cnn_accuracy) & (both.cnn_accuracy <= 1)).all()
    summary = both.summary()
    assert list(summary.index.get_level_values(0).unique()) == ROWS
    finite = summary.dropna()
    assert ((finite["low"] <= finite["mean"]) & (finite["mean"] <= finite["high"])).all()
    for metric in ("F_reg test", "Locality"):  # the interval is the t formula over the per-seed values
        x = both.per_seed(metric)["SRAE"].to_numpy()
        if np.isfinite(x).all() and x.std() > 0:
            assert summary.loc[(metric, "SRAE"), "high"] == pytest.approx(
                stats.t.interval(0.95, 1, loc=x.mean(), scale=stats.sem(x))[1])


def test_compare_over_seeds_is_deterministic_by_seed(tiny_runs):
    """Seed 5 alone gives the same numbers as seed 5 in a run with another seed before it."""
    both, alone = tiny_runs
    a = both.values[both.values["seed"] == 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, alone.values)
    assert both.cnn_accuracy[5] == alone.cnn_accuracy[5]


def test_compare_over_seeds_checks_its_arguments():
    with pytest.raises(ValueError, match="distinct seeds"):
        compare_over_seeds([1, 1])
    with pytest.raises(ValueError, match="distinct seeds"):
        compare_over_seeds([])
