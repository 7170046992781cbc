"""Shared session fixtures built from real data: Fashion-MNIST subsets, a briefly trained DemoCNN,
its fc6 features on ~2000 test images, and a small synthetic bird-parts set.

The trained model is cached under pytest's cache folder (``.pytest_cache/d/xnaming-models``),
keyed by data, hyperparameters, architecture and seed, so later sessions load it in a blink.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

N_TRAIN_PER_CLASS = 300   # 3000 training images
N_TEST = 2000
SMALL_EPOCHS = 4


def pytest_configure(config):
    """One torch thread per test process (override with XNAMING_TEST_THREADS): the test machine is
    shared, and OpenMP threads spinning on oversubscribed cores made training 10-50x slower."""
    import os

    torch.set_num_threads(int(os.environ.get("XNAMING_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def fashion_small():
    """``SimpleNamespace(train, test, classes)``: 3000 class-balanced training images (seeded
    choice) and the first 2000 test images of Fashion-MNIST, as ``FashionMNIST`` data sets."""
    from xnaming_widget.data import load_fashion_mnist

    try:
        train = load_fashion_mnist(split="train")
        test = load_fashion_mnist(split="test")
    except FileNotFoundError as err:
        pytest.skip(f"Fashion-MNIST not available ({err}); `apt-get install dataset-fashion-mnist` "
                    "or set XNAMING_DATA")
    rng = np.random.default_rng(0)
    picks = np.concatenate([rng.choice(np.flatnonzero(train.labels == c), N_TRAIN_PER_CLASS, replace=False)
                            for c in range(len(train.classes))])
    picks = rng.permutation(picks)
    return SimpleNamespace(train=train.subset(picks), test=test.subset(slice(0, N_TEST)),
                           classes=list(train.classes))


@pytest.fixture(scope="session")
def model_cache_dir(request, tmp_path_factory):
    """Folder for cached test models: persists across sessions in .pytest_cache, or a fresh
    temporary folder when the cache plugin is off (``-p no:cacheprovider``)."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("xnaming-models") if cache is not None else tmp_path_factory.mktemp("xnaming-models")


@pytest.fixture(scope="session")
def demo_model_small(fashion_small, model_cache_dir):
    """A DemoCNN trained for 4 epochs on ``fashion_small.train`` (seed 0, CPU, deterministic).

    About 77 % test accuracy (3000 images, seconds to train); ``.history``, ``.test_accuracy``, ``.classes`` are set."""
    from xnaming_widget.models import train_classifier

    torch.manual_seed(0)
    return train_classifier(fashion_small.train, fashion_small.test, epochs=SMALL_EPOCHS, batch_size=64, seed=0,
                            device="cpu", cache_dir=model_cache_dir, progress=False)


@pytest.fixture(scope="session")
def demo_features(demo_model_small, fashion_small):
    """``Features`` of ``demo_model_small`` at ``fc6`` (post-ReLU) on the 2000 test images:
    ``Z`` float32 (2000, 256), ``logits`` float32 (2000, 10), ``labels`` int64 (2000,), ``classes``."""
    from xnaming_widget.models import FeatureExtractor

    return FeatureExtractor(demo_model_small, "fc6").extract(fashion_small.test, device="cpu", progress=False)


@pytest.fixture(scope="session")
def parts_small():
    """``make_parts_dataset(20, size=64, seed=0)``: 120 synthetic birds (6 classes) with keypoints."""
    from xnaming_widget.data import make_parts_dataset

    return make_parts_dataset(20, size=64, seed=0)
