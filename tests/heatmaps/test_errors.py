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
