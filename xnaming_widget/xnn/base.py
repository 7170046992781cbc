"""The interface every XNN method shares, and the registry that maps method names to classes.

An ``ExplanationNetwork`` learns ``E = E_θ(Z)`` (n non-negative x-features) and
``ȳ = vᵀE + b`` that reproduces one or K class scores (definitions §2). Methods differ only in
how they train; all of them store the result in a ``BatchedXNN`` with one group, so
transform / predict / contributions / embedding_module / save / load are written once here.
A method trains G groups at once in ``_fit_groups``; a single XNN is a bank of one.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .._files import save_torch_atomic
from ._core import BatchedXNN
from .._torch import resolve_device
from ._validate import check_features, check_sample_weight, check_targets

FILE_FORMAT = "xnaming-widget/xnn"
FILE_VERSION = 1
_PREDICT_CHUNK = 8192

_REGISTRY: dict[str, type["ExplanationNetwork"]] = {}


def register(name: str):
    """Class decorator: make a method available as ``XNN(method=name)``."""
    def decorate(cls: type["ExplanationNetwork"]) -> type["ExplanationNetwork"]:
        cls.method = name
        _REGISTRY[name] = cls
        return cls
    return decorate


def available_methods() -> list[str]:
    """Names accepted by ``XNN(method=...)``."""
    from . import cae, lasso, nn, sae, srae  # noqa: F401  (importing registers them)

    return sorted(_REGISTRY)


def method_class(method: str) -> type["ExplanationNetwork"]:
    """The class registered under ``method``; a clear error lists the valid names."""
    valid = available_methods()
    if method not in _REGISTRY:
        raise ValueError(f"unknown XNN method {method!r}; choose one of {valid}")
    return _REGISTRY[method]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


class ExplanationNetwork(ABC):
    """One XNN: fit on layer features Z and class scores ŷ, then explain with x-features.

    ``fit(Z, y)`` takes ``Z (N, D)`` and ``y (N,)`` (one class score) or ``(N, K)``
    (K scores from one set of x-features, e.g. 7 x-features for 4 classes).
    """

    method: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        self.params = {k: _jsonable(v) for k, v in params.items()}
        self._core: BatchedXNN | None = None
        self.multi_output = False

    def __repr__(self) -> str:
        state = "fitted" if self._core is not None else "not fitted"
        return f"{type(self).__name__}(method={self.method!r}, {state}, {self.params})"

    # ----------------------------------------------------------------- training
    def fit(self, Z, y, sample_weight=None) -> "ExplanationNetwork":
        """Train on ``Z (N, D)`` and ``y (N,)`` or ``(N, K)``; ``sample_weight (N,)`` scales each example."""
        Z = check_features(Z)
        y = check_targets(y, len(Z))
        weight = check_sample_weight(sample_weight, len(Z))
        self.multi_output = y.ndim == 2
        targets = y.reshape(len(Z), 1, -1)
        weights = (np.ones((1, len(Z))) if weight is None else weight[None, :])
        self._core = self._fit_groups(Z, targets, weights)
        return self

    @abstractmethod
    def _fit_groups(self, Z: np.ndarray, Y: np.ndarray, W: np.ndarray) -> BatchedXNN:
        """Train G XNNs at once: ``Z (N, D)``, ``Y (N, G, K)``, ``W (G, N)`` -> a ``BatchedXNN``."""

    # ----------------------------------------------------------------- use
    def _require_fitted(self) -> BatchedXNN:
        if self._core is None:
            raise RuntimeError(f"this {self.method} XNN is not fitted yet; call .fit(Z, y) first "
                               "(or load one with XNN.load(path))")
        return self._core

    def _run(self, Z) -> tuple[np.ndarray, np.ndarray]:
        """x-features ``(N, n)`` and scores ``(N, K)`` of group 0, computed in chunks without grad."""
        core = self._require_fitted()
        Z = check_features(Z, core.in_dim)
        device = core.z_mean.device
        features, scores = [], []
        with torch.no_grad():
            for start in range(0, len(Z), _PREDICT_CHUNK):
                chunk = torch.as_tensor(Z[start:start + _PREDICT_CHUNK], dtype=torch.float32, device=device)
                e = core.encode(chunk)
                features.append(e[0].cpu())
                scores.append(core.head(e)[0].cpu())
        return torch.cat(features).numpy(), torch.cat(scores).numpy()

    def transform(self, Z) -> np.ndarray:
        """x-features ``E (N, n)``, non-negative."""
        return self._run(Z)[0]

    def predict(self, Z) -> np.ndarray:
        """ȳ = vᵀE + b: ``(N,)`` or ``(N, K)`` for a multi-output XNN."""
        scores = self._run(Z)[1]
        return scores if self.multi_output else scores[:, 0]

    def contributions(self, Z) -> np.ndarray:
        """``c_k = v_k · E_k``: ``(N, n)`` or ``(N, K, n)`` for a multi-output XNN."""
        features = self._run(Z)[0]
        contrib = features[:, None, :] * self.weights.reshape(-1, features.shape[1])[None]
        return contrib if self.multi_output else contrib[:, 0]

    @property
    def weights(self) -> np.ndarray:
        """v: ``(n,)`` or ``(K, n)``."""
        v = self._require_fitted().v[0].detach().cpu().numpy()
        return v if self.multi_output else v[0]

    @property
    def bias(self):
        """b: a float, or ``(K,)`` for a multi-output XNN."""
        b = self._require_fitted().b[0].detach().cpu().numpy()
        return b if self.multi_output else float(b[0])

    @property
    def n_features(self) -> int:
        return self._require_fitted().n_features

    def embedding_module(self) -> torch.nn.Sequential:
        """``nn.Sequential`` of ``nn.Linear``/``nn.ReLU`` mapping raw ``(B, D)`` Z to ``(B, n)`` x-features.

        The input standardisation is folded into the first Linear, so excitation backprop
        and autograd go through it like any MLP. It is a copy: training it does not change
        this XNN.
        """
        return self._require_fitted().embedding(0)

    # ----------------------------------------------------------------- persistence
    def config(self) -> dict:
        """JSON-able description: method, hyper-parameters and network shape."""
        core = self._require_fitted()
        return {"method": self.method, "params": self.params, "multi_output": self.multi_output,
                "network": core.config()}

    def save(self, path) -> Path:
        """Write one file: a torch state dict plus the JSON config (loadable with weights_only=True)."""
        path = Path(path)
        core = self._require_fitted()
        path.parent.mkdir(parents=True, exist_ok=True)
        save_torch_atomic({"format": FILE_FORMAT, "version": FILE_VERSION, "config": json.dumps(self.config()),
                    "state_dict": {k: v.detach().cpu() for k, v in core.state_dict().items()}}, path)  # atomic: an interrupted save leaves the old file
        return path

    @classmethod
    def _from_core(cls, core: BatchedXNN, params: dict, multi_output: bool) -> "ExplanationNetwork":
        xnn = cls(**params)
        xnn._core = core
        xnn.multi_output = multi_output
        return xnn

    @staticmethod
    def load(path) -> "ExplanationNetwork":
        """Read a file written by ``save``; returns an instance of the saved method's class."""
        config, state = read_saved(path, FILE_FORMAT)
        core = BatchedXNN.from_config(config["network"])
        core.load_state_dict(state)
        cls = method_class(config["method"])
        core = core.to(_load_device(config["params"].get("device", "auto")))
        return cls._from_core(core, config["params"], config["multi_output"])


def _load_device(device) -> torch.device:
    resolved = resolve_device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolved


def read_saved(path, expected_format: str) -> tuple[dict, dict]:
    """Load ``{"format", "config", "state_dict"}`` safely (weights_only) and check its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved XNN at {path}")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != expected_format:
        found = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"{path} is not a {expected_format} file (found {found!r})")
    if blob.get("version") != FILE_VERSION:
        raise ValueError(f"{path} has version {blob.get('version')}, this library reads {FILE_VERSION}")
    return json.loads(blob["config"]), blob["state_dict"]
