"""The chain image → DNN up to the XNN's layer → flatten → XNN embedding → x-features."""
from __future__ import annotations

import torch
from torch import nn

from .._torch import capture_output
from ._layers import resolve_layer

__all__ = ["XFeatureModel"]


class XFeatureModel(nn.Module):
    """One module mapping images (B, C, H, W) to the x-features (B, n) of an XNN.

    ``dnn``: the classifier; ``layer``: the dotted name of the layer the XNN was trained on
    (its output is flattened to Z, as ``models.FeatureExtractor`` does); ``xnn``: an
    ``ExplanationNetwork`` (its ``embedding_module()`` is used) or an ``nn.Module`` mapping Z
    to x-features. ``attribute(XFeatureModel(...), images)`` gives x-feature maps; the same
    call on ``dnn`` gives the 1-Heatmap baseline. The DNN stops at ``layer``: later layers
    never run.
    """

    def __init__(self, dnn: nn.Module, layer: str, xnn):
        super().__init__()
        if not isinstance(dnn, nn.Module):
            raise TypeError(f"dnn must be a torch nn.Module; got {type(dnn).__name__}")
        self.layer, _ = resolve_layer(dnn, layer)
        if isinstance(xnn, nn.Module):
            head = xnn
        elif hasattr(xnn, "embedding_module"):
            head = xnn.embedding_module()
        else:
            raise TypeError("xnn must be an ExplanationNetwork (with embedding_module()) or an nn.Module "
                            f"mapping layer features to x-features; got {type(xnn).__name__}")
        self.dnn = dnn
        self.head = head

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Z: the flattened output of ``layer`` (B, D)."""
        with capture_output(dict(self.dnn.named_modules())[self.layer], 0, stop=True) as captured:
            self.dnn(images)
        if not captured:
            raise RuntimeError(f"layer {self.layer!r} did not run in the DNN's forward pass")
        return torch.flatten(captured[0], 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
