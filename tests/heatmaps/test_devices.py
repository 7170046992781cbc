"""device="auto" and the autocast path: maps within the stated tolerance of float32."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from xnaming_widget._torch import resolve_device
from xnaming_widget.heatmaps import attribute

from . import regression_cases as rc


def _lowest_correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1, a.shape[-2] * a.shape[-1]), b.reshape(-1, b.shape[-2] * b.shape[-1])
    return float(min(np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)))


def test_auto_device_is_cuda_when_present_else_cpu():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    net = rc.MODELS["demo"]()
    images = rc.images_for("demo")
    auto = attribute(net, images, method="cmwp", targets=[1, 2], device="auto")
    here = attribute(net, images, method="cmwp", targets=[1, 2])
    np.testing.assert_allclose(auto, here, rtol=1e-4, atol=1e-7)
    assert next(net.parameters()).device.type == "cpu"  # the model went back where it was


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA, which this machine lacks"):
        attribute(rc.MODELS["demo"](), rc.images_for("demo"), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["cmwp", "gradcam"])
def test_cuda_maps_equal_cpu_maps(method):
    net, images = rc.MODELS["demo"](), rc.images_for("demo")
    np.testing.assert_allclose(attribute(net, images, method=method, targets=[1, 2], device="cuda"),
                               attribute(net, images, method=method, targets=[1, 2]), rtol=1e-3, atol=1e-6)


# The stated tolerance of the autocast path: every map correlates >= 0.98 with its float32 map
# (measured on CPU with bfloat16, whose 8-bit mantissa is coarser than CUDA's float16).
AUTOCAST_CORRELATION = 0.98


@pytest.mark.parametrize("model, method, layer", [("demo", "cmwp", None), ("demo", "mwp", "input"),
                                                  ("demo", "gradcam", None), ("resnet18", "cmwp", "layer3"),
                                                  ("resnet18", "gradcam", "layer4")])
def test_autocast_maps_stay_within_the_stated_tolerance(model, method, layer):
    if model == "resnet18":
        pytest.importorskip("torchvision")
    net, images = rc.MODELS[model](), rc.images_for(model)
    targets = rc.targets_for(net, images)
    full = attribute(net, images, method=method, targets=targets, layer=layer)
    fast = attribute(net, images, method=method, targets=targets, layer=layer, autocast=True)
    assert fast.dtype == np.float32 and np.isfinite(fast).all() and (fast >= 0).all()
    assert _lowest_correlation(fast, full) >= AUTOCAST_CORRELATION
    with pytest.raises(ValueError, match="autocast must be"):
        attribute(net, images, method=method, targets=targets, layer=layer, autocast="yes")
