"""Fixtures for the XNN tests: small synthetic features, and one thread for tiny networks."""
import numpy as np
import pytest
import torch

FAST = dict(hidden=(16, 8), epochs=3, batch_size=64, progress=False, device="cpu")


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny networks run faster on one thread, and much faster on a busy shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def synthetic():
    """Non-negative features Z (300, 12) and three scores: two linear, one non-linear."""
    rng = np.random.default_rng(0)
    Z = np.maximum(rng.normal(size=(300, 12)), 0.0).astype(np.float32)
    A = rng.normal(size=(12, 3))
    y = Z @ A
    y[:, 2] = np.maximum(y[:, 2], 0.0) * 2.0
    return Z, y.astype(np.float32)
