"""Input checks shared by the XNN methods and the bank: clear messages that say how to fix the input."""
from __future__ import annotations

import numpy as np
import torch


def to_numpy(x, name: str) -> np.ndarray:
    """numpy or torch -> float64 numpy array (torch tensors are detached and moved to CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric numpy array or torch tensor, got {type(x).__name__}") from exc


def check_features(Z, in_dim: int | None = None) -> np.ndarray:
    """Z must be finite and 2-D ``(N, D)``; with ``in_dim`` its D must match the fitted one."""
    Z = to_numpy(Z, "Z")
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (N images, D features), got shape {Z.shape}; "
                         "flatten conv features first, e.g. Z.reshape(len(Z), -1)")
    if Z.shape[0] == 0:
        raise ValueError("Z has no rows; pass at least one example")
    bad_rows = ~np.isfinite(Z).all(axis=1)
    if bad_rows.any():
        raise ValueError(f"Z has NaN or inf values in {int(bad_rows.sum())} of {len(Z)} rows "
                         f"(first bad row: {int(np.flatnonzero(bad_rows)[0])}); drop or impute them first")
    if in_dim is not None and Z.shape[1] != in_dim:
        raise ValueError(f"Z has {Z.shape[1]} features but this XNN was fitted on {in_dim}; "
                         "pass features from the same layer")
    return Z


def check_targets(y, n_rows: int, name: str = "y") -> np.ndarray:
    """Targets must be finite, ``(N,)`` or ``(N, K)`` with the same N as Z."""
    y = to_numpy(y, name)
    if y.ndim not in (1, 2):
        raise ValueError(f"{name} must be (N,) one class score or (N, K) several, got shape {y.shape}")
    if y.shape[0] != n_rows:
        raise ValueError(f"Z has {n_rows} rows but {name} has {y.shape[0]}; they must describe the same images")
    bad = ~np.isfinite(y.reshape(n_rows, -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} has NaN or inf values in {int(bad.sum())} rows; drop those images first")
    return y


def check_sample_weight(weight, n_rows: int) -> np.ndarray | None:
    if weight is None:
        return None
    weight = to_numpy(weight, "sample_weight")
    if weight.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},), got {weight.shape}")
    if not np.isfinite(weight).all() or (weight < 0).any() or weight.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return weight
