"""Data sets for the demos and tests: Fashion-MNIST from IDX files and a synthetic bird-parts set.

Both are torch ``Dataset``s yielding ``(float image tensor (C, H, W) in [0, 1], int label)`` with a
``.classes`` list, and keep the whole set as uint8 arrays (``.images``, ``.labels``) so that
training and feature extraction can work on big tensors instead of item by item.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ._idx import IDXFormatError, read_idx

__all__ = [
    "ImageArrayDataset",
    "FashionMNIST",
    "FASHION_MNIST_CLASSES",
    "load_fashion_mnist",
    "dataset_tensors",
    "PartsDataset",
    "make_parts_dataset",
    "IDXFormatError",
]

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
SYSTEM_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def _user_cache_dir() -> Path:
    """Root of xnaming-widget's user cache: ``$XNAMING_CACHE`` or ``~/.cache/xnaming-widget``."""
    env = os.environ.get("XNAMING_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "xnaming-widget"


@dataclass(eq=False)
class ImageArrayDataset(torch.utils.data.Dataset):
    """A labelled image set held as uint8 arrays: ``images`` (N, H, W) or (N, H, W, C), ``labels`` (N,).

    Items are ``(float32 tensor (C, H, W) scaled to [0, 1], int label)`` as models take them.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 (N, H, W) or (N, H, W, C), got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},) to match the images, "
                             f"got {self.labels.shape}")
        self.classes = list(self.classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self._to_tensor(self.images[index : index + 1])[0], int(self.labels[index])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one model input."""
        _, h, w, *c = self.images.shape
        return (c[0] if c else 1, h, w)

    @staticmethod
    def _to_tensor(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images))
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.float().div_(255.0).contiguous()

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images as one float tensor (N, C, H, W) in [0, 1] and labels as int64 (N,)."""
        return self._to_tensor(self.images), torch.from_numpy(self.labels.copy())

    def subset(self, indices: Sequence[int] | np.ndarray | slice) -> "ImageArrayDataset":
        """A new data set of the same type holding only ``indices`` (arrays are copied)."""
        idx = indices if isinstance(indices, slice) else np.asarray(indices, dtype=np.int64)
        return self._replace_rows(idx)

    def _replace_rows(self, idx) -> "ImageArrayDataset":
        return type(self)(images=self.images[idx].copy(), labels=self.labels[idx].copy(), classes=self.classes)


class FashionMNIST(ImageArrayDataset):
    """Fashion-MNIST: 28x28 greyscale clothing images in 10 classes (see ``load_fashion_mnist``)."""


def dataset_tensors(data) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images (N, C, H, W) float32 and labels (N,) int64 (or None) from any supported input.

    Accepts an ``ImageArrayDataset`` (fast path), any map-style Dataset of ``(image, label)``,
    a tensor / numpy array of images (labels None), or an ``(images, labels)`` pair.
    """
    if isinstance(data, ImageArrayDataset):
        return data.tensors()
    if isinstance(data, (torch.Tensor, np.ndarray)):
        x = torch.as_tensor(data)
        if x.ndim != 4:
            raise ValueError(f"an image batch must be 4-d (N, C, H, W), got shape {tuple(x.shape)}")
        return x.float(), None
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (int, float)):
        x, _ = dataset_tensors(data[0])
        y = torch.as_tensor(np.asarray(data[1])).long()
        if len(y) != len(x):
            raise ValueError(f"got {len(x)} images but {len(y)} labels")
        return x, y
    if isinstance(data, torch.utils.data.Dataset):
        loader = torch.utils.data.DataLoader(data, batch_size=512, shuffle=False)
        xs, ys = [], []
        for batch in loader:
            if isinstance(batch, (tuple, list)):
                xs.append(batch[0])
                ys.append(torch.as_tensor(batch[1]).long())
            else:
                xs.append(batch)
        x = torch.cat(xs).float()
        return x, (torch.cat(ys) if ys else None)
    raise TypeError(f"expected a Dataset, an image tensor/array (N, C, H, W) or an (images, labels) "
                    f"pair, got {type(data).__name__}")


def _candidate_dirs(root) -> list[Path]:
    dirs = []
    if root is not None:
        dirs.append(Path(root).expanduser())
    if os.environ.get("XNAMING_DATA"):
        dirs.append(Path(os.environ["XNAMING_DATA"]).expanduser())
    dirs += [SYSTEM_FASHION_MNIST_DIR, _user_cache_dir() / "fashion-mnist"]
    # torchvision's download layout is <root>/FashionMNIST/raw/
    return [p for d in dirs for p in (d, d / "fashion-mnist", d / "FashionMNIST" / "raw")]


def _find_file(dirs: list[Path], stem: str) -> Path | None:
    for d in dirs:
        for name in (stem + ".gz", stem):
            if (d / name).is_file():
                return d / name
    return None


def load_fashion_mnist(root: str | os.PathLike | None = None, split: str = "test",
                       download: bool = False) -> FashionMNIST:
    """Load a Fashion-MNIST split ("train": 60 000 images, "test": 10 000) from IDX files.

    Looks in ``root``, ``$XNAMING_DATA``, ``/usr/share/datasets/fashion-mnist`` (Debian package
    ``dataset-fashion-mnist``) and ``~/.cache/xnaming-widget/fashion-mnist`` (or under
    ``$XNAMING_CACHE``), for ``<prefix>-images-idx3-ubyte[.gz]`` and ``<prefix>-labels-idx1-ubyte[.gz]``.
    ``download=True`` fetches the files with torchvision into the user cache if none are found.
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    dirs = _candidate_dirs(root)
    paths = [_find_file(dirs, s) for s in stems]
    if None in paths and download:
        target = _user_cache_dir() / "fashion-mnist"
        import torchvision

        torchvision.datasets.FashionMNIST(str(target), train=(split == "train"), download=True)
        paths = [_find_file(dirs, s) for s in stems]
    if None in paths:
        missing = stems[paths.index(None)]
        searched = "\n  ".join(str(d) for d in dict.fromkeys(dirs))
        raise FileNotFoundError(
            f"Fashion-MNIST file {missing}[.gz] not found. Searched:\n  {searched}\n"
            "Fix: `apt-get install dataset-fashion-mnist`, or set XNAMING_DATA to a folder holding the "
            "IDX files, or pass root=..., or call load_fashion_mnist(..., download=True).")
    images = read_idx(paths[0], ndim=3)
    labels = read_idx(paths[1], ndim=1)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise IDXFormatError(f"{paths[0]}: expected uint8 images of 28x28, got {images.dtype} {images.shape}")
    if len(labels) != len(images):
        raise IDXFormatError(f"{paths[1]} holds {len(labels)} labels but {paths[0]} holds {len(images)} "
                             "images; the two files do not belong together.")
    if labels.size and (labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES)):
        raise IDXFormatError(f"{paths[1]}: labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    return FashionMNIST(images=images, labels=labels.astype(np.int64), classes=list(FASHION_MNIST_CLASSES))


def __getattr__(name: str):
    """``PartsDataset`` and ``make_parts_dataset`` live in ``parts_data``, which builds on
    ``ImageArrayDataset`` above; re-exported lazily so that importing either module first works."""
    if name in ("PartsDataset", "make_parts_dataset"):
        from . import parts_data

        return getattr(parts_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
