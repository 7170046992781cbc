"""Small networks shared by the heatmap tests."""
from __future__ import annotations

import torch
from torch import nn


def small_cnn(bias: bool = True, batchnorm: bool = False, activation=nn.ReLU) -> nn.Sequential:
    """Conv-ReLU-MaxPool, Conv(-BN)-ReLU-AvgPool, Flatten, Linear-ReLU, Linear: 5 outputs, 16×16 input."""
    layers = [nn.Conv2d(1, 4, 3, padding=1, bias=bias), activation(), nn.MaxPool2d(2),
              nn.Conv2d(4, 6, 3, padding=1, bias=bias and not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(6))
    layers += [activation(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 12, bias=bias), activation(),
               nn.Linear(12, 5, bias=bias)]
    net = nn.Sequential(*layers).eval()
    if batchnorm:
        with torch.no_grad():
            bn = net[4]
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(-1.0, 1.5)  # some negative scales: folding must flip those channels
    return net
