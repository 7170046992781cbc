"""The Lasso baseline: an L1 linear model on Z whose non-zero coefficients are the "x-features".

x-feature j is one selected dimension d_j of Z, scaled: ``E_j = s_j · Z_{d_j} / σ_{d_j}`` with
``s_j = max_k |coef_{k, d_j}|`` (so for one output, ``E_j = |coef_j| · Z_{d_j} / σ_{d_j}``) and
``v_{k,j} = coef_{k,d_j} / s_j`` (±1 for one output). Then ``c_j = v_j E_j`` is exactly the
term coef·z of the standardised linear model. E is non-negative when Z is (post-ReLU layers);
there is no ReLU, so ``embedding_module()`` is a single ``nn.Linear`` that picks and scales.

With ``alpha=None`` the regularisation is chosen on the Lasso path as the weakest one that keeps
at most ``n_features`` dimensions; with an explicit ``alpha`` every non-zero coefficient is kept
(``n_features`` is then the largest support, unused slots are zero features with zero weight).
A bank of lasso XNNs fits one class after another (scikit-learn), not batched.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import lasso_path

from .._progress import progress
from ._core import BatchedXNN
from .._torch import resolve_device
from .base import ExplanationNetwork, register


@register("lasso")
class Lasso(ExplanationNetwork):
    """L1-regularised linear regression of ŷ on standardised Z (multi-task Lasso for K outputs)."""

    def __init__(self, n_features: int = 5, *, alpha: float | None = None, n_alphas: int = 100,
                 max_iter: int = 2000, device: str = "auto", progress: bool | None = None) -> None:
        if int(n_features) < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        if alpha is not None and alpha <= 0:
            raise ValueError(f"alpha must be > 0 (or None to choose it from n_features), got {alpha}")
        super().__init__(n_features=int(n_features), alpha=None if alpha is None else float(alpha),
                         n_alphas=int(n_alphas), max_iter=int(max_iter), device=device, progress=progress)

    def _fit_one(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Coefficients ``(K, D)`` of a Lasso on centred, weight-scaled X and y ``(N, K)``."""
        p = self.params
        target = y[:, 0] if y.shape[1] == 1 else y
        if p["alpha"] is not None:
            model = SkLasso(alpha=p["alpha"], fit_intercept=False, max_iter=p["max_iter"]).fit(X, target)
            return np.atleast_2d(model.coef_)
        _, coefs, _ = lasso_path(X, target, alphas=p["n_alphas"], max_iter=p["max_iter"])
        coefs = coefs.reshape(y.shape[1], X.shape[1], -1)  # (K, D, alphas), strongest penalty first
        support_sizes = (np.abs(coefs) > 0).any(axis=0).sum(axis=0)
        allowed = np.flatnonzero(support_sizes <= p["n_features"])
        return coefs[:, :, allowed[-1]]

    def _fit_groups(self, Z: np.ndarray, Y: np.ndarray, W: np.ndarray) -> BatchedXNN:
        p = self.params
        n_rows, in_dim = Z.shape
        groups, n_outputs = Y.shape[1], Y.shape[2]
        mean = Z.mean(axis=0)
        std = Z.std(axis=0)
        std[std < 1e-8] = 1.0
        zs = (Z - mean) / std
        coefs, intercepts = [], []
        bar = progress(range(groups), total=groups, desc="fitting lasso XNN(s)",
                       disable=None if p["progress"] is None else not p["progress"])
        for g in bar:  # scikit-learn fits one problem at a time
            w = W[g] / W[g].mean()
            x_mean = w @ zs / n_rows
            y_mean = w @ Y[:, g] / n_rows
            root_w = np.sqrt(w)[:, None]
            coef = self._fit_one((zs - x_mean) * root_w, (Y[:, g] - y_mean) * root_w)
            coefs.append(coef)
            intercepts.append(y_mean - coef @ x_mean)
        supports = [self._support(c) for c in coefs]
        if p["alpha"] is None:
            n_slots = p["n_features"]
        else:
            n_slots = max(1, max(len(s) for s in supports))
        core = BatchedXNN(groups, in_dim, (), n_slots, n_outputs, None, final_activation="none")
        encoder_w = torch.zeros(groups, in_dim, n_slots, dtype=torch.float64)
        encoder_b = torch.zeros(groups, n_slots, dtype=torch.float64)
        v = torch.zeros(groups, n_outputs, n_slots, dtype=torch.float64)
        b = torch.zeros(groups, n_outputs, dtype=torch.float64)
        for g, (coef, support) in enumerate(zip(coefs, supports)):
            scale = np.abs(coef[:, support]).max(axis=0) if len(support) else np.zeros(0)
            slots = np.arange(len(support))
            encoder_w[g, support, slots] = torch.as_tensor(scale)
            encoder_b[g, slots] = torch.as_tensor(scale * mean[support] / std[support])
            v[g][:, slots] = torch.as_tensor(coef[:, support] / scale)
            b[g] = torch.as_tensor(intercepts[g] - coef @ (mean / std))
        layer = core.encoder.layers[0]
        with torch.no_grad():
            layer.weight.copy_(encoder_w)
            layer.bias.copy_(encoder_b)
            core.v.copy_(v)
            core.b.copy_(b)
            core.z_mean.copy_(torch.as_tensor(mean))
            core.z_std.copy_(torch.as_tensor(std))
        return core.to(resolve_device(p["device"]))

    @staticmethod
    def _support(coef: np.ndarray) -> np.ndarray:
        """Selected dimensions, largest |coefficient| first (ties by index)."""
        strength = np.abs(coef).max(axis=0)
        chosen = np.flatnonzero(strength > 0)
        return chosen[np.argsort(-strength[chosen], kind="stable")]

    def support(self) -> np.ndarray:
        """Indices of Z used by the x-features (one per x-feature, -1 for an unused slot)."""
        weight = self._require_fitted().encoder.layers[0].weight[0].detach().cpu().numpy()  # (D, n)
        used = weight.any(axis=0)
        return np.where(used, weight.argmax(axis=0), -1)
