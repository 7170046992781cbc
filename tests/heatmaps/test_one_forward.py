"""All targets of a block of images cost one forward pass, whatever the model does with the batch size."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from xnaming_widget.heatmaps import attribute
from xnaming_widget.heatmaps import excitation

from ._nets import small_cnn


class _ReshapesByInputBatch(nn.Module):
    """Reshapes with the input's batch size (as EfficientNet does), so rows cannot be tiled above the input."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4 * 8 * 8, 6)

    def forward(self, x):
        batch = x.shape[0]
        return self.fc(self.features(x).view(batch, -1))


def _forward_rows(model: nn.Module, call) -> list[int]:
    """The batch sizes of every forward pass of ``model`` during ``call()``."""
    rows: list[int] = []
    handle = model.register_forward_pre_hook(lambda module, args: rows.append(args[0].shape[0]))
    try:
        call()
    finally:
        handle.remove()
    return rows


def _loop(model, images, method, targets, **options):
    """The reference: one call per (image, target)."""
    return np.stack([np.stack([attribute(model, images[i:i + 1], method=method, targets=[int(t)], **options)[0, 0]
                               for t in row]) for i, row in enumerate(targets)])


@pytest.mark.parametrize("method", ["cmwp", "mwp", "gradcam", "ig"])
@pytest.mark.parametrize("make", [small_cnn, _ReshapesByInputBatch], ids=["sequential", "reshapes-by-batch"])
def test_one_forward_for_all_targets_and_maps_equal_the_loop(method, make):
    torch.manual_seed(0)
    net = make().eval()
    if isinstance(net, _ReshapesByInputBatch):
        with torch.no_grad():
            net.features[4].running_mean.uniform_(-0.2, 0.2)
            net.features[4].running_var.uniform_(0.5, 2.0)
    images = torch.rand(3, 1, 16, 16)
    targets = np.array([[4, 0, 2, 1], [1, 1, 3, 0], [2, 5 % 5, 4, 3]]) % 5
    options = {"steps": 4} if method == "ig" else {}
    attribute(net, images[:1], method=method, targets=[0], **options)  # the model probe, remembered
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to tiling
        rows = _forward_rows(net, lambda: attribute(net, images, method=method, targets=targets, **options))
        maps = attribute(net, images, method=method, targets=targets, **options)
    path_points = options.get("steps", 1)
    assert rows == [3 * path_points], f"forward passes over {rows} rows; want one over the 3 images"
    np.testing.assert_allclose(maps, _loop(net, images, method, targets, **options), rtol=1e-4, atol=1e-7)
    assert maps.max() > 0


def test_excitation_totals_are_computed_once_per_image(monkeypatch):
    """The totals z of every layer run on the B images, never on B·T tiled rows."""
    torch.manual_seed(1)
    net = small_cnn(batchnorm=True)
    images = torch.randn(2, 1, 16, 16)  # signed pixels: both signs of every rule are exercised
    seen: list[int] = []
    apply = excitation._Linear.apply

    def spy(self, x, weight):
        seen.append(x.shape[0])
        return apply(self, x, weight)

    monkeypatch.setattr(excitation._Linear, "apply", spy)
    attribute(net, images, method="cmwp", targets=[0, 1, 2, 3, 4], layer="input")
    assert seen and set(seen) == {2}


class _NoBatchRule(torch.autograd.Function):
    """A custom autograd function whose backward branches on the values: vmap cannot batch it."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 if float(grad.abs().sum()) >= 0 else grad


class _CustomOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 16 * 16, 4)

    def forward(self, x):
        return self.fc(_NoBatchRule.apply(torch.relu(self.conv(x))).flatten(1))


@pytest.mark.parametrize("method", ["gradcam", "ig"])
def test_tiling_fallback_warns_once_and_gives_the_same_maps(method):
    torch.manual_seed(2)
    net = _CustomOp().eval()
    images = torch.rand(2, 1, 16, 16)
    options = {"steps": 3} if method == "ig" else {}
    with pytest.warns(RuntimeWarning, match="could not carry all 3 targets.*tiling") as record:
        maps = attribute(net, images, method=method, targets=[0, 2, 3], **options)
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    np.testing.assert_allclose(maps, _loop(net, images, method, np.array([[0, 2, 3]] * 2), **options),
                               rtol=1e-4, atol=1e-7)


def test_efficientnet_runs_one_forward_without_fallback():
    lite = pytest.importorskip("efficientnet_lite_pytorch")
    torch.manual_seed(3)
    net = lite.EfficientNet.from_name("efficientnet-lite0").eval()  # reshapes with the input batch size
    images = torch.randn(2, 3, 64, 64)
    targets = np.array([[1, 7, 900], [3, 3, 42]])
    for method, layer in (("gradcam", "_conv_head"), ("cmwp", "_blocks.13")):
        attribute(net, images[:1], method=method, targets=[0], layer=layer)  # the probe
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rows = _forward_rows(net, lambda: attribute(net, images, method=method, targets=targets, layer=layer))
        assert rows == [2]


@pytest.mark.parametrize("method", ["cmwp", "gradcam"])
def test_an_observer_sees_each_block_s_own_forward_pass(method):
    """``attribute_observed`` hands each block's layer output (equal to a plain forward's) and
    maps (equal to ``attribute``'s) to the observer, with no extra forward pass."""
    from xnaming_widget.heatmaps.attribute import attribute_observed

    torch.manual_seed(0)
    model = _ReshapesByInputBatch().eval()
    images = torch.rand(5, 1, 16, 16)
    targets = np.array([[0, 3], [1, 2], [5, 5], [4, 0], [2, 1]])
    seen = []
    layer = model.features[3]
    rows = _forward_rows(model, lambda: seen.append(attribute_observed(
        model, images, observe=(layer, lambda i, t, out, maps: seen.append((i, t, out, maps))), method=method,
        targets=targets, batch_size=4)))
    observed_maps = seen.pop()
    # a one-image probe of the layout, then exactly one pass per observed block
    assert rows == [1] + [i.stop - i.start for i, _, _, _ in seen]
    with torch.no_grad():
        plain = layer.forward(model.features[:3](images))
    for image_slice, target_slice, output, maps in seen:
        torch.testing.assert_close(output, plain[image_slice])
        np.testing.assert_allclose(maps.numpy(), observed_maps[image_slice, target_slice], rtol=0, atol=0)
    np.testing.assert_allclose(observed_maps, attribute(model, images, method=method, targets=targets, batch_size=4),
                               rtol=1e-5, atol=1e-7)


def test_an_observer_of_several_layers_gets_their_outputs_in_order():
    """``observe=([m1, m2], callback)``: each block's outputs of both, equal to a plain
    forward's, in the order given, still one pass per block."""
    from xnaming_widget.heatmaps.attribute import attribute_observed

    torch.manual_seed(1)
    model = _ReshapesByInputBatch().eval()
    images = torch.rand(5, 1, 16, 16)
    shallow, deep = model.features[1], model.features[3]
    seen = []
    rows = _forward_rows(model, lambda: attribute_observed(
        model, images, observe=([deep, shallow], lambda i, t, outs, maps: seen.append((i, outs))), method="cmwp",
        targets=np.array([[0], [1], [2], [3], [4]]), batch_size=2))
    assert rows == [1] + [i.stop - i.start for i, _ in seen]
    with torch.no_grad():
        plain_shallow = model.features[:2](images)
        plain_deep = model.features[:4](images)
    for image_slice, (deep_out, shallow_out) in seen:
        torch.testing.assert_close(deep_out, plain_deep[image_slice])
        torch.testing.assert_close(shallow_out, plain_shallow[image_slice])


def test_integrated_gradients_cannot_be_observed():
    from xnaming_widget.heatmaps.attribute import attribute_observed

    model = _ReshapesByInputBatch().eval()
    with pytest.raises(ValueError, match="cannot be observed"):
        attribute_observed(model, torch.rand(2, 1, 16, 16), observe=(model.features[0], lambda *a: None), method="ig")
