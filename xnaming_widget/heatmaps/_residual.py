"""Residual blocks excitation backprop knows: where the branch ends and what the shortcut is.

A residual addition happens inside a block's ``forward`` as a tensor operation, not as a
module, so module hooks cannot see it. For the blocks listed here the engine rebuilds the
addition as one step that splits a unit's probability between the branch and the shortcut
in proportion to their contributions (see ``excitation.py``). Blocks are matched by class
name so that torchvision and efficientnet-lite stay optional imports.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

__all__ = ["ResidualLayout", "residual_layout"]


@dataclass(frozen=True)
class ResidualLayout:
    """``output = after(branch_end + shortcut)``; ``shortcut is None`` means the block's input."""

    branch_end: nn.Module
    shortcut: nn.Module | None
    after: Callable[[torch.Tensor], torch.Tensor]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _torchvision_basic(block: nn.Module) -> ResidualLayout:
    return ResidualLayout(block.bn2, block.downsample, torch.relu)


def _torchvision_bottleneck(block: nn.Module) -> ResidualLayout:
    return ResidualLayout(block.bn3, block.downsample, torch.relu)


def _efficientnet_mbconv(block: nn.Module) -> ResidualLayout:
    # The skip is used only for stride 1 and equal channel counts; the engine checks the
    # block's actual output, so a block without the skip is recognised as a plain chain.
    return ResidualLayout(block._bn2, None, _identity)


_LAYOUTS: dict[str, Callable[[nn.Module], ResidualLayout]] = {
    "torchvision.models.resnet.BasicBlock": _torchvision_basic,
    "torchvision.models.resnet.Bottleneck": _torchvision_bottleneck,
    "efficientnet_lite_pytorch.model.MBConvBlock": _efficientnet_mbconv,
    "efficientnet_pytorch.model.MBConvBlock": _efficientnet_mbconv,
}


def residual_layout(module: nn.Module) -> ResidualLayout | None:
    """The layout of a known residual block, or None for any other module."""
    cls = type(module)
    maker = _LAYOUTS.get(f"{cls.__module__}.{cls.__qualname__}")
    return None if maker is None else maker(module)
