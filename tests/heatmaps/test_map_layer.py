"""The default naming-map layer: the documented rule on known architectures, and build_activations using it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xnaming_widget.heatmaps import XFeatureModel, attribute
from xnaming_widget.heatmaps.map_layer import naming_map_layer
from xnaming_widget.models import DemoCNN


def test_small_images_with_excitation_methods_are_read_at_the_input():
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28)
    images = torch.rand(2, 1, 28, 28)
    assert naming_map_layer(dnn, images) == "input"
    assert naming_map_layer(dnn, images, "mwp") == "input"
    # Grad-CAM cannot read the input: the last layer with maps of at least 14 x 14. DemoCNN's layers
    # give 28 (conv1, relu1), 14 (pool1, conv2, relu2), 7 (pool2, features): relu2 is the last 14.
    assert naming_map_layer(dnn, images, "gradcam") == "features.relu2"
    assert naming_map_layer(dnn, images, pixel_level_max_side=20) == "features.relu2"  # 28 px is "large" here
    assert naming_map_layer(dnn, images, "gradcam", min_side=28) == "features.relu1"


def test_without_a_fine_enough_layer_the_finest_maps_win():
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=12)  # maps 12 (conv1, relu1), 6, 3: none >= 14
    assert naming_map_layer(dnn, torch.rand(1, 1, 12, 12), "gradcam") == "features.relu1"


def test_large_images_skip_modules_inside_residual_blocks():
    torchvision = pytest.importorskip("torchvision")
    net = torchvision.models.resnet18(weights=None)
    # 224 px: layer1 56, layer2 28, layer3 14, layer4 7; the blocks' own convs are not candidates
    assert naming_map_layer(net, torch.rand(1, 3, 224, 224)) == "layer3"
    assert naming_map_layer(net, torch.rand(1, 3, 112, 112)) == "layer2"  # layer2 is 14 x 14 there


def test_efficientnet_lite0_reads_the_last_14x14_block():
    pytest.importorskip("efficientnet_lite_pytorch")
    from xnaming_widget.models import load_efficientnet_lite0

    net = load_efficientnet_lite0(pretrained=False)
    # _blocks.8-10 give 14 x 14; _blocks.11 expands at 14 x 14 before its stride-2 depthwise conv,
    # but that expansion is inside a block: the block outputs (7 x 7) decide
    assert naming_map_layer(net, torch.rand(1, 3, 224, 224)) == "_blocks.10"


def test_bad_arguments_are_refused():
    dnn = DemoCNN(in_channels=1, n_classes=10, image_size=28)
    with pytest.raises(TypeError, match="nn.Module"):
        naming_map_layer(lambda x: x, torch.rand(1, 1, 28, 28))
    with pytest.raises(ValueError, match="min_side"):
        naming_map_layer(dnn, torch.rand(1, 1, 28, 28), min_side=0)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        naming_map_layer(dnn, torch.rand(1, 28, 28))
    flat = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4, 3))
    with pytest.raises(ValueError, match="no layer with a spatial"):
        naming_map_layer(flat, torch.rand(1, 1, 4, 4), "gradcam")


def test_build_activations_reads_maps_at_the_rule_layer_unless_told_otherwise():
    from xnaming_widget.activations import build_activations
    from xnaming_widget.data import ImageArrayDataset
    from xnaming_widget.models import FeatureExtractor
    from xnaming_widget.xnn import fit_class_xnns

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = ImageArrayDataset(rng.integers(0, 256, size=(12, 16, 16), dtype=np.uint8), rng.integers(0, 3, 12),
                             classes=["a", "b", "c"])
    dnn = DemoCNN(in_channels=1, n_classes=3, image_size=16, channels=(4, 4), fc_sizes=(8, 8)).eval()
    features = FeatureExtractor(dnn, "fc6").extract(data, progress=False)
    bank = fit_class_xnns(features.Z, features.logits, ["a", "b", "c"], labels=features.labels, n_features=2,
                          hidden=(4,), epochs=2, seed=0)
    category = ["a", "b", "c"][int(np.bincount(features.logits.argmax(1), minlength=3).argmax())]
    images = torch.from_numpy(data.images).float().div(255)[:, None]
    for kwargs, layer in ((None, "input"), ({"layer": "features.relu1"}, "features.relu1")):
        acts = build_activations(dnn, "fc6", bank, data, [category], significance="top_fraction",
                                 attribute_kwargs=kwargs, show_progress=False)
        assert acts.meta["config"]["attribute_kwargs"]["layer"] == repr(layer)
        row = acts.table[acts.table["significant"]].iloc[0]
        direct = attribute(XFeatureModel(dnn, "fc6", bank[category]), images[int(row.image_id[3:])][None],
                           targets=[int(row.xfeature)], layer=layer)[0, 0]
        np.testing.assert_allclose(acts.heatmap(row.activation_id), direct, rtol=1e-2, atol=1e-4)
