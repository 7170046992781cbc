"""Integrated gradients: completeness (attributions sum to y(x) − y(baseline)) and batching."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xnaming_widget.heatmaps import attribute
from xnaming_widget.heatmaps.integrated_gradients import integrated_gradients


def test_completeness_on_a_smooth_network():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Softplus(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4)).eval()
    images = torch.rand(3, 2, 8, 8)
    seeds = torch.eye(4)[[0, 3, 1]]
    attributions = integrated_gradients(net, images, seeds, steps=200)
    with torch.no_grad():
        gain = (net(images) - net(torch.zeros_like(images)))[torch.arange(3), [0, 3, 1]]
    np.testing.assert_allclose(attributions.sum(dim=(1, 2, 3)).numpy(), gain.numpy(), rtol=1e-3, atol=1e-4)


def test_linear_model_attributions_are_weight_times_input():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2)).eval()
    images = torch.randn(2, 1, 4, 4)
    maps = attribute(net, images, method="ig", targets=[1], steps=4)
    want = np.maximum((net[1].weight[1].detach().reshape(4, 4) * images[:, 0]).numpy(), 0)
    np.testing.assert_allclose(maps[:, 0], want, rtol=1e-5, atol=1e-6)
