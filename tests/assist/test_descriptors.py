"""The hypercolumn descriptor (docs/definitions.md §8): its layers and its formula."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from xnaming_widget.assist.descriptors import (COLOUR_WEIGHT, XFEATURE_WEIGHT, describe, descriptor_layer,
                                               descriptors_of, hypercolumn_layers)
from xnaming_widget.metrics.object_maps import map_peaks
from xnaming_widget.models import DemoCNN


@pytest.mark.parametrize("size, expected", [(64, ["features.relu1", "features.relu2", "features.relu3"]),
                                            (28, ["features.relu1", "features.relu2"])])
def test_the_column_takes_the_last_layer_of_each_resolution(size, expected):
    """DemoCNN runs conv1 relu1 (full size) | pool1 conv2 relu2 (1/2) | pool2 conv3 relu3 (1/4) |
    pool3 (1/8): the column ends at the descriptor layer (the last with maps >= 14x14) and
    takes the last layer before each change of size."""
    model = DemoCNN(in_channels=3, n_classes=4, image_size=size).eval()
    images = torch.rand(1, 3, size, size)
    assert hypercolumn_layers(model, images, descriptor_layer(model, images)) == expected
    assert hypercolumn_layers(model, images, "features.relu2") == ["features.relu1", "features.relu2"]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        hypercolumn_layers(model, images, "nope")


def _by_hand(images, layers, maps, xfeatures, n_xfeatures):
    """The definition written out in numpy, one activation at a time."""
    out = []
    size = maps.shape[-1]
    for b in range(maps.shape[0]):
        for t in range(maps.shape[1]):
            r, c = map_peaks(maps[b, t][None])[0]
            image = images[b].astype(np.float64)  # (C, H, W) at the maps' size
            column = [image[:, r, c] / (image.max() - image.min()) * COLOUR_WEIGHT]
            for features in layers:
                f = features[b].astype(np.float64)  # (C, h, w)
                k = size // f.shape[-1]  # pixels per cell
                rows = slice(max(r // k - 1, 0), r // k + 2)  # the peak's cell and its neighbours
                cols = slice(max(c // k - 1, 0), c // k + 2)
                pooled = f[:, rows, cols].mean(axis=(1, 2))
                particular = pooled - f.mean(axis=(1, 2))
                column.append(particular / max(np.linalg.norm(particular), 0.1 * np.linalg.norm(pooled)))
            out.append(np.concatenate(column + [np.eye(n_xfeatures)[xfeatures[b, t]] * XFEATURE_WEIGHT]))
    return np.array(out).reshape(maps.shape[0], maps.shape[1], -1)


def test_descriptors_stack_the_peak_s_colour_each_layer_s_contrasted_hot_spot_and_the_xfeature():
    rng = np.random.default_rng(0)
    images = rng.random((2, 3, 16, 16)).astype(np.float32)
    shallow = rng.random((2, 3, 16, 16)).astype(np.float32)
    deep = rng.random((2, 5, 4, 4)).astype(np.float32)
    maps = rng.random((2, 2, 16, 16)).astype(np.float32) ** 4  # distinct peaks
    maps = maps.astype(np.float16).astype(np.float32)  # the stored precision the peak is read at
    xfeatures = np.array([[0, 2], [1, 1]])
    got = descriptors_of([torch.from_numpy(shallow), torch.from_numpy(deep)], torch.from_numpy(maps),
                         torch.from_numpy(xfeatures), 3, images=torch.from_numpy(images)).numpy()
    assert got.shape == (2, 2, 3 + 3 + 5 + 3)
    np.testing.assert_allclose(got, _by_hand(images, [shallow, deep], maps, xfeatures, 3), atol=1e-5)


def test_the_colour_column_reads_alike_however_the_input_is_scaled():
    """Inputs in [0, 1] and the same inputs normalised (x - mean) / std per channel give the
    same colour column up to the per-channel shift, which the ranking's centring removes:
    the column is in units of the image's value range. An all-zero map has no peak: zeros."""
    rng = np.random.default_rng(1)
    images = rng.random((2, 3, 8, 8)).astype(np.float32)
    features = torch.from_numpy(rng.random((2, 4, 8, 8)).astype(np.float32))
    maps = torch.from_numpy((rng.random((2, 2, 8, 8)) ** 4).astype(np.float32))
    maps[1, 1] = 0
    xfeatures = torch.tensor([[0, 1], [1, 0]])
    plain = descriptors_of(features, maps, xfeatures, 2, images=torch.from_numpy(images)).numpy()[..., :3]
    normalised = (images - 0.45) / 0.25  # the same shift and scale on every channel
    scaled = descriptors_of(features, maps, xfeatures, 2, images=torch.from_numpy(normalised)).numpy()[..., :3]
    shift = -0.45 / 0.25 / ((images.max((1, 2, 3)) - images.min((1, 2, 3))) / 0.25) * COLOUR_WEIGHT
    found = np.array([[1, 1], [1, 0]], bool)
    np.testing.assert_allclose(scaled[found], (plain + shift[:, None, None])[found], atol=1e-5)
    assert (plain[1, 1] == 0).all() and (scaled[1, 1] == 0).all()


def test_describe_reads_the_column_in_one_plain_pass():
    """describe(deepest) = describe([the column]) = the formula on a plain forward's outputs."""
    torch.manual_seed(0)
    model = DemoCNN(in_channels=3, n_classes=4, image_size=64).eval()
    images = torch.rand(2, 3, 64, 64)
    maps = torch.rand(2, 1, 64, 64) ** 4
    xfeatures = torch.tensor([[1], [3]])
    column = ["features.relu1", "features.relu2", "features.relu3"]
    outputs = {}
    hooks = [dict(model.named_modules())[name].register_forward_hook(
        lambda m, i, o, name=name: outputs.__setitem__(name, o.detach().numpy())) for name in column]
    with torch.no_grad():
        model(images)
    for hook in hooks:
        hook.remove()
    expected = _by_hand(images.numpy(), [outputs[name] for name in column], maps.half().float().numpy(),
                        xfeatures.numpy(), 5)
    np.testing.assert_allclose(describe(model, "features.relu3", images, maps, xfeatures, 5).numpy(), expected,
                               atol=1e-4)
    np.testing.assert_allclose(describe(model, column, images, maps, xfeatures, 5).numpy(), expected, atol=1e-4)
