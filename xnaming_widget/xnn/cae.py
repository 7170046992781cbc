"""The CAE baseline: an autoencoder trained on reconstruction only; v and b by least squares afterwards."""
from __future__ import annotations

import torch

from . import losses
from ._neural import NeuralXNN
from .base import register


@register("cae")
class CAE(NeuralXNN):
    """The embedding never sees ŷ; the head is the weighted least-squares fit of ŷ on [E, 1].

    ``beta``, ``q`` and ``eta`` are ignored (reconstruction is the whole loss).
    """

    def _group_loss(self, core, zs, y, w, e):
        return losses.mean_squared_reconstruction(core.decode(e), zs)

    def _finish(self, core, zs, Y, W):
        features = core.encode_standardised(zs).double().cpu()  # (G, N, n)
        design = torch.cat([features, torch.ones_like(features[..., :1])], dim=-1)
        root_w = W.double().cpu().clamp_min(0).sqrt()[..., None]
        # CPU lstsq (gelsy) copes with dead, all-zero x-features; CUDA's only driver does not
        solution = torch.linalg.lstsq(design * root_w, Y.double().cpu() * root_w).solution  # (G, n+1, K)
        core.v.copy_(solution[:, :-1, :].transpose(1, 2).to(core.v))
        core.b.copy_(solution[:, -1, :].to(core.b))
