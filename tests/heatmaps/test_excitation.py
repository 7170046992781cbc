"""Excitation backprop (MWP) and contrastive MWP against hand computations and their properties."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from xnaming_widget.heatmaps import attribute
from xnaming_widget.heatmaps._layers import probe_model, tap_call
from xnaming_widget.heatmaps.excitation import excitation_mass

from ._nets import small_cnn


def _mlp(w1, w2) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w1, dtype=torch.float32))
        net[2].weight.copy_(torch.tensor(w2, dtype=torch.float32))
    return net.eval()


def _mass_at_input(net, x, target, contrastive=False):
    seeds = torch.nn.functional.one_hot(torch.tensor([target]), 2).float()
    return excitation_mass(net, torch.tensor([x], dtype=torch.float32), seeds, tap=None,
                           contrastive=contrastive)[0].numpy()


def test_mwp_matches_hand_computation():
    # x = (1, 2); hidden h = W1 x = (1·1 + 2·2, 3·1 + 0·2) = (5, 3); outputs o = W2 h.
    net = _mlp([[1.0, 2.0], [3.0, 0.0]], [[1.0, -1.0], [2.0, 1.0]])
    # o1: excitatory inputs h1·1 = 5 only -> P(h) = (1, 0); then P(x) = (1·1, 2·2)/5 = (0.2, 0.8).
    np.testing.assert_allclose(_mass_at_input(net, [1.0, 2.0], 0), [0.2, 0.8], atol=1e-6)
    # o2: h1·2 = 10, h2·1 = 3 -> P(h) = (10/13, 3/13); P(x1) = 10/13·0.2 + 3/13·1 = 5/13, P(x2) = 8/13.
    np.testing.assert_allclose(_mass_at_input(net, [1.0, 2.0], 1), [5 / 13, 8 / 13], atol=1e-6)


def test_contrastive_mass_matches_hand_computation():
    net = _mlp([[1.0, 2.0], [3.0, 0.0]], [[1.0, -1.0], [2.0, 1.0]])
    # o1's dual has weights (-1, 1): only h2·1 = 3 excites it -> P_dual(h) = (0, 1), P_dual(x) = (1, 0).
    np.testing.assert_allclose(_mass_at_input(net, [1.0, 2.0], 0, contrastive=True), [0.2 - 1.0, 0.8],
                               atol=1e-6)
    # o2's dual (-2, -1) has no excitatory input: nothing is subtracted.
    np.testing.assert_allclose(_mass_at_input(net, [1.0, 2.0], 1, contrastive=True), [5 / 13, 8 / 13],
                               atol=1e-6)


def _direct_mwp(weights, x, target):
    """Zhang et al.'s formula written out unit by unit (no autograd), for a bias-free ReLU MLP."""
    activations = [np.asarray(x, dtype=np.float64)]
    for w in weights[:-1]:
        activations.append(np.maximum(w @ activations[-1], 0.0))
    mass = np.zeros(weights[-1].shape[0])
    mass[target] = 1.0
    for w, a in zip(reversed(weights), reversed(activations)):
        below = np.zeros(len(a))
        for j in range(w.shape[0]):
            contributions = a * np.maximum(w[j], 0.0)
            if contributions.sum() > 0:
                below += mass[j] * contributions / contributions.sum()
        mass = below
    return mass


def test_mwp_matches_direct_formula_on_random_mlp():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5, bias=False), nn.ReLU(), nn.Linear(5, 4, bias=False), nn.ReLU(),
                        nn.Linear(4, 3, bias=False)).eval()
    weights = [net[i].weight.detach().double().numpy() for i in (0, 2, 4)]
    x = torch.rand(2, 6)
    seeds = torch.eye(3)[[0, 2]]
    mass = excitation_mass(net, x, seeds, tap=None).numpy()
    for row, target in enumerate([0, 2]):
        np.testing.assert_allclose(mass[row], _direct_mwp(weights, x[row].numpy(), target), atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=5), seed=st.integers(0, 10_000),
       target=st.integers(0, 5))
def test_mwp_matches_direct_formula_on_any_bias_free_relu_mlp(widths, seed, target):
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.ReLU()]
    net = nn.Sequential(*layers[:-1]).eval()
    weights = [m.weight.detach().double().numpy() for m in net if isinstance(m, nn.Linear)]
    target = target % widths[-1]
    x = torch.rand(1, widths[0])
    mass = excitation_mass(net, x, torch.eye(widths[-1])[[target]], tap=None)[0].numpy()
    want = _direct_mwp(weights, x[0].numpy(), target)
    np.testing.assert_allclose(mass, want, atol=1e-5)
    assert mass.sum() == pytest.approx(1.0, abs=1e-5) or mass.sum() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("layer", ["0", "1", "2", "3", "5", "6", "7", "8"])
def test_winning_probability_is_conserved_layer_by_layer(layer):
    torch.manual_seed(1)
    net = small_cnn(bias=False)
    images = torch.rand(2, 1, 16, 16)  # non-negative pixels: every layer is excitatory
    _, calls = probe_model(net, images[:1])
    tap = tap_call(calls, layer, dict(net.named_modules())[layer])
    seeds = torch.eye(5)[[1, 4]]
    mass = excitation_mass(net, images, seeds, tap=tap)
    assert (mass >= -1e-7).all()
    np.testing.assert_allclose(mass.reshape(2, -1).sum(1).numpy(), [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.SiLU])
def test_mwp_maps_sum_to_one_at_pixels_with_signed_inputs_and_batchnorm(activation):
    torch.manual_seed(2)
    net = small_cnn(bias=False, batchnorm=True, activation=activation)
    images = torch.randn(3, 1, 16, 16)  # signed pixels: the first layer uses both signs
    maps = attribute(net, images, method="mwp", targets=[0, 2], layer="input")
    assert maps.shape == (3, 2, 16, 16) and (maps >= 0).all()
    # Probability is conserved wherever the target has an excitatory input at the top (and
    # lost entirely where it has none, as the paper's rule implies).
    with torch.no_grad():
        hidden = net[:-1](images)
    hidden, top = hidden[:, None, :], net[-1].weight[[0, 2]]
    positive_contributions = hidden.clamp(min=0) * top.clamp(min=0) + hidden.clamp(max=0) * top.clamp(max=0)
    excitable = positive_contributions.sum(-1) > 0
    assert excitable.sum() >= 4
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), excitable.float().numpy(), atol=1e-4)


def test_batchnorm_is_folded_into_the_conv_before_it():
    """A BatchNorm after a conv gives the same maps as the conv with the BatchNorm folded in."""
    torch.manual_seed(3)
    net = small_cnn(bias=False, batchnorm=True)
    bn = net[4]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv = nn.Conv2d(4, 6, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(net[3].weight * scale.view(-1, 1, 1, 1))
        conv.bias.copy_(bn.bias - scale * bn.running_mean)
    layers = list(copy.deepcopy(net))
    folded = nn.Sequential(*layers[:3], conv, *layers[5:]).eval()
    images = torch.rand(2, 1, 16, 16)
    got = attribute(net, images, method="cmwp", targets=[0, 3], layer="0")
    want = attribute(folded, images, method="cmwp", targets=[0, 3], layer="0")
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_cmwp_is_the_clamped_difference_of_target_and_dual_maps():
    torch.manual_seed(4)
    net = small_cnn()
    dual = copy.deepcopy(net)
    with torch.no_grad():
        dual[-1].weight.neg_()  # the dual unit: the target's top-layer weights negated
    images = torch.rand(2, 1, 16, 16)
    # layer "0" has the image's resolution, so no resizing is involved
    target_maps = attribute(net, images, method="mwp", targets=[0, 1, 4], layer="0")
    dual_maps = attribute(dual, images, method="mwp", targets=[0, 1, 4], layer="0")
    contrastive = attribute(net, images, method="cmwp", targets=[0, 1, 4], layer="0")
    np.testing.assert_allclose(contrastive, np.maximum(target_maps - dual_maps, 0.0), atol=1e-6)
    assert contrastive.max() > 0 and (contrastive == 0).any()


def test_residual_split_conserves_probability_in_resnet():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(5)
    net = torchvision.models.resnet18(weights=None, num_classes=6).eval()
    images = torch.rand(1, 3, 32, 32)
    # layer2 lies below five residual sums (one in layer2, two each in layer3 and layer4)
    maps = attribute(net, images, method="mwp", targets=[0, 5], layer="layer2")
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), np.ones((1, 2)), atol=1e-4)


def test_bias_driven_unit_spreads_its_mass_by_contribution_magnitude():
    # h = relu(-1·1 - 1·2 + 5) = 2 comes from the bias alone (both contributions negative):
    # its mass goes to x by |x_i w_i| = (1, 2) -> (1/3, 2/3) instead of being lost.
    net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1, bias=False)).eval()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[-1.0, -1.0]]))
        net[0].bias.fill_(5.0)
        net[2].weight.fill_(1.0)
    mass = excitation_mass(net, torch.tensor([[1.0, 2.0]]), torch.ones(1, 1), tap=None)
    np.testing.assert_allclose(mass[0].numpy(), [1 / 3, 2 / 3], atol=1e-6)


def test_residual_sum_is_split_by_branch_contributions():
    torchvision = pytest.importorskip("torchvision")
    block = torchvision.models.resnet.BasicBlock(1, 1)
    net = nn.Sequential(block, nn.Flatten(), nn.Linear(1, 1, bias=False)).eval()
    with torch.no_grad():
        for bn in (block.bn1, block.bn2):
            bn.running_var.fill_(1 - bn.eps)  # exactly the identity
        block.conv1.weight.zero_()
        block.conv2.weight.zero_()
        block.conv1.weight[0, 0, 1, 1] = 1.5  # on a 1×1 image only the kernel centre sees the pixel
        block.conv2.weight[0, 0, 1, 1] = 0.5
        net[2].weight.fill_(1.0)
    # x = 2: branch r = 0.5 · relu(1.5 · 2) = 1.5, shortcut s = 2, output relu(3.5).
    images = torch.full((1, 1, 1, 1), 2.0)
    _, calls = probe_model(net, images)
    tap = tap_call(calls, "0.conv1", block.conv1)  # inside the branch
    branch_mass = excitation_mass(net, images, torch.ones(1, 1), tap=tap).sum()
    np.testing.assert_allclose(branch_mass.item(), 1.5 / 3.5, atol=1e-6)
    pixel_mass = excitation_mass(net, images, torch.ones(1, 1), tap=None).sum()  # branch + shortcut
    np.testing.assert_allclose(pixel_mass.item(), 1.0, atol=1e-6)
