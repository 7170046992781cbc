"""SRAE, the XNN paper's method: faithfulness + sparse (log-penalised) reconstruction + pull-away."""
from __future__ import annotations

from ._neural import NeuralXNN, faithful_srae_loss
from .base import register


@register("srae")
class SRAE(NeuralXNN):
    """Sparse Reconstruction Autoencoder (definitions §2, eq. 5): reconstructs only the dimensions of Z
    the few x-features can carry, which keeps them diverse and non-degenerate."""

    def _group_loss(self, core, zs, y, w, e):
        p = self.params
        return faithful_srae_loss(core, zs, y, w, e, beta=p["beta"], q=p["q"], eta=p["eta"], reconstruction="log")
