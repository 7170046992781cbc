"""How faithfully XNNs reproduce the classifier (definitions §2, XNN paper §4.2), as pure array functions.

- ``f_reg``: mean |ȳ − ŷ|; ``rmse``: its root-mean-square sibling;
- ``f_cls``: fraction of images whose arg-max class survives replacing ŷ_c by ȳ_c;
- ``xnn_accuracy``: accuracy when every class score is its XNN's ȳ;
- ``faithfulness_table``: all of them for a bank, one row per class plus an overall row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def _array(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def _pair(y_bar, y_hat) -> tuple[np.ndarray, np.ndarray]:
    y_bar, y_hat = _array(y_bar, "y_bar"), _array(y_hat, "y_hat")
    if y_bar.shape != y_hat.shape or y_bar.ndim not in (1, 2) or len(y_bar) == 0:
        raise ValueError(f"y_bar and y_hat must have the same non-empty (N,) or (N, C) shape, "
                         f"got {y_bar.shape} and {y_hat.shape}")
    return y_bar, y_hat


def f_reg(y_bar, y_hat):
    """Mean absolute error over images: a float for ``(N,)``, one per class for ``(N, C)``."""
    y_bar, y_hat = _pair(y_bar, y_hat)
    value = np.abs(y_bar - y_hat).mean(axis=0)
    return float(value) if value.ndim == 0 else value


def rmse(y_bar, y_hat):
    """Root mean squared error over images: a float for ``(N,)``, one per class for ``(N, C)``."""
    y_bar, y_hat = _pair(y_bar, y_hat)
    value = np.sqrt(((y_bar - y_hat) ** 2).mean(axis=0))
    return float(value) if value.ndim == 0 else value


def f_cls(logits, y_bar, c: int | None = None):
    """Fraction of images whose predicted class is unchanged when ŷ_c is replaced by ȳ_c.

    ``c`` an index and ``y_bar (N,)``: class c's F_cls (a float). ``c=None`` and
    ``y_bar (N, C)``: every class's F_cls at once (``(C,)``), each replacing only its own
    column. Ties go to the lower class index, as ``argmax`` does.
    """
    logits = _array(logits, "logits")
    y_bar = _array(y_bar, "y_bar")
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
    n_rows, n_classes = logits.shape
    if c is not None:
        if y_bar.shape != (n_rows,):
            raise ValueError(f"with a class index, y_bar must be (N,) = ({n_rows},), got {y_bar.shape}")
        if not -n_classes <= c < n_classes:
            raise ValueError(f"class index {c} out of range for {n_classes} classes")
        replaced = logits.copy()
        replaced[:, c] = y_bar
        return float((replaced.argmax(axis=1) == logits.argmax(axis=1)).mean())
    if y_bar.shape != logits.shape:
        raise ValueError(f"with c=None, y_bar must be (N, C) like logits {logits.shape}, got {y_bar.shape}; "
                         "pass c=<class index> for a single class")
    # Best other class for each (image, replaced class c): top-1 unless c is the top-1, then top-2.
    order = np.argsort(-logits, axis=1, kind="stable")
    top1, top2 = order[:, 0], order[:, 1] if n_classes > 1 else order[:, 0]
    classes = np.arange(n_classes)[None, :]
    other_index = np.where(classes == top1[:, None], top2[:, None], top1[:, None])  # (N, C)
    other_value = np.take_along_axis(logits, other_index, axis=1)
    if n_classes == 1:
        return np.ones(1)
    new_pred = np.where((y_bar > other_value) | ((y_bar == other_value) & (classes < other_index)),
                        classes, other_index)
    return (new_pred == top1[:, None]).mean(axis=0)


def xnn_accuracy(y_bar_all, labels) -> float:
    """Accuracy of the arg-max of the XNN scores ``(N, C)`` against integer ``labels (N,)``."""
    scores = _array(y_bar_all, "y_bar_all")
    labels = np.asarray(labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels)
    if scores.ndim != 2 or labels.shape != (len(scores),):
        raise ValueError(f"need y_bar_all (N, C) and labels (N,), got {scores.shape} and {labels.shape}")
    return float((scores.argmax(axis=1) == labels).mean())


def faithfulness_table(bank, Z, logits, labels) -> pd.DataFrame:
    """Per class F_reg, RMSE, F_cls of ``bank`` on ``(Z, logits)``, plus an ``"overall"`` row.

    The overall row averages the per-class columns and fills ``xnn_accuracy`` (all class
    scores replaced by ȳ) and ``dnn_accuracy`` (the logits), side by side.
    """
    logits = _array(logits, "logits")
    y_bar = bank.predict(Z)
    labels = np.asarray(labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels)
    table = pd.DataFrame({"F_reg": f_reg(y_bar, logits), "RMSE": rmse(y_bar, logits),
                          "F_cls": f_cls(logits, y_bar)}, index=pd.Index(list(bank.classes), name="class"))
    table["xnn_accuracy"] = np.nan
    table["dnn_accuracy"] = np.nan
    overall = table[["F_reg", "RMSE", "F_cls"]].mean()
    table.loc["overall"] = [overall["F_reg"], overall["RMSE"], overall["F_cls"],
                            xnn_accuracy(y_bar, labels), xnn_accuracy(logits, labels)]
    return table
