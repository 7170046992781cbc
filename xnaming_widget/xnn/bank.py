"""One-vs-all XNNs for every class, trained together as one batched model (``fit_class_xnns``).

Class c's XNN regresses the DNN logit ŷ_c (definitions §2, XNN paper §4.2). All C networks live in
one ``BatchedXNN`` with stacked weights, share mini-batches and one optimiser, so a bank costs
about one XNN's worth of Python overhead. Because class c is initialised from ``seed + c`` and
its loss only touches its own weights, ``bank[c]`` equals ``XNN(seed=seed + c, batch_seed=seed)``
fitted alone with the same sample weights.

Class balance (default ``balance=True``): an image is a *positive* of class c when the DNN
predicts c (arg-max of the logits) or, if ``labels`` are given, its label is c. With p the
fraction of positives, positives get weight 0.5/p and negatives 0.5/(1-p): both sides carry
half the faithfulness loss and the weights average 1. The rare class-c images are exactly the
ones whose score decides F_cls, hence the up-weighting.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .._files import save_torch_atomic
from ._core import BatchedXNN
from ._validate import check_features, to_numpy
from .base import (FILE_VERSION, _PREDICT_CHUNK, ExplanationNetwork, _load_device, method_class,
                   read_saved)

BANK_FORMAT = "xnaming-widget/xnn-bank"


def class_positives(logits, labels=None) -> np.ndarray:
    """``(C, N)`` bool: image i is a positive of class c if the DNN predicts c or its label is c."""
    logits = to_numpy(logits, "logits")
    positives = logits.argmax(axis=1)[None, :] == np.arange(logits.shape[1])[:, None]
    if labels is not None:
        labels = np.asarray(to_numpy(labels, "labels"), dtype=np.int64)
        positives |= labels[None, :] == np.arange(logits.shape[1])[:, None]
    return positives


def balanced_weights(positives: np.ndarray) -> np.ndarray:
    """``(C, N)`` weights 0.5/p for positives and 0.5/(1-p) for negatives (p per class); mean 1."""
    positives = np.asarray(positives, dtype=bool)
    p = positives.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        weights = np.where(positives, 0.5 / p, 0.5 / (1.0 - p))
    all_positive = (p[:, 0] >= 1.0)
    weights[all_positive] = 1.0
    return weights


def _class_names(classes, n_classes: int) -> list[str]:
    if classes is None:
        return [str(c) for c in range(n_classes)]
    names = [str(c) for c in classes]
    if len(names) != n_classes:
        raise ValueError(f"classes has {len(names)} names but logits has {n_classes} columns; "
                         "give one name per logit column")
    if len(set(names)) != len(names):
        raise ValueError(f"class names must be unique, got {names}")
    return names


def fit_class_xnns(Z, logits, classes=None, *, method: str = "srae", labels=None, balance: bool = True,
                   **params) -> "XNNBank":
    """Train one XNN per class (column of ``logits``) on features ``Z (N, D)``, all at once.

    ``classes``: names of the logit columns; ``labels`` (N,) optional true labels (they add
    positives, see the module docstring); ``balance``: up-weight each class's positives;
    ``params``: hyper-parameters of the method (e.g. ``n_features``, ``hidden``, ``epochs``).
    """
    Z = check_features(Z)
    logits = to_numpy(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (N images, C classes), got shape {logits.shape}")
    if logits.shape[0] != len(Z):
        raise ValueError(f"Z has {len(Z)} rows but logits has {logits.shape[0]}; they must describe the same images")
    if not np.isfinite(logits).all():
        raise ValueError("logits contain NaN or inf; drop those images first")
    if labels is not None and np.asarray(to_numpy(labels, "labels")).shape != (len(Z),):
        raise ValueError(f"labels must have shape ({len(Z)},), got {np.asarray(labels).shape}")
    names = _class_names(classes, logits.shape[1])
    positives = class_positives(logits, labels)
    empty = [names[c] for c in np.flatnonzero(~positives.any(axis=1))]
    if empty:
        raise ValueError(f"no examples of class(es) {empty}: no image is predicted as (or labelled) them, "
                         "so their one-vs-all XNN cannot learn what makes them; add such images or drop those "
                         "logit columns (and their names) before fitting")
    weights = balanced_weights(positives) if balance else np.ones(positives.shape)
    xnn = method_class(method)(**params)
    core = xnn._fit_groups(Z, logits[:, :, None], weights)
    return XNNBank(names, method, xnn.params, core, history=getattr(xnn, "history", None))


class XNNBank:
    """C one-vs-all XNNs in one batched model. ``bank[c]`` (name or index) is class c's XNN."""

    def __init__(self, classes: list[str], method: str, params: dict, core: BatchedXNN,
                 history: np.ndarray | None = None) -> None:
        self.classes = list(classes)
        self.method = method
        self.params = dict(params)
        self._core = core
        self.history = history

    def __repr__(self) -> str:
        return f"XNNBank(method={self.method!r}, classes={self.classes}, n_features={self.n_features})"

    def __len__(self) -> int:
        return len(self.classes)

    def index(self, c) -> int:
        """Column index of class ``c`` (a name or an index)."""
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not -len(self.classes) <= c < len(self.classes):
                raise IndexError(f"class index {c} out of range for {len(self.classes)} classes")
            return int(c) % len(self.classes)
        if str(c) in self.classes:
            return self.classes.index(str(c))
        raise KeyError(f"unknown class {c!r}; this bank has {self.classes}")

    def __getitem__(self, c) -> ExplanationNetwork:
        """Class c's XNN as a standalone ``ExplanationNetwork`` (a copy of its slice of the bank).

        Its ``params`` carry ``seed + c`` and the bank's batch order, so
        ``XNN(method, **bank[c].params)`` retrains the same network on its own.
        """
        i = self.index(c)
        params = dict(self.params)
        if "seed" in params:
            params["batch_seed"] = params["seed"] if params.get("batch_seed") is None else params["batch_seed"]
            params["seed"] = params["seed"] + i
        return method_class(self.method)._from_core(self._core.select([i]), params, multi_output=False)

    @property
    def n_features(self) -> int:
        return self._core.n_features

    def _run(self, Z) -> tuple[np.ndarray, np.ndarray]:
        """x-features ``(N, C, n)`` and scores ``(N, C)`` for every class, in chunks without grad."""
        Z = check_features(Z, self._core.in_dim)
        device = self._core.z_mean.device
        features, scores = [], []
        with torch.no_grad():
            for start in range(0, len(Z), _PREDICT_CHUNK):
                chunk = torch.as_tensor(Z[start:start + _PREDICT_CHUNK], dtype=torch.float32, device=device)
                e = self._core.encode(chunk)  # (C, B, n)
                features.append(e.transpose(0, 1).cpu())
                scores.append(self._core.head(e)[..., 0].T.cpu())
        return torch.cat(features).numpy(), torch.cat(scores).numpy()

    def transform(self, Z) -> np.ndarray:
        """x-features of every class's XNN: ``(N, C, n)``."""
        return self._run(Z)[0]

    def predict(self, Z) -> np.ndarray:
        """ȳ for every class: ``(N, C)``, comparable column by column with the logits."""
        return self._run(Z)[1]

    def contributions(self, Z) -> np.ndarray:
        """``c_k = v_k E_k`` for every class: ``(N, C, n)``."""
        return self._run(Z)[0] * self.weights[None]

    @property
    def weights(self) -> np.ndarray:
        """v of every class: ``(C, n)``."""
        return self._core.v[:, 0, :].detach().cpu().numpy()

    @property
    def bias(self) -> np.ndarray:
        """b of every class: ``(C,)``."""
        return self._core.b[:, 0].detach().cpu().numpy()

    def save(self, path) -> Path:
        """Write one file: the stacked state dict plus a JSON config (classes, method, params)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {"classes": self.classes, "method": self.method, "params": self.params,
                  "network": self._core.config()}
        save_torch_atomic({"format": BANK_FORMAT, "version": FILE_VERSION, "config": json.dumps(config),
                    "state_dict": {k: v.detach().cpu() for k, v in self._core.state_dict().items()}}, path)  # atomic: an interrupted save leaves the old file
        return path

    @classmethod
    def load(cls, path) -> "XNNBank":
        """Read a file written by ``XNNBank.save`` (``torch.load(weights_only=True)``)."""
        config, state = read_saved(path, BANK_FORMAT)
        method_class(config["method"])  # fail early on an unknown method
        core = BatchedXNN.from_config(config["network"])
        core.load_state_dict(state)
        core = core.to(_load_device(config["params"].get("device", "auto")))
        return cls(config["classes"], config["method"], config["params"], core)
