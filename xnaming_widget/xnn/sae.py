"""The SAE baseline: like SRAE but with plain mean-squared reconstruction instead of the log penalty."""
from __future__ import annotations

from ._neural import NeuralXNN, faithful_srae_loss
from .base import register


@register("sae")
class SAE(NeuralXNN):
    """Faithfulness + β·(1/S_z Σ_k Q_k) + η·pull-away: every dimension of Z is reconstructed."""

    def _group_loss(self, core, zs, y, w, e):
        p = self.params
        return faithful_srae_loss(core, zs, y, w, e, beta=p["beta"], q=p["q"], eta=p["eta"], reconstruction="mse")
