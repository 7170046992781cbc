"""The three terms of the SRAE loss (SPEC §2, eq. 5 of the XNN paper), batched over groups.

Every function takes torch tensors (differentiable, used in training) or numpy arrays
(returns numpy). A leading group axis G is optional: with it, one value per group comes
back, so a bank of C XNNs computes all its losses in one call.
"""
from __future__ import annotations

import numpy as np
import torch

_EPS = 1e-12


def _as_tensor(x) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def _out(value: torch.Tensor, numpy: bool):
    return value.detach().cpu().numpy() if numpy else value


def faithfulness(y_bar, y_hat, weights=None):
    """Weighted mean squared error ``1/M Σ_i w_i ‖ȳ_i − ŷ_i‖²``.

    Shapes: ``(M,)`` one score, ``(M, K)`` K scores (squared errors summed over K, as
    ‖·‖² in eq. 5), or ``(G, M, K)`` for G groups (returns ``(G,)``). ``weights`` is
    ``(M,)`` or ``(G, M)``; None means all ones.
    """
    y_bar, numpy = _as_tensor(y_bar)
    y_hat, _ = _as_tensor(y_hat)
    y_hat = y_hat.to(y_bar)
    if y_bar.shape != y_hat.shape:
        raise ValueError(f"y_bar {tuple(y_bar.shape)} and y_hat {tuple(y_hat.shape)} must have the same shape")
    if y_bar.dim() not in (1, 2, 3):
        raise ValueError(f"faithfulness takes (M,), (M, K) or (G, M, K) arrays, got {y_bar.dim()}-D")
    err = (y_bar - y_hat) ** 2
    per_example = err if y_bar.dim() == 1 else err.sum(-1)  # (M,) or (G, M)
    if weights is not None:
        w, _ = _as_tensor(weights)
        per_example = per_example * w.to(per_example)
    return _out(per_example.mean(-1), numpy)


def reconstruction_errors(Z_hat, Z) -> torch.Tensor:
    """``Q_k = 1/M Σ_i (Ẑ_ik − Z_ik)²`` per input dimension: ``(..., M, D)`` -> ``(..., D)``."""
    return ((Z_hat - Z) ** 2).mean(-2)


def sparse_reconstruction(Z_hat, Z, q: float):
    """Log-penalised reconstruction ``1/S_z Σ_k log(1 + q·Q_k)``.

    The log grows sublinearly, so a few dimensions of Z can stay unreconstructed at
    little cost: only the dimensions the x-features can carry get reconstructed.
    ``(M, D)`` -> scalar, ``(G, M, D)`` -> ``(G,)``; Z may omit the group axis.
    """
    if q <= 0:
        raise ValueError(f"q must be > 0 (the sparsity parameter of log(1 + q·Q)), got {q}")
    Z_hat, numpy = _as_tensor(Z_hat)
    Z, _ = _as_tensor(Z)
    Q = reconstruction_errors(Z_hat, Z.to(Z_hat))
    return _out(torch.log1p(q * Q).mean(-1), numpy)


def mean_squared_reconstruction(Z_hat, Z):
    """Plain reconstruction ``1/S_z Σ_k Q_k`` (the SAE and CAE baselines)."""
    Z_hat, numpy = _as_tensor(Z_hat)
    Z, _ = _as_tensor(Z)
    return _out(reconstruction_errors(Z_hat, Z.to(Z_hat)).mean(-1), numpy)


def pull_away(E):
    """Pull-away term ``1/(n(n−1)) Σ_{l≠l'} (E_lᵀE_l' / (‖E_l‖‖E_l'‖))²``.

    ``E`` is ``(M, n)`` (batch × x-features; column l is x-feature l over the batch) or
    ``(G, M, n)``. An all-zero column counts as orthogonal to everything. n = 1 gives 0.
    """
    E, numpy = _as_tensor(E)
    n = E.shape[-1]
    if n < 2:
        return _out(E.sum((-1, -2)) * 0.0, numpy)
    unit = E / E.norm(dim=-2, keepdim=True).clamp_min(_EPS)
    cosine = unit.transpose(-1, -2) @ unit  # (..., n, n)
    off_diagonal = (cosine ** 2).sum((-1, -2)) - (torch.diagonal(cosine, dim1=-2, dim2=-1) ** 2).sum(-1)
    return _out(off_diagonal / (n * (n - 1)), numpy)
