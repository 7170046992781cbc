"""Table 1 over several seeds: each metric's mean and 95 % t-interval per method, and paired tests.

One seed is one whole experiment: fresh train and test birds, a freshly trained classifier and
fresh XNNs (``compare_methods``), so the intervals cover every source of chance in the table.
Seed ``s`` draws its training birds with seed ``2 s`` and its test birds with ``2 s + 1``, so no
two runs share images. The classes of one seed are fitted together (``fit_class_xnns`` trains
all one-vs-all XNNs as one batch); seeds run one after another.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._progress import progress
from .compare import BASELINE, ROWS

__all__ = ["SeedTable", "compare_over_seeds", "DEFAULT_VARIANTS", "HIGHER_IS_BETTER", "t_interval"]

#: Table 1's columns plus the ablations. The paper's SRAE has ReLU x-features and pull-away
#: weight η = 0.1; the project's defaults are softplus and η = 0.02 (``xnn/_neural.py`` says why).
#: NN is the ablation of the reconstruction term (β = 0) and SAE swaps the sparse (log)
#: reconstruction for plain mean squares; "SRAE η=0" drops the pull-away term.
#: Every neural column keeps the project's encoder widths, so they differ only in their losses.
DEFAULT_VARIANTS: dict[str, tuple[str, dict]] = {
    "SRAE (paper)": ("srae", {"final_activation": "relu", "eta": 0.1}),
    "SRAE (defaults)": ("srae", {}),
    "NN": ("nn", {}),
    "SAE": ("sae", {}),
    "CAE": ("cae", {}),
    "Lasso": ("lasso", {}),
    "SRAE η=0": ("srae", {"eta": 0.0}),
}
NEURAL = ("srae", "nn", "sae", "cae")
#: Which way is better per row: F_cls is a share of kept decisions (higher); F_reg is a score
#: error, O1 and O2 are 0 for uncorrelated maps, and lower locality entropy means mass on
#: fewer parts (all lower).
HIGHER_IS_BETTER = {row: row.startswith("F_cls") for row in ROWS}


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval for the mean of ``values`` (NaN ones dropped).

    With one finite value the interval is (mean, nan, nan): a spread needs two seeds.
    """
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


@dataclass
class SeedTable:
    """``values``: long table (seed, method, metric, value), one row per seed, method and metric;
    ``cnn_accuracy``: the classifier's test accuracy per seed."""

    values: pd.DataFrame
    confidence: float = 0.95
    cnn_accuracy: pd.Series | None = None

    @property
    def seeds(self) -> list[int]:
        return sorted(self.values["seed"].unique().tolist())

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.values["method"]))

    def per_seed(self, metric: str) -> pd.DataFrame:
        """Seeds x methods for one metric."""
        rows = self.values[self.values["metric"] == metric]
        return rows.pivot(index="seed", columns="method", values="value")[self.methods]

    def summary(self) -> pd.DataFrame:
        """Rows (metric, method), columns mean, low, high (the t-interval), n (finite seeds)."""
        records = []
        for metric in ROWS:
            table = self.per_seed(metric)
            for method in self.methods:
                column = table[method].to_numpy()
                mean, low, high = t_interval(column, self.confidence)
                records.append(dict(metric=metric, method=method, mean=mean, low=low, high=high,
                                    n=int(np.isfinite(column).sum())))
        return pd.DataFrame(records).set_index(["metric", "method"])

    def paired(self, a: str, b: str, alpha: float = 0.05) -> pd.DataFrame:
        """Per metric, ``a`` against ``b`` paired by seed: mean difference a - b, its t-interval,
        the two-sided paired t-test's p-value, and which one is better if p < ``alpha``."""
        from scipy import stats

        records = []
        for metric in ROWS:
            table = self.per_seed(metric)
            both = table[[a, b]].dropna().to_numpy()
            diff = both[:, 0] - both[:, 1]
            mean, low, high = t_interval(diff, self.confidence)
            p = float(stats.ttest_rel(both[:, 0], both[:, 1]).pvalue) if len(both) >= 2 and diff.std() > 0 else math.nan
            better = None
            if math.isfinite(p) and p < alpha:
                better = a if (mean > 0) == HIGHER_IS_BETTER[metric] else b
            records.append(dict(metric=metric, difference=mean, low=low, high=high, p=p, better=better))
        table = pd.DataFrame(records).set_index("metric")
        table["better"] = pd.Series([r["better"] for r in records], index=table.index, dtype=object)  # None, not NaN
        return table


def compare_over_seeds(seeds: Sequence[int] = (0, 1, 2, 3, 4), *, variants: dict[str, tuple[str, dict]] | None = None,
                       n_per_class: int = 200, test_per_class: int = 50, image_size: int = 64,
                       fine_grained: bool = True, classifier_epochs: int = 6, xnn_epochs: int = 20,
                       maps_per_class: int = 50, n_features: int = 5, layer: str = "fc6", batch_size: int = 32,
                       confidence: float = 0.95, show_progress: bool | None = None, **compare_kwargs: Any) -> SeedTable:
    """Run ``compare_methods`` once per seed (fresh birds, classifier and XNNs) and collect Table 1.

    ``variants``: ``{label: (method, params)}`` (default ``DEFAULT_VARIANTS``); the neural methods
    get ``epochs=xnn_epochs`` and the seed unless their params say otherwise. The other
    arguments size the run (``make_parts_dataset``, ``train_classifier``, ``compare_methods``).
    """
    from ..data import make_parts_dataset
    from ..models import train_classifier
    from .compare import compare_methods

    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"need one or more distinct seeds, got {seeds}")
    variants = dict(DEFAULT_VARIANTS if variants is None else variants)
    records = []
    for seed in progress(seeds, desc="seeds", disable=None if show_progress is None else not show_progress,
                         leave=True):
        train = make_parts_dataset(n_per_class, size=image_size, seed=2 * seed, fine_grained=fine_grained)
        test = make_parts_dataset(test_per_class, size=image_size, seed=2 * seed + 1, fine_grained=fine_grained)
        dnn = train_classifier(train, test, epochs=classifier_epochs, batch_size=batch_size, seed=seed, progress=False)
        seeded = {label: (method, ({"epochs": xnn_epochs, "seed": seed, "progress": False} if method in NEURAL else {})
                          | dict(params))
                  for label, (method, params) in variants.items()}
        table = compare_methods(train, test, dnn=dnn, layer=layer, variants=seeded, n_features=n_features,
                                maps_per_class=maps_per_class, batch_size=batch_size, seed=seed,
                                show_progress=False, **compare_kwargs)
        for method in table.columns:
            for metric in ROWS:
                records.append(dict(seed=seed, method=method, metric=metric, value=float(table.loc[metric, method])))
        records.append(dict(seed=seed, method="CNN", metric="accuracy", value=float(dnn.test_accuracy)))
    values = pd.DataFrame(records)
    cnn = values[values["method"] == "CNN"]
    return SeedTable(values[values["method"] != "CNN"].reset_index(drop=True), confidence,
                     cnn.set_index("seed")["value"].rename("accuracy"))
