"""Benchmark: do the demo's naming maps land on the object? On-object figures per map layer.

The demo CNN (trained once and cached), its XNN bank fitted as the demo fits it (SRAE,
5 x-features on fc6, ``--fit`` training images), and ``build_activations`` on the
Fashion-MNIST Sneaker and Bag predictions among the first ``--images`` test images. The
object is each garment's pixels brighter than 0.05. For every significant x-feature's c-MWP
map: the share of its mass on the object, whether its peak (``metrics.map_peaks``) is on the
object, whether the peak is within 2 px of the image's border, and its region share (how much
of its hot half forms one region; speckle scores low). Rows: ``build_activations``' default
layer (``heatmaps.map_layer``), the former default (the last conv block, 7x7 upsampled) and,
with ``--layers``, the layers in between. Both significance rules: MSX (``build_activations``'
default) and top-fraction (the demo's).

    python bench/on_object.py [--images 1000] [--fit 10000] [--epochs 20] [--layers] [--bank FILE]

Targets (issue 15) for the default: mass >= 0.85, peak on object >= 0.95, peak at border <= 0.2.
The last line ends with the ratio of the mass on the object, new default / former default.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

CATEGORIES = ["Sneaker", "Bag"]
FORMER_DEFAULT = None  # attribute's own default: the last conv block (features.pool2, 7x7)
BETWEEN = ["features.relu2", "features.pool1", "features.relu1"]
COLUMNS = ["mass_on_object", "peak_on_object", "peak_at_border", "region_share"]


def _setup(n_images: int, n_fit: int, epochs: int, bank_path: str | None):
    from pathlib import Path

    import xnaming_widget as xw
    from xnaming_widget.xnn import XNNBank

    model = xw.demo_classifier(progress=False)
    if bank_path and Path(bank_path).is_file():
        bank = XNNBank.load(bank_path)
    else:
        train = xw.load_fashion_mnist(split="train")
        rows = np.sort(np.random.default_rng(0).choice(len(train), size=min(n_fit, len(train)), replace=False))
        features = xw.FeatureExtractor(model, "fc6").extract(train.subset(rows), progress=False)
        bank = xw.fit_class_xnns(features.Z, features.logits, model.classes, method="srae", n_features=5,
                                 epochs=epochs, seed=0, progress=False)
        if bank_path:
            bank.save(bank_path)
    test = xw.load_fashion_mnist(split="test").subset(slice(0, n_images))
    return model, bank, test


def measure(model, bank, test, layer, significance: str) -> tuple[pd.Series, str, float]:
    """Mean on-object figures of one layer's maps (``layer="default"``: build_activations' own choice)."""
    from xnaming_widget.activations import build_activations
    from xnaming_widget.metrics import activation_set_on_object

    kwargs = None if layer == "default" else {"layer": layer}
    start = time.perf_counter()
    acts = build_activations(model, "fc6", bank, test, CATEGORIES, significance=significance,
                             attribute_kwargs=kwargs, show_progress=False)
    seconds = time.perf_counter() - start
    table = activation_set_on_object(acts)
    figures = table[COLUMNS].mean()
    figures["maps"] = len(table)
    used = acts.meta["config"]["attribute_kwargs"]["layer"].strip("'")  # the repr of the layer given
    return figures, "features.pool2" if used == "None" else used, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="first test images to explain")
    parser.add_argument("--fit", type=int, default=10_000, help="training images the XNNs are fitted on")
    parser.add_argument("--epochs", type=int, default=20, help="XNN epochs")
    parser.add_argument("--layers", action="store_true", help="also the layers between the two defaults")
    parser.add_argument("--bank", help="an XNN bank file: loaded if it exists, else fitted and saved there")
    args = parser.parse_args()
    model, bank, test = _setup(args.images, args.fit, args.epochs, args.bank)
    layers = ["default", FORMER_DEFAULT] + (BETWEEN if args.layers else [])
    print(f"demo CNN, {', '.join(CATEGORIES)} among the first {args.images} test images; object: pixels > 0.05")
    print(f"{'significance':13s} {'map layer':24s} {'maps':>5s} {'mass on':>8s} {'peak on':>8s} "
          f"{'peak at':>8s} {'region':>7s} {'seconds':>8s}")
    print(f"{'':13s} {'':24s} {'':>5s} {'object':>8s} {'object':>8s} {'border':>8s} {'share':>7s}")
    results = {}
    for significance in ("msx", "top_fraction"):
        for layer in layers:
            figures, used, seconds = measure(model, bank, test, layer, significance)
            results[significance, layer] = figures
            name = used + (" (default)" if layer == "default" else " (former)" if layer is FORMER_DEFAULT else "")
            print(f"{significance:13s} {name:24s} {int(figures['maps']):5d} {figures['mass_on_object']:8.3f} "
                  f"{figures['peak_on_object']:8.3f} {figures['peak_at_border']:8.3f} "
                  f"{figures['region_share']:7.2f} {seconds:8.1f}")
    new, old = results["msx", "default"], results["msx", FORMER_DEFAULT]
    met = (new["mass_on_object"] >= 0.85 and new["peak_on_object"] >= 0.95 and new["peak_at_border"] <= 0.2)
    print(f"targets (mass >= 0.85, peak on >= 0.95, at border <= 0.2) met by the default with MSX: {met}")
    ratio = new["mass_on_object"] / old["mass_on_object"]
    print(f"mass on the object, new default / former default (MSX): {ratio:.2f}")


if __name__ == "__main__":
    main()
