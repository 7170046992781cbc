"""Benchmark: how many actions a person needs to name the synthetic birds, by hand or assisted.

Synthetic parts set (truth known: the part drawn at each heatmap's peak, ``parts_under_peak``
with the data set's ``part_map``; ``--truth keypoint`` takes the part whose keypoint is nearest
the peak instead, which calls body pixels near the tail keypoint "tail"),
a small CNN, its XNNs at ``fc6`` and the activation set of three categories, with
descriptors. Simulated people who know the truth name each category by each strategy of
:mod:`xnaming_widget.analysis.assisted` (by hand, with suggestions, with proposed concepts
and suggestions, from another person's naming), which says what each counts as an action.

Also times ``suggest`` at 10,000 activations (synthetic descriptors of the same size), with
2,000 and with 7,500 of them named.

    python bench/assisted_naming.py [--per-class 300] [--epochs 6] [--seed 0] [--truth drawn|keypoint]

The default, 300 test images per class, gives about 2,100 significant activations, some 700 per
category: the hundreds a person names per category. At 100 per class (about 700) the fixed
costs (a concept and 3 seeds per part, the wrong suggestions that fill 20 slots for a part of
a few activations) weigh more, and even a perfect ranking costs 0.22 actions per activation.

The last line is the ratio: actions by hand / actions with suggestions.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xnaming_widget as xw  # noqa: E402
from xnaming_widget import analysis  # noqa: E402
from xnaming_widget.analysis.assisted import STRATEGIES, compare_assistance  # noqa: E402
from xnaming_widget._files import write_json_atomic  # noqa: E402
from xnaming_widget.naming import NamingError  # noqa: E402
from xnaming_widget.widget import NamingWidget  # noqa: E402

CATEGORIES = ["Cardinal", "Mallard", "Flamingo"]


def build(per_class: int, epochs: int, seed: int = 0, truth_rule: str = "drawn"):
    """The parts activation set (with descriptors) and its truth, cached in bench/out/."""
    train = xw.make_parts_dataset(per_class, size=64, seed=seed)
    test = xw.make_parts_dataset(per_class, size=64, seed=seed + 1)
    cnn = xw.train_classifier(train, test, epochs=epochs, batch_size=32, seed=seed, progress=False)
    features = xw.FeatureExtractor(cnn, "fc6").extract(train, progress=False)
    bank = xw.fit_class_xnns(features.Z, features.logits, train.classes, labels=features.labels, epochs=20, seed=seed)
    out = Path(__file__).resolve().parent / "out" / f"assisted-{per_class}-{epochs}-{seed}"
    try:
        acts = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction",
                                    out_dir=out, show_progress=False)
    except ValueError:  # built with other code or weights: build afresh
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        acts = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction",
                                    out_dir=out, show_progress=False)
    truth = analysis.parts_under_peak(acts, test.keypoints, test.boxes, test.part_names,
                                      image_index=lambda image_id: int(image_id[3:]),
                                      part_map=test.part_map if truth_rule == "drawn" else None)
    return acts, truth, cnn.test_accuracy


def time_suggest(n: int = 10_000, dims: int = 69, repeats: int = 20, *, concepts: int = 20, members: int = 100,
                 rejected: int = 50) -> float:
    """Median ms of ``suggest`` on ``n`` activations with ``concepts`` concepts of ``members``
    members each and ``rejected`` rejections for the first."""
    rng = np.random.default_rng(0)
    ids = [f"Bird/img{i // 5:05d}/x{i % 5}" for i in range(n)]
    table = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "Bird",
                          "xfeature": [i % 5 for i in range(n)], "value": 1.0, "weight": 1.0, "contribution": 1.0,
                          "significant": True, "predicted": "Bird", "label": "Bird"})
    images = list(dict.fromkeys(table["image_id"]))
    acts = xw.ActivationSet(table, images, np.zeros((len(images), 2, 2, 3), np.uint8), np.arange(n),
                            np.zeros((n, 2, 2), np.float16), [b""] * n, [b""] * len(images),
                            descriptors=rng.normal(size=(n, dims)).astype(np.float16))
    w = NamingWidget(acts, category="Bird", annotator="t")
    made = [w.create_concept(f"c{j}", ids[j * members:(j + 1) * members]) for j in range(concepts)]
    labelled = concepts * members
    w.reject(made[0], ids[labelled:labelled + rejected])
    w.suggest(made[0])  # projects the descriptors once
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        w.suggest(made[r % concepts], k=20)
        times.append((time.perf_counter() - start) * 1000)
    w.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=300, help="test images per class (default 300)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0, help="seed of the data sets and the training (default 0)")
    parser.add_argument("--truth", choices=("drawn", "keypoint"), default="drawn",
                        help="the part drawn at the peak (default) or the part whose keypoint is nearest it")
    args = parser.parse_args()
    acts, truth, accuracy = build(args.per_class, args.epochs, seed=args.seed, truth_rule=args.truth)
    print(f"parts set: CNN accuracy {accuracy:.3f}, {int(acts.table['significant'].sum())} significant activations "
          f"in {CATEGORIES}; parts under the peaks ({args.truth}): {dict(truth.value_counts())}")
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder)
        simulated = analysis.simulate_annotators(acts, truth, 1, skip=0.15, trash=0.03, noise=0.1, split=0.1,
                                                 merge=0.05, seed=7, prefix="other")
        for doc in analysis.naming_docs(simulated, fingerprint=acts.fingerprint):
            write_json_atomic(other / f"{doc['category']}.json", doc)
        table = compare_assistance(acts, truth, CATEGORIES, other_naming=other, strategies=STRATEGIES + ("oracle",))
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    ms = time_suggest()
    print(f"suggest at 10,000 activations (69-d descriptors, 20 concepts of 100): median {ms:.1f} ms")
    ms = time_suggest(concepts=50, members=150, rejected=500)
    print(f"suggest at 10,000 activations (50 concepts of 150, 500 rejected): median {ms:.1f} ms")
    per = table["per_activation"]
    print(f"actions by hand / with suggestions = {per['by hand'] / per['suggest']:.1f}")


if __name__ == "__main__":
    try:
        main()
    except NamingError as err:
        raise SystemExit(f"naming error: {err}")
