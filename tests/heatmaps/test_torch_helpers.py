"""resolve_device and capture_output have one home (xnaming_widget._torch) that the package uses."""
from __future__ import annotations

import torch
from torch import nn

from xnaming_widget import _torch, models
from xnaming_widget.xnn import _neural, base, lasso


def test_one_resolve_device():
    assert models.resolve_device is _torch.resolve_device
    assert base.resolve_device is _neural.resolve_device is lasso.resolve_device is _torch.resolve_device
    assert _torch.resolve_device("cpu") == torch.device("cpu")
    assert _torch.resolve_device(None) == _torch.resolve_device("auto")


def test_capture_output_calls_leaf_and_stop():
    torch.manual_seed(0)
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(3, 2))
    x = torch.randn(4, 3)
    with torch.no_grad():
        first = shared(x)
        second = shared(torch.relu(first))
    with _torch.capture_output(shared) as every:
        net(x)
    assert len(every) == 2 and torch.allclose(every[0], first) and torch.allclose(every[1], second)
    with _torch.capture_output(shared, 1, leaf=True) as kept:
        out = net(x)
    assert len(kept) == 1 and kept[0].is_leaf and kept[0].requires_grad
    (grad,) = torch.autograd.grad(out.sum(), kept[0])  # the gradient reaches the kept output...
    assert torch.allclose(grad, net[3].weight.sum(0).expand(4, 3))  # ...and equals the layer above's
    ran = []
    net[3].register_forward_hook(lambda *args: ran.append(True))
    with _torch.capture_output(shared, 0, stop=True) as stopped:
        net(x)
    assert torch.allclose(stopped[0], first) and not ran  # later layers never ran
