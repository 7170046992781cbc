"""The three terms of the SRAE loss (definitions §2, eq. 5 of the XNN paper), batched over groups.

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


class _MeanSquaredError(torch.autograd.Function):
    """``mean over rows of (Ẑ − Z)²`` whose backward is ONE pass, ``2(Ẑ − Z)·dQ/M``.

    Autograd of ``((Ẑ − Z) ** 2).mean(-2)`` spends four element-wise passes over the
    ``(G, M, D)`` residual on the way back (mean, then pow's two multiplies and a copy); this
    is the largest element-wise tensor of a training step. Same values, same gradients.
    """

    @staticmethod
    def forward(ctx, Z_hat: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        residual = Z_hat - Z
        ctx.save_for_backward(residual)
        ctx.shapes = (Z_hat.shape, Z.shape)
        return (residual * residual).mean(-2)

    @staticmethod
    def backward(ctx, grad_Q: torch.Tensor):
        (residual,) = ctx.saved_tensors
        grad = residual * (grad_Q.unsqueeze(-2) * (2.0 / residual.shape[-2]))
        z_hat_shape, z_shape = ctx.shapes
        grad_Z_hat = grad.sum_to_size(z_hat_shape) if ctx.needs_input_grad[0] else None
        grad_Z = (-grad).sum_to_size(z_shape) if ctx.needs_input_grad[1] else None
        return grad_Z_hat, grad_Z


def reconstruction_errors(Z_hat, Z) -> torch.Tensor:
    """``Q_k = 1/M Σ_i (Ẑ_ik − Z_ik)²`` per input dimension: ``(..., M, D)`` -> ``(..., D)``.

    Z may omit leading (group) axes of Ẑ; it broadcasts.
    """
    return _MeanSquaredError.apply(Z_hat, Z)


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
