"""Bad input gives a clear error that says what was wrong and how to fix it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xnaming_widget.heatmaps import OutputTarget, UnsupportedModelError, XFeatureModel, attribute
from xnaming_widget.heatmaps.targets import resolve_targets

from ._nets import small_cnn


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return small_cnn()


def test_wrong_image_shape(net):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\).*images\[None\]"):
        attribute(net, torch.rand(1, 16, 16))
    with pytest.raises(ValueError, match="channels"):
        attribute(net, torch.rand(1, 3, 16, 16))  # the first conv expects 1 channel


def test_layer_the_model_lacks(net):
    with pytest.raises(ValueError, match="no layer named 'featurs'.*e.g."):
        attribute(net, torch.rand(1, 1, 16, 16), layer="featurs")
    with pytest.raises(ValueError, match="not a submodule"):
        attribute(net, torch.rand(1, 1, 16, 16), layer=nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="spatial layer"):
        attribute(net, torch.rand(1, 1, 16, 16), layer="7")  # the Linear layer: no map there
    with pytest.raises(ValueError, match="Did you mean 'fc6'"):
        from xnaming_widget.models import DemoCNN

        XFeatureModel(DemoCNN(), "fc66", nn.Identity())


def test_targets_out_of_range(net):
    with pytest.raises(IndexError, match="5 outputs.*0..4.*\\[7\\]"):
        attribute(net, torch.rand(2, 1, 16, 16), targets=[0, 7])
    with pytest.raises(IndexError, match="out of range"):
        attribute(net, torch.rand(2, 1, 16, 16), targets=np.array([[0], [-1]]))
    with pytest.raises(ValueError, match=r"\(B, T\) = \(2, T\)"):
        attribute(net, torch.rand(2, 1, 16, 16), targets=np.zeros((3, 1), dtype=int))
    with pytest.raises(TypeError, match="integer output indices"):
        attribute(net, torch.rand(2, 1, 16, 16), targets=np.array([0.5]))


def test_unknown_method_and_misused_options(net):
    with pytest.raises(ValueError, match="unknown method 'cam'.*'gradcam'"):
        attribute(net, torch.rand(1, 1, 16, 16), method="cam")
    with pytest.raises(ValueError, match="pixels; leave layer=None"):
        attribute(net, torch.rand(1, 1, 16, 16), method="ig", layer="0")
    with pytest.raises(ValueError, match="needs a spatial layer"):
        attribute(net, torch.rand(1, 1, 16, 16), method="gradcam", layer="input")
    with pytest.raises(ValueError, match="positive integer"):
        attribute(net, torch.rand(1, 1, 16, 16), method="ig", steps=0)
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        attribute(net, torch.rand(1, 1, 16, 16), batch_size=-3)


class _FunctionalResidual(nn.Module):
    """A skip connection written as a tensor addition in forward: no excitation rule for it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)) + x)


def test_unsupported_operation_is_refused_not_mis_explained():
    torch.manual_seed(1)
    model = _FunctionalResidual().eval()
    with pytest.raises(UnsupportedModelError, match="AddBackward0.*gradcam"):
        attribute(model, torch.rand(1, 1, 8, 8), method="mwp", layer="input")
    maps = attribute(model, torch.rand(1, 1, 8, 8), method="ig", targets=[0])  # plain autograd works
    assert maps.shape == (1, 1, 8, 8)


def test_unknown_module_type_is_named():
    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

    model = nn.Sequential(nn.Conv2d(1, 2, 3), Scale(), nn.Flatten(), nn.Linear(2 * 6 * 6, 2)).eval()
    with pytest.raises(UnsupportedModelError, match="no rule for Scale.*'1'"):
        attribute(model, torch.rand(1, 1, 8, 8), layer="0")


def test_target_forms_resolve_to_the_same_indices():
    want = torch.tensor([[1, 3], [1, 3]])
    for targets in ([1, 3], (1, 3), np.array([1, 3]), torch.tensor([1, 3]), [OutputTarget(1), OutputTarget(3)],
                    [[1, 3], [1, 3]]):
        assert torch.equal(resolve_targets(targets, 2, 4), want)
    assert torch.equal(resolve_targets(None, 2, 3), torch.tensor([[0, 1, 2], [0, 1, 2]]))
    assert OutputTarget(2)(torch.arange(8.0).reshape(2, 4)).tolist() == [2.0, 6.0]


def test_integer_images_are_refused_with_the_fix(net):
    pixels = np.random.default_rng(0).integers(0, 256, (2, 1, 16, 16)).astype(np.uint8)
    with pytest.raises(TypeError, match=r"uint8 \(e.g. 0-255 pixels\).*float\(\) / 255"):
        attribute(net, pixels)
    with pytest.raises(TypeError, match="int64"):
        attribute(net, torch.ones(1, 1, 16, 16, dtype=torch.int64))


def test_float_images_holding_0_255_values_get_a_warning(net):
    pixels = np.random.default_rng(0).integers(0, 256, (2, 1, 16, 16)).astype(np.float32)
    with pytest.warns(UserWarning, match="whole numbers up to 255.*0-255 pixels cast to float"):
        attribute(net, pixels, targets=[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_pixels_are_refused_naming_the_images(net, bad):
    images = torch.rand(5, 1, 16, 16)
    images[1, 0, 3, 4] = bad
    images[3, 0, 0, 0] = bad
    for method in ("cmwp", "gradcam", "ig"):
        with pytest.raises(ValueError, match=r"images 1, 3 \(index in the batch\) contain NaN or infinite"):
            attribute(net, images, method=method)


def test_integrated_gradients_baseline_must_fit_the_images(net):
    images = torch.rand(3, 1, 16, 16)
    with pytest.raises(ValueError, match=r"baseline has shape \(3, 16\).*\(C, H, W\) = \(1, 16, 16\)"):
        attribute(net, images, method="ig", baseline=torch.zeros(3, 16))
    with pytest.raises(ValueError, match=r"baseline has shape \(2, 1, 16, 16\).*\(B, C, H, W\) = \(3, 1, 16, 16\)"):
        attribute(net, images, method="ig", baseline=torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="baseline contains NaN"):
        attribute(net, images, method="ig", baseline=torch.full((1, 16, 16), np.nan))


def test_integrated_gradients_with_one_baseline_per_image_and_chunking(net):
    torch.manual_seed(3)
    images, baselines = torch.rand(3, 1, 16, 16), torch.rand(3, 1, 16, 16)
    maps = attribute(net, images, method="ig", targets=[0, 4], baseline=baselines, steps=4, batch_size=2 * 4)
    for i in range(3):  # blocks of one image: each block must get its own images' baselines
        alone = attribute(net, images[i:i + 1], method="ig", targets=[0, 4], baseline=baselines[i], steps=4)
        np.testing.assert_allclose(maps[i], alone[0], rtol=1e-4, atol=1e-7)
    shared = attribute(net, images, method="ig", targets=[0], baseline=baselines[0], steps=4)
    np.testing.assert_allclose(shared, attribute(net, images, method="ig", targets=[0], steps=4,
                                                 baseline=baselines[0].expand(3, 1, 16, 16)), rtol=1e-6)
