"""Benchmark: c-MWP maps of 5 x-features for 32 demo images, looped over x-features vs batched.

The loop calls ``attribute`` once per x-feature (32 rows each); the batched call explains all
5 x-features of the 32 images in one forward plus one backward carrying the 5 targets at once
(definitions §4; no tiling). Both give the same
maps (checked). Uses the trained demo classifier with ``--trained`` (trains and caches it on
the first call, minutes on two CPU cores); by default a DemoCNN with random weights, which costs
the same to explain. The x-feature head is an XNN-shaped MLP (Linear/ReLU, 5 x-features) on fc6.

    python bench/heatmaps.py [--trained] [--repeats 5]

The last line ends with the ratio loop / batched.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from xnaming_widget.heatmaps import XFeatureModel, attribute
from xnaming_widget.models import DemoCNN

N_IMAGES, N_FEATURES, LAYER = 32, 5, "fc6"


def _images() -> torch.Tensor:
    try:
        from xnaming_widget.data import load_fashion_mnist

        test = load_fashion_mnist(split="test")
        return torch.stack([test[i][0] for i in range(N_IMAGES)]).float()
    except (FileNotFoundError, ImportError):
        print("Fashion-MNIST not found: using random images")
        return torch.rand(N_IMAGES, 1, 28, 28)


def _model(trained: bool) -> XFeatureModel:
    torch.manual_seed(0)
    if trained:
        from xnaming_widget.models import demo_classifier

        dnn = demo_classifier(progress=False)
    else:
        dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28)
    dnn.eval()
    width = dict(dnn.named_modules())[LAYER][0].out_features
    head = nn.Sequential(nn.Linear(width, 100), nn.ReLU(), nn.Linear(100, N_FEATURES), nn.ReLU())
    return XFeatureModel(dnn, LAYER, head)


def _timed_pair(first, second, repeats: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Median times of two functions, run alternately so that load from other processes hits both."""
    times: tuple[list, list] = ([], [])
    results = [None, None]
    for _ in range(repeats):
        for slot, fn in enumerate((first, second)):
            start = time.perf_counter()
            results[slot] = fn()
            times[slot].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1]), results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", action="store_true", help="use the trained demo classifier")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model, images = _model(args.trained), _images()
    options = dict(method="cmwp", show_progress=False)

    def loop():
        return np.stack([attribute(model, images, targets=[k], **options)[:, 0] for k in range(N_FEATURES)], 1)

    def batched():
        return attribute(model, images, targets=list(range(N_FEATURES)), batch_size=N_IMAGES * N_FEATURES,
                         **options)

    batched()  # warm-up (allocator, thread pools)
    loop_time, batched_time, loop_maps, batched_maps = _timed_pair(loop, batched, args.repeats)
    np.testing.assert_allclose(batched_maps, loop_maps, rtol=1e-4, atol=1e-7)
    weights = "trained" if args.trained else "random-weight"
    print(f"{weights} DemoCNN + 5-x-feature head on {LAYER}, {N_IMAGES} images 28x28, c-MWP at the last conv block, "
          f"median of {args.repeats}")
    print(f"loop over x-features: {loop_time:.3f} s   batched (one pass, {N_IMAGES * N_FEATURES} rows): "
          f"{batched_time:.3f} s")
    print(f"speed-up loop / batched: {loop_time / batched_time:.2f}")


if __name__ == "__main__":
    main()
