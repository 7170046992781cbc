"""Grad-CAM against a direct few-line implementation (one target at a time)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from xnaming_widget.heatmaps import attribute

from ._nets import small_cnn


def _direct_gradcam(net, image, target, layer_index):
    activations = net[:layer_index + 1](image[None])
    activations.retain_grad()
    score = net[layer_index + 1:](activations)[0, target]
    score.backward()
    weights = activations.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activations).sum(1, keepdim=True))
    return F.interpolate(cam, size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0].detach()


def test_gradcam_matches_direct_implementation():
    torch.manual_seed(0)
    net = small_cnn()
    images = torch.rand(2, 1, 16, 16)
    targets = [0, 3, 4]
    maps = attribute(net, images, method="gradcam", targets=targets, layer="4")  # ReLU after conv 2, 8×8
    want = np.stack([np.stack([_direct_gradcam(net, image, t, 4).numpy() for t in targets]) for image in images])
    np.testing.assert_allclose(maps, want, rtol=1e-5, atol=1e-6)
    assert maps.max() > 0


def test_gradcam_default_layer_is_the_last_spatial_layer():
    torch.manual_seed(1)
    net = small_cnn()
    images = torch.rand(1, 1, 16, 16)
    default = attribute(net, images, method="gradcam", targets=[2])
    explicit = attribute(net, images, method="gradcam", targets=[2], layer="5")  # AvgPool, 4×4
    np.testing.assert_allclose(default, explicit)
