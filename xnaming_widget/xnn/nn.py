"""The NN baseline: an SRAE without reconstruction (β = 0), so there is no decoder to train."""
from __future__ import annotations

from ._neural import NeuralXNN, faithful_srae_loss
from .base import register


@register("nn")
class NN(NeuralXNN):
    """Faithfulness + pull-away only (definitions §2: ``nn`` is β = 0); ``beta`` is ignored."""

    uses_decoder = False

    def _group_loss(self, core, zs, y, w, e):
        return faithful_srae_loss(core, zs, y, w, e, beta=0.0, q=self.params["q"], eta=self.params["eta"],
                                  reconstruction="log")
