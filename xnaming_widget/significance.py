"""Which x-features explain a prediction (definitions §3): MSX (default) and top-fraction.

Both take contributions ``c_k = v_k E_k`` with x-features on the last axis and any leading
axes (images, classes), and return a boolean mask of the same shape. They sort each row once
(descending, ties by x-feature index via a stable sort) and read the answer off a cumulative
sum, so there is no Python loop over rows.
"""
from __future__ import annotations

import numpy as np
import torch


def _as_contributions(contrib) -> np.ndarray:
    if isinstance(contrib, torch.Tensor):
        contrib = contrib.detach().cpu().numpy()
    contrib = np.asarray(contrib, dtype=np.float64)
    if contrib.ndim == 0:
        raise ValueError("contributions must have x-features on the last axis, e.g. (N, n); got a scalar")
    if not np.isfinite(contrib).all():
        raise ValueError(f"contributions contain {int((~np.isfinite(contrib)).sum())} NaN/inf values; "
                         "check the XNN's inputs")
    return contrib


def _smallest_prefix(contrib: np.ndarray, enough) -> tuple[np.ndarray, np.ndarray]:
    """Keep the m largest positive terms of each row, m the first prefix length where
    ``enough(prefix_sums)`` holds (prefix_sums[..., j] = sum of the j largest positive terms).

    Returns the mask and whether any prefix satisfied ``enough``.
    """
    positive = np.clip(contrib, 0.0, None)
    order = np.argsort(-positive, axis=-1, kind="stable")  # descending, ties by index
    sorted_terms = np.take_along_axis(positive, order, axis=-1)
    zeros = np.zeros(contrib.shape[:-1] + (1,))
    prefix_sums = np.concatenate([zeros, np.cumsum(sorted_terms, axis=-1)], axis=-1)
    ok = enough(prefix_sums)
    reached = ok.any(axis=-1)
    n_positive = (contrib > 0).sum(axis=-1)
    needed = np.where(reached, ok.argmax(axis=-1), n_positive)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(contrib.shape[-1]), order.shape), axis=-1)
    mask = (rank < needed[..., None]) & (contrib > 0)
    return mask, reached


def msx(contrib, bias=None, *, return_sufficient: bool = False):
    """Minimal sufficient x-features: the fewest positive terms that outweigh the negative ones.

    With ``bias`` b: the smallest S with ``Σ_S c_k + Σ_{c_k<0} c_k + b > 0`` (b counts as
    evidence but is never part of S, so a large positive b can leave S empty). Without it:
    ``Σ_S c_k > Σ_{c_k<0} |c_k|``. Taking the largest terms first gives the minimum. When even
    all positive terms fall short, S is all of them and ``sufficient`` is False.

    ``contrib``: ``(..., n)``; ``bias``: None, a scalar or broadcastable to ``contrib.shape[:-1]``.
    Returns a bool mask ``(..., n)`` (and ``sufficient (...)`` when ``return_sufficient``).
    """
    contrib = _as_contributions(contrib)
    if bias is None:
        offset = np.zeros(contrib.shape[:-1])
    else:
        if isinstance(bias, torch.Tensor):
            bias = bias.detach().cpu().numpy()
        bias = np.asarray(bias, dtype=np.float64)
        try:
            offset = np.broadcast_to(bias, contrib.shape[:-1])
        except ValueError as exc:
            raise ValueError(f"bias of shape {bias.shape} does not match contributions {contrib.shape}: "
                             f"give a scalar or one value per row, shape {contrib.shape[:-1]}") from exc
    negative_sum = np.clip(contrib, None, 0.0).sum(axis=-1)
    evidence = (negative_sum + offset)[..., None]
    mask, sufficient = _smallest_prefix(contrib, lambda prefix: prefix + evidence > 0)
    return (mask, sufficient) if return_sufficient else mask


def top_fraction(contrib, frac: float = 0.9):
    """The fewest positive terms whose sum reaches ``frac`` of the sum of all positive terms.

    The formative study's rule (definitions §3). Rows without positive terms select nothing.
    ``contrib``: ``(..., n)``; returns a bool mask of the same shape.
    """
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"frac must be in (0, 1], got {frac}")
    contrib = _as_contributions(contrib)
    total = np.clip(contrib, 0.0, None).sum(axis=-1, keepdims=True)
    mask, _ = _smallest_prefix(contrib, lambda prefix: prefix >= frac * total)
    return mask
