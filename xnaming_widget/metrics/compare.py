"""The XNN paper's Table 1 in one call: faithfulness, orthogonality and locality of SRAE and
its baselines (NN, SAE, CAE, Lasso) and of the 1-Heatmap, on the synthetic parts data set.

For every method, one-vs-all XNNs of every class are fitted on the train features; F_reg and
F_cls are measured on train and test; heatmaps of each class's x-features are drawn on the
test images the classifier predicts as that class (``heatmaps.attribute`` on
``XFeatureModel``), and O1, O2 (per class, then averaged) and locality (entropy per
x-feature, averaged) are computed from them. The 1-Heatmap column is the same heatmap method
applied to the class logit ŷ_c, so only its locality is defined.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._progress import progress
from .faithfulness import f_cls, f_reg
from .maps import locality, orthogonality

__all__ = ["compare_methods", "faithfulness_scores", "METHOD_LABELS", "ROWS"]

METHOD_LABELS = {"srae": "SRAE", "nn": "NN", "sae": "SAE", "cae": "CAE", "lasso": "Lasso"}
BASELINE = "1-Heatmap"
ROWS = ["F_reg train", "F_reg test", "F_cls train", "F_cls test", "O1", "O2", "Locality"]


def faithfulness_scores(scores: np.ndarray, logits: np.ndarray) -> tuple[float, float]:
    """(F_reg, F_cls) of one-vs-all XNN scores ȳ (N, C) against the logits ŷ (N, C) (definitions §2),
    each averaged over the classes (every class's XNN replaces only its own column)."""
    scores = np.asarray(scores, dtype=np.float64)
    logits = np.asarray(logits, dtype=np.float64)
    if scores.shape != logits.shape or scores.ndim != 2:
        raise ValueError(f"scores and logits must both be (N, C); got {scores.shape} and {logits.shape}")
    return float(np.mean(f_reg(scores, logits))), float(np.mean(f_cls(logits, scores)))


def _map_subsets(predictions: np.ndarray, classes: Sequence[str], categories: Sequence[str],
                 per_class: int) -> dict[str, np.ndarray]:
    """Per category, the first ``per_class`` test images predicted as it."""
    return {c: np.flatnonzero(predictions == classes.index(c))[:per_class] for c in categories}


def _map_metrics(maps_by_category: dict[str, np.ndarray], test: Any,
                 subsets: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """Mean O1, O2 over categories and mean locality over categories' x-features."""
    o1s, o2s, entropies = [], [], []
    for category, maps in maps_by_category.items():
        rows = subsets[category]
        if maps.shape[1] > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                o1, o2 = orthogonality(maps)
            o1s.append(o1)
            o2s.append(o2)
        result = locality(maps, test.keypoints[rows], test.boxes[rows], part_names=test.part_names)
        entropies.extend(result.entropy.tolist())
    return _nanmean(o1s), _nanmean(o2s), _nanmean(entropies)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _as_tensor(test: Any, rows: np.ndarray):
    from ..data import ImageArrayDataset

    return ImageArrayDataset._to_tensor(test.images[rows])


def compare_methods(train_data: Any = None, test_data: Any = None, *, dnn: Any = None, layer: str = "fc6",
                    methods: Sequence[str] = ("srae", "nn", "sae", "cae", "lasso"), n_features: int = 5,
                    categories: Sequence[str] | None = None, maps_per_class: int = 20,
                    heatmap_method: str = "cmwp", xnn_params: dict[str, dict] | None = None,
                    n_per_class: int = 100, image_size: int = 64, classifier_epochs: int = 4,
                    batch_size: int = 64, seed: int = 0, show_progress: bool | None = None,
                    variants: dict[str, tuple[str, dict]] | None = None,
                    fine_grained: bool = False) -> pd.DataFrame:
    """Table 1 of the XNN paper on the synthetic parts data set: rows ``ROWS``, one column per method.

    ``train_data``/``test_data``: ``PartsDataset``s (default: ``make_parts_dataset`` with
    ``n_per_class`` birds of ``image_size`` px, seeds ``seed`` and ``seed + 1``). ``dnn``: a
    trained classifier (default: ``train_classifier`` for ``classifier_epochs`` epochs), read at
    ``layer``. ``xnn_params``: extra hyper-parameters per method name (e.g.
    ``{"srae": {"epochs": 20}}``). Heatmaps (``heatmap_method``) are drawn for at most
    ``maps_per_class`` test images per category (default: all classes).

    ``variants`` replaces ``methods``/``xnn_params`` with labelled columns, ``{label: (method,
    params)}``, so one method can appear with several settings (e.g. an ablation).
    ``fine_grained`` makes the default data sets the fine-grained task.
    """
    from ..data import make_parts_dataset
    from ..heatmaps import XFeatureModel, attribute
    from ..models import FeatureExtractor, train_classifier
    from ..xnn import available_methods, fit_class_xnns

    xnn_params = {m: dict(p) for m, p in (xnn_params or {}).items()}
    if variants is None:
        stray = sorted(set(xnn_params) - set(methods))
        if stray:
            raise ValueError(f"xnn_params names methods {stray} that are not compared; methods are {list(methods)}")
        variants = {METHOD_LABELS.get(m, m): (m, xnn_params.get(m, {})) for m in methods}
    elif xnn_params:
        raise ValueError("pass either variants or xnn_params (put the parameters in the variants)")
    if BASELINE in variants:
        raise ValueError(f"{BASELINE!r} is the baseline column's name; label the variant otherwise")
    unknown = [m for m, _ in variants.values() if m not in available_methods()]
    if unknown:
        raise ValueError(f"unknown XNN methods {unknown}; choose from {available_methods()}")
    if train_data is None:
        train_data = make_parts_dataset(n_per_class, size=image_size, seed=seed, fine_grained=fine_grained)
    if test_data is None:
        test_data = make_parts_dataset(max(1, n_per_class // 2), size=image_size, seed=seed + 1,
                                       fine_grained=fine_grained)
    for name, data in (("train_data", train_data), ("test_data", test_data)):
        if getattr(data, "keypoints", None) is None or getattr(data, "boxes", None) is None:
            raise TypeError(f"{name} must be a PartsDataset (with keypoints and boxes) for the locality "
                            f"metric; got {type(data).__name__}; make one with make_parts_dataset()")
    classes = [str(c) for c in train_data.classes]
    categories = list(classes if categories is None else categories)
    missing = [c for c in categories if c not in classes]
    if missing:
        raise ValueError(f"categories {missing} are not classes of the data set; choose from {classes}")
    show = show_progress is not False
    if dnn is None:
        dnn = train_classifier(train_data, test_data, epochs=classifier_epochs, seed=seed, progress=show)
    dnn.eval()
    extractor = FeatureExtractor(dnn, layer)
    train = extractor.extract(train_data, batch_size=batch_size, progress=show)
    test = extractor.extract(test_data, batch_size=batch_size, progress=show)
    subsets = _map_subsets(test.logits.argmax(1), classes, categories, maps_per_class)
    subsets = {c: rows for c, rows in subsets.items() if len(rows)}

    columns: dict[str, list[float]] = {}
    for label in progress(list(variants), desc="methods", disable=None if show_progress is None else not show):
        method, extra = variants[label]
        params = {"n_features": n_features, **extra}
        bank = fit_class_xnns(train.Z, train.logits, classes, method=method, labels=train.labels, **params)
        f_reg_train, f_cls_train = faithfulness_scores(bank.predict(train.Z), train.logits)
        f_reg_test, f_cls_test = faithfulness_scores(bank.predict(test.Z), test.logits)
        maps = {c: np.asarray(attribute(XFeatureModel(dnn, layer, bank[c]), _as_tensor(test_data, rows),
                                        method=heatmap_method, batch_size=batch_size, show_progress=False))
                for c, rows in subsets.items()}
        o1, o2, local = _map_metrics(maps, test_data, subsets)
        columns[label] = [f_reg_train, f_reg_test, f_cls_train, f_cls_test,
                                                      o1, o2, local]
    baseline = {c: np.asarray(attribute(dnn, _as_tensor(test_data, rows), method=heatmap_method,
                                        targets=[classes.index(c)], batch_size=batch_size,
                                        show_progress=False))
                for c, rows in subsets.items()}
    columns[BASELINE] = [math.nan] * 6 + [_map_metrics(baseline, test_data, subsets)[2]]
    return pd.DataFrame(columns, index=pd.Index(ROWS, name="metric"))
