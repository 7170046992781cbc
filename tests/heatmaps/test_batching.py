"""Batched maps over B·T rows equal the per-target (and per-image) loop, for every method."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xnaming_widget.heatmaps import OutputTarget, attribute

from ._nets import small_cnn


@pytest.mark.parametrize("method", ["cmwp", "mwp", "gradcam", "ig"])
def test_batched_maps_equal_the_per_target_loop(method):
    torch.manual_seed(0)
    net = small_cnn(batchnorm=True)
    images = torch.rand(3, 1, 16, 16)
    targets = [4, 0, 2]
    options = {"steps": 8} if method == "ig" else {}
    batched = attribute(net, images, method=method, targets=targets, **options)
    looped = np.stack([attribute(net, images[i:i + 1], method=method, targets=[t], **options)[0, 0]
                       for i in range(3) for t in targets]).reshape(batched.shape)
    np.testing.assert_allclose(batched, looped, rtol=1e-4, atol=1e-7)
    assert batched.shape == (3, 3, 16, 16) and batched.dtype == np.float32 and (batched >= 0).all()


def test_per_image_targets_and_chunking():
    torch.manual_seed(1)
    net = small_cnn()
    images = torch.rand(4, 1, 16, 16)
    per_image = np.array([[0, 1], [2, 3], [4, 0], [1, 1]])
    maps = attribute(net, images, targets=per_image, batch_size=3)  # 8 rows in chunks of 3
    for i, row in enumerate(per_image):
        for k, t in enumerate(row):
            single = attribute(net, images[i:i + 1], targets=[OutputTarget(int(t))])[0, 0]
            np.testing.assert_allclose(maps[i, k], single, rtol=1e-4, atol=1e-7)


def test_all_outputs_by_default_and_numpy_images():
    torch.manual_seed(2)
    net = small_cnn()
    images = np.random.default_rng(0).random((2, 1, 16, 16), dtype=np.float32)
    maps = attribute(net, images, method="mwp")
    assert maps.shape == (2, 5, 16, 16)
    np.testing.assert_allclose(maps[:, 3], attribute(net, images, method="mwp", targets=3)[:, 0], atol=1e-7)


def test_model_state_is_restored():
    net = small_cnn(batchnorm=True).train()
    attribute(net, torch.rand(1, 1, 16, 16), targets=[0])
    assert all(module.training for module in net.modules())
    assert all(p.requires_grad for p in net.parameters())
    assert all(p.grad is None for p in net.parameters())


class _ReshapesByInputBatch(nn.Module):
    """Reshapes with the input's batch size, so rows cannot be tiled above its conv layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(3 * 8 * 8, 4)

    def forward(self, x):
        batch = x.shape[0]
        return self.fc(self.features(x).reshape(batch, -1))


@pytest.mark.parametrize("method", ["cmwp", "gradcam"])
def test_models_that_reshape_by_input_batch_fall_back_to_input_tiling(method):
    torch.manual_seed(3)
    net = _ReshapesByInputBatch().eval()
    images = torch.rand(2, 1, 16, 16)
    batched = attribute(net, images, method=method, targets=[0, 1, 3])
    looped = np.stack([attribute(net, images[i:i + 1], method=method, targets=[t])[0, 0]
                       for i in range(2) for t in (0, 1, 3)]).reshape(batched.shape)
    np.testing.assert_allclose(batched, looped, rtol=1e-4, atol=1e-7)
    assert batched.max() > 0


def test_more_targets_than_batch_size():
    torch.manual_seed(4)
    net = small_cnn()
    images = torch.rand(3, 1, 16, 16)
    np.testing.assert_allclose(attribute(net, images, batch_size=2), attribute(net, images), rtol=1e-4,
                               atol=1e-7)
