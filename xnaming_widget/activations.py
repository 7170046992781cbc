"""The activation set the naming widget shows (definitions §5): one row per image × explained
category × x-feature, with a heatmap and PNG thumbnail for every significant one.

:func:`build_activations` makes it from a classifier, a layer and an XNN bank; with
``out_dir`` it writes its work in chunks as it goes, so an interrupted run resumes where it
stopped. :class:`ActivationSet` saves and loads with numpy, JSON and CSV only (never pickle,
people share these folders) and carries a content fingerprint that namings record.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from . import _activation_store as store
from ._progress import progress
from .thumbnails import DEFAULT_ALPHA, DEFAULT_CMAP, image_pngs, overlay_pngs, to_display_rgb

__all__ = ["ActivationSet", "build_activations", "activation_id", "image_id", "COLUMNS"]

COLUMNS = store.COLUMNS
_MANIFEST = "manifest.json"


def image_id(index: int) -> str:
    """The stable id of the data set's image ``index``: ``"img00042"``."""
    return f"img{int(index):05d}"


def activation_id(category: str, index: int, xfeature: int) -> str:
    """The stable id of one activation: ``"Sneaker/img00042/x3"``."""
    return f"{category}/{image_id(index)}/x{int(xfeature)}"


class ActivationSet:
    """Activations with their images, heatmaps (float16) and PNG thumbnails.

    ``table``: definitions §5 columns, index 0..R-1. ``image_ids`` / ``images`` (uint8 (M, H, W, 3),
    display pixels): every image the table refers to. ``heatmap_rows`` (R,): for each table row
    its index into ``heatmaps`` (S, H, W), or -1 (only significant rows have heatmaps).
    ``thumbnails`` (S PNGs, heatmap over image) and ``image_thumbnails`` (M PNGs, plain image)
    are aligned with ``heatmaps`` and ``image_ids``. ``meta`` is JSON-able provenance.
    """

    ids_unique = True  # the table's activation ids were checked unique when the set was made

    def __init__(self, table: pd.DataFrame, image_ids: Sequence[str], images: Any,
                 heatmap_rows: Any, heatmaps: Any, thumbnails: Sequence[bytes],
                 image_thumbnails: Sequence[bytes], *, categories: Sequence[str] | None = None,
                 meta: dict | None = None, fingerprint_version: int = store.SCHEMA_VERSION,
                 _table_csv: str | None = None, descriptors: Any = None, _fingerprint: str | None = None,
                 _canonical: bool = False):
        # _canonical: the table is canonical already (load); _fingerprint: the fingerprint the
        # caller vouches for (load, when the files are unchanged since they were last hashed)
        self.table = table if _canonical else store.canonical_table(table)
        self.image_ids = [str(i) for i in image_ids]
        # arrays as given (a loaded set's are read-only memory maps of its files)
        self.images = np.ascontiguousarray(images, dtype=np.uint8)
        self.heatmap_rows = np.asarray(heatmap_rows, dtype=np.int64)
        self.heatmaps = np.ascontiguousarray(heatmaps, dtype=np.float16)
        # PNGs packed end to end (store.PackedBlobs: a sequence of bytes)
        self.thumbnails = store.PackedBlobs.of(thumbnails)
        # (S, d) float16 aligned with heatmaps, or None (sets built without, or saved before them)
        self.descriptors = None if descriptors is None else np.ascontiguousarray(descriptors, dtype=np.float16)
        # descriptors computed afterwards for a set without them (assist.add_descriptors): not fingerprinted
        self.computed_descriptors: np.ndarray | None = None
        self.folder: Path | None = None  # the folder the set was loaded from, if any
        self.image_thumbnails = store.PackedBlobs.of(image_thumbnails)
        self._table_categories = self.table["category"].unique().tolist()  # in order of appearance
        self.categories = list(categories) if categories is not None else list(self._table_categories)
        self.meta = dict(meta or {})
        self._check()
        self._rows_by_id: dict[str, int] | None = None  # built when first asked
        self._images_by_id: dict[str, int] | None = None
        self.fingerprint_version = fingerprint_version
        self.fingerprint = _fingerprint or self._content_fingerprint(_table_csv)
        # fingerprints of the sets this one was cut from: their namings stay valid here
        self.parent_fingerprints: tuple[str, ...] = ()

    @property
    def _row_of(self) -> dict[str, int]:
        if self._rows_by_id is None:
            self._rows_by_id = {a: i for i, a in enumerate(self.table["activation_id"].tolist())}
        return self._rows_by_id

    @property
    def _image_of(self) -> dict[str, int]:
        if self._images_by_id is None:
            self._images_by_id = {a: i for i, a in enumerate(self.image_ids)}
        return self._images_by_id

    def _content_fingerprint(self, table_csv: str | None = None) -> str:
        return store.content_fingerprint(self.table, self.image_ids, self.images, self.heatmap_rows, self.heatmaps,
                                         (self.thumbnails, self.image_thumbnails), version=self.fingerprint_version,
                                         table_csv=table_csv, descriptors=self.descriptors)

    def _check(self) -> None:
        rows, n_maps = len(self.table), len(self.heatmaps)
        if self.descriptors is not None and (self.descriptors.ndim != 2 or len(self.descriptors) != n_maps):
            raise ValueError(f"descriptors must be (S, d) with one row per heatmap ({n_maps}); got "
                             f"{self.descriptors.shape}")
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or len(self.images) != len(self.image_ids):
            raise ValueError(f"images must be uint8 (M, H, W, 3) with one per image id "
                             f"({len(self.image_ids)}); got shape {self.images.shape}")
        if len(set(self.image_ids)) != len(self.image_ids):
            raise ValueError("image ids must be unique")
        unknown = set(self.table["image_id"].unique().tolist()) - set(self.image_ids)
        if unknown:
            raise ValueError(f"the table refers to images that are not in the set: {sorted(unknown)[:3]}")
        if self.heatmap_rows.shape != (rows,):
            raise ValueError(f"heatmap_rows must have one entry per table row ({rows}), "
                             f"got shape {self.heatmap_rows.shape}")
        used = self.heatmap_rows[self.heatmap_rows >= 0]
        if used.size and (used.max() >= n_maps or len(np.unique(used)) != used.size):
            raise ValueError("heatmap_rows must point at distinct heatmaps within range")
        if self.heatmaps.ndim != 3 or (n_maps and self.heatmaps.shape[1:] != self.images.shape[1:3]):
            raise ValueError(f"heatmaps must be (S, H, W) at the images' resolution "
                             f"{self.images.shape[1:3]}; got {self.heatmaps.shape}")
        if len(self.thumbnails) != n_maps or len(self.image_thumbnails) != len(self.image_ids):
            raise ValueError("there must be one thumbnail per heatmap and one per image")
        extra = set(self._table_categories) - set(self.categories)
        if extra:
            raise ValueError(f"table categories {sorted(extra)} are missing from categories")

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"ActivationSet({len(self.table)} activations, {int(self.table['significant'].sum())} "
                f"significant, {len(self.image_ids)} images, categories={self.categories}, "
                f"fingerprint={self.fingerprint!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActivationSet) and self.fingerprint == other.fingerprint \
            and self.categories == other.categories and self.thumbnails == other.thumbnails \
            and self.image_thumbnails == other.image_thumbnails and self.meta == other.meta \
            and (self.descriptors is None) == (other.descriptors is None)

    def _row(self, activation: str) -> int:
        try:
            return self._row_of[activation]
        except KeyError:
            raise KeyError(f"no activation {activation!r} in this set; ids look like "
                           f"{self.table['activation_id'].iloc[0]!r}" if len(self.table) else
                           f"no activation {activation!r}: this set is empty") from None

    def _image(self, image: str) -> int:
        try:
            return self._image_of[image]
        except KeyError:
            raise KeyError(f"no image {image!r} in this set; ids look like 'img00042'") from None

    def heatmap(self, activation: str) -> np.ndarray | None:
        """The float32 (H, W) heatmap of an activation, or None if it is not significant."""
        index = self.heatmap_rows[self._row(activation)]
        return None if index < 0 else self.heatmaps[index].astype(np.float32)

    def thumbnail(self, activation: str) -> bytes | None:
        """PNG bytes of the heatmap over its image, or None if the activation is not significant."""
        index = self.heatmap_rows[self._row(activation)]
        return None if index < 0 else self.thumbnails[index]

    def image_thumbnail(self, image: str) -> bytes | None:
        """PNG bytes of the plain image (for side-by-side preview)."""
        return self.image_thumbnails[self._image(image)]

    def image(self, image: str) -> np.ndarray:
        """The uint8 (H, W, 3) display pixels of an image."""
        return self.images[self._image(image)]

    def for_category(self, category: str) -> "ActivationSet":
        """The activations of one explained category (its own images, heatmaps, fingerprint)."""
        if category not in self.categories:
            raise KeyError(f"no category {category!r} in this set; it has {self.categories}")
        return self._subset(np.flatnonzero(self.table["category"].to_numpy() == category), [category])

    def _subset(self, rows: np.ndarray, categories: list[str]) -> "ActivationSet":
        table = self.table.iloc[rows]
        images = table["image_id"].unique().tolist()
        image_index = np.array([self._image_of[i] for i in images], dtype=np.int64)
        old_maps = self.heatmap_rows[rows]
        keep = old_maps >= 0
        new_rows = np.full(len(rows), -1, dtype=np.int64)
        new_rows[keep] = np.arange(int(keep.sum()))
        subset = ActivationSet(table, images, self.images[image_index], new_rows,
                               self.heatmaps[old_maps[keep]], self.thumbnails.take(old_maps[keep]),
                               self.image_thumbnails.take(image_index), categories=categories,
                               meta=self.meta,
                               descriptors=None if self.descriptors is None else self.descriptors[old_maps[keep]])
        subset.parent_fingerprints = (self.fingerprint, *self.parent_fingerprints)
        if self.computed_descriptors is not None:
            subset.computed_descriptors = self.computed_descriptors[old_maps[keep]]
        return subset

    # ------------------------------------------------------------------ files
    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the set to ``directory`` (numpy, JSON and CSV; the manifest is written last).

        A folder that holds another activation set is refused unless ``overwrite=True`` (namings
        made on that set would lose their set); saving the same set again is harmless. The
        content is hashed once more first (:meth:`verify`): a set whose arrays were changed in
        place since it was made is refused rather than saved under a fingerprint that is not its.
        """
        directory = Path(directory)
        table_csv = store.table_to_csv(self.table)
        # what is written is what the fingerprint says (arrays changed in place since would
        # otherwise be saved under the old fingerprint, and loads would trust it)
        self.verify(_table_csv=table_csv)
        manifest_path = directory / _MANIFEST
        if manifest_path.is_file():
            try:
                existing = store.read_json(manifest_path).get("fingerprint")
            except (ValueError, OSError, AttributeError):
                existing = "(unreadable manifest)"
            if existing != self.fingerprint and not overwrite:
                raise FileExistsError(
                    f"{directory} already holds another activation set (fingerprint {existing}, this one is "
                    f"{self.fingerprint}); namings made on it would lose their set. Choose another folder, or "
                    "pass overwrite=True to replace it.")
            manifest_path.unlink()  # until the new manifest is written, the folder holds no set
        (directory / store.VERIFIED).unlink(missing_ok=True)
        directory.mkdir(parents=True, exist_ok=True)
        store.write_text_atomic(directory / "table.csv", table_csv)
        arrays = {"images": self.images, "heatmaps": self.heatmaps, "heatmap_rows": self.heatmap_rows}
        for name, blobs in (("thumbnails", self.thumbnails), ("image_thumbnails", self.image_thumbnails)):
            arrays[name], arrays[f"{name}_offsets"] = store.pack_blobs(blobs)
        if self.descriptors is not None:
            arrays["descriptors"] = self.descriptors
        else:
            (directory / "descriptors.npy").unlink(missing_ok=True)
        for name, array in arrays.items():
            store.save_npy_atomic(directory / f"{name}.npy", array)
        store.write_json(directory / _MANIFEST, {
            "schema": store.SCHEMA, "schema_version": self.fingerprint_version,
            "fingerprint": self.fingerprint, "categories": self.categories,
            "image_ids": self.image_ids, "n_activations": len(self.table),
            "n_significant": int(self.table["significant"].sum()), "meta": self.meta,
            "descriptors": self.descriptors is not None,
        })
        # the files hold this set's content, whose fingerprint was computed from it: a load need
        # not hash them again while they stay as written (see load)
        store.record_verified(directory, _set_files(self.descriptors is not None), self.fingerprint)
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, verify: bool | None = None) -> "ActivationSet":
        """Read a set written by :meth:`save`, its arrays mapped read-only into memory.

        The fingerprint guards namings from being read against another set, so the files must
        hold what the manifest's fingerprint says. Hashing all of them costs about as much as
        reading them (seconds at 100,000 activations), so by default (``verify=None``) it is
        done only when needed: the folder's ``verified.json`` records each file's size, mtime,
        ctime and inode as they were when its content was last hashed and matched (by
        :meth:`save`, or by a load that hashed). If any file changed since (edited, replaced,
        copied, restored from a backup: each changes its ctime or inode), the whole set is
        hashed again and refused if it does not match. What this cannot see is a change that
        leaves the file's metadata alone: the disk silently flipping bits. ``verify=True``
        always hashes everything (or call :meth:`verify` later); ``verify=False`` trusts the
        manifest without hashing (e.g. a read-only copy, where no record can be kept).

        Always checked, cheaply: every file is there, each array file has exactly the size its
        header says, the table has the manifest's number of rows, and the files fit together
        (offsets, heatmap rows, image ids); a missing, truncated or damaged file raises
        :class:`ActivationFileError` naming it.
        """
        directory = Path(directory)
        manifest_path = directory / _MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{directory} holds no activation set ({_MANIFEST} is missing); "
                                    "make one with build_activations(..., out_dir=...) or .save()")
        manifest = store.read_checked(manifest_path, store.read_json)
        version = manifest.get("schema_version") if isinstance(manifest, dict) else None
        if not isinstance(manifest, dict) or manifest.get("schema") != store.SCHEMA \
                or version not in store.READABLE_VERSIONS:
            raise ValueError(f"{manifest_path} is not an activation set of schema {store.SCHEMA} "
                             f"(versions {list(store.READABLE_VERSIONS)})")
        names = _set_files(bool(manifest.get("descriptors")))
        expected = manifest.get("fingerprint")
        # stats before reading: a file changed while it is read then differs from its record
        stats = store.stat_records(directory, names)
        trusted = verify is False or (
            verify is None and isinstance(expected, str)
            and store.unchanged_since_verified(directory, names, expected))
        table_csv = None if trusted else store.read_checked(
            directory / "table.csv", lambda p: p.read_text(encoding="utf-8"))
        table = store.read_checked(directory / "table.csv", lambda p: store.table_from_csv(
            p if table_csv is None else table_csv, ids_checked=trusted))
        if "n_activations" in manifest and len(table) != manifest["n_activations"]:
            raise store.ActivationFileError(
                f"{directory / 'table.csv'} has {len(table)} rows where the manifest says "
                f"{manifest['n_activations']}: it is truncated or damaged; build the set again.")
        arrays = {name: store.read_checked(directory / f"{name}.npy", store.map_npy) for name in _ARRAYS}
        for name in ("thumbnails", "image_thumbnails"):
            _check_offsets(directory / f"{name}_offsets.npy", arrays[f"{name}_offsets"], arrays[name])
        descriptors = store.read_checked(directory / "descriptors.npy", store.map_npy) \
            if manifest.get("descriptors") else None
        try:
            loaded = cls(table, manifest["image_ids"], arrays["images"], arrays["heatmap_rows"],
                         arrays["heatmaps"], store.PackedBlobs(arrays["thumbnails"], arrays["thumbnails_offsets"]),
                         store.PackedBlobs(arrays["image_thumbnails"], arrays["image_thumbnails_offsets"]),
                         categories=manifest["categories"], meta=manifest.get("meta", {}),
                         fingerprint_version=version, _table_csv=table_csv, descriptors=descriptors,
                         _fingerprint=expected if trusted else None, _canonical=True)
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise store.ActivationFileError(f"the files in {directory} do not fit together ({err}); they were "
                                            "edited or damaged: build the set again") from None
        loaded.folder = directory  # where descriptors computed later are cached (assist.add_descriptors)
        if trusted:
            return loaded
        if loaded.fingerprint != expected:
            # the file's own text is what save() wrote, byte for byte, unless it was rewritten
            # (another CSV writer, line endings): then judge the table it holds
            loaded.fingerprint = loaded._content_fingerprint()
        if loaded.fingerprint != expected:
            raise ValueError(f"the files in {directory} do not match their manifest's fingerprint "
                             f"({loaded.fingerprint} != {expected}): they were edited "
                             "or damaged; build the set again")
        if stats is not None:
            store.record_verified(directory, names, expected, stats)
        return loaded

    def verify(self, *, _table_csv: str | None = None) -> None:
        """Hash the set's content again and raise ``ValueError`` if it no longer matches its
        fingerprint (a loaded set whose files were damaged on disk, arrays changed in place)."""
        content = self._content_fingerprint(_table_csv)
        if content != self.fingerprint:
            raise ValueError(f"this activation set's content no longer matches its fingerprint ({content} != "
                             f"{self.fingerprint}): its files were edited or damaged; build the set again")


_ARRAYS = ("images", "heatmaps", "heatmap_rows", "thumbnails", "thumbnails_offsets", "image_thumbnails",
           "image_thumbnails_offsets")


def _set_files(descriptors: bool) -> list[str]:
    """The files of a saved set (with ``descriptors.npy`` when it has descriptors)."""
    return [_MANIFEST, "table.csv", *(f"{name}.npy" for name in _ARRAYS), *(["descriptors.npy"] if descriptors else [])]


def _check_offsets(path: Path, offsets: np.ndarray, data: np.ndarray) -> None:
    """Packed PNG offsets must start at 0, never decrease and end at the data's length."""
    ok = offsets.ndim == 1 and len(offsets) >= 1 and np.issubdtype(offsets.dtype, np.integer) \
        and int(offsets[0]) == 0 and int(offsets[-1]) == len(data) and bool(np.all(np.diff(offsets) >= 0))
    if not ok:
        raise store.ActivationFileError(f"{path} does not fit {path.name.replace('_offsets', '')} "
                                        f"({len(data)} bytes): it is damaged; build the set again.")


# ---------------------------------------------------------------------- building

def _class_names(bank: Any) -> list[str]:
    classes = [str(c) for c in getattr(bank, "classes", [])]
    if not classes:
        raise ValueError("bank.classes is empty; fit the XNN bank with the classifier's class names")
    return classes


def _significance_mask(significance: str | Callable, contributions: np.ndarray,
                       bias: np.ndarray | None) -> np.ndarray:
    """Boolean (N, n) significant x-features (definitions §3).

    'msx': minimal sufficient x-features (the bias counts as evidence when ``bias`` is given);
    'top_fraction': the fewest positive terms holding 90 % of the positive sum; a callable
    gets ``(contributions (N, n), bias (N,) or None)`` and returns the mask.
    """
    if callable(significance):
        mask = significance(contributions, bias)
    elif significance == "msx":
        from .significance import msx

        mask = msx(contributions, bias)
    elif significance in ("top_fraction", "top-fraction"):
        from .significance import top_fraction

        mask = top_fraction(contributions)
    else:
        raise ValueError(f"significance must be 'msx', 'top_fraction' or a callable "
                         f"(contributions, bias) -> bool mask; got {significance!r}")
    mask = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
    if mask.shape != contributions.shape:
        raise ValueError(f"significance returned a mask of shape {mask.shape}; it must match the "
                         f"contributions, {contributions.shape}")
    return mask.astype(bool)


def _load_images(data: Any, indices: np.ndarray):
    """The model input tensors (B, C, H, W) of data set items ``indices``."""
    import torch

    from .data import ImageArrayDataset

    if isinstance(data, ImageArrayDataset):
        return ImageArrayDataset._to_tensor(data.images[indices])
    return torch.stack([torch.as_tensor(data[int(i)][0]) for i in indices]).float()


def _display_images(data: Any, indices: np.ndarray, batch_size: int) -> np.ndarray:
    """uint8 (M, H, W, 3) display pixels of data set items ``indices``, a batch at a time."""
    if not len(indices):
        return np.zeros((0, 1, 1, 3), np.uint8)
    return np.concatenate([to_display_rgb(_load_images(data, indices[start:start + batch_size]))
                           for start in range(0, len(indices), batch_size)])


def _check_data(data: Any) -> None:
    """Fail early, with the fix, on data that is not a Dataset of (C, H, W) images."""
    if not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
        raise TypeError(f"data must be a Dataset of (image, label) pairs with .classes; got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty: give at least one image")
    item = data[0]
    image = item[0] if isinstance(item, (tuple, list)) else item
    shape = tuple(getattr(image, "shape", ()))
    if len(shape) != 3:
        raise ValueError(f"data must yield images of shape (C, H, W) as the model takes them; its first "
                         f"item has shape {shape}. Wrap the images in ImageArrayDataset or add the "
                         "channel axis")


def _naming_layer(dnn: Any, data: Any, method: str) -> str | None:
    """The default map layer for ``method`` (None for methods that read no layer, or unknown ones)."""
    from .heatmaps import METHODS
    from .heatmaps.map_layer import naming_map_layer

    chosen = METHODS.get(method)
    if chosen is None or not chosen.reads_layer:
        return None
    return naming_map_layer(dnn, _load_images(data, np.array([0])), method)


def _model_digest(model: Any) -> str:
    """SHA-256 (16 hex digits) of a module's parameters and buffers."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _bank_digest(bank: Any) -> str:
    """SHA-256 (16 hex digits) of an XNN bank: its classes, weights, bias and network parameters."""
    digest = hashlib.sha256(json.dumps([str(c) for c in getattr(bank, "classes", [])]).encode())
    core = getattr(bank, "_core", None)
    if core is not None and hasattr(core, "state_dict"):
        digest.update(_model_digest(core).encode())
    for array in (getattr(bank, "weights", None), getattr(bank, "bias", None)):
        if array is not None:
            digest.update(np.ascontiguousarray(np.asarray(array, dtype=np.float64)).tobytes())
    return digest.hexdigest()[:16]


def _data_digest(data: Any, batch_size: int) -> str:
    """SHA-256 (16 hex digits) of every model input and label of ``data``, in order.

    Part of ``build_activations``' resume key: the same number of other images must never
    resume (or return) a set built on these.
    """
    from .data import ImageArrayDataset

    digest = hashlib.sha256()
    if isinstance(data, ImageArrayDataset):
        for array in (data.images, data.labels):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()[:16]
    import torch

    for index in progress(range(len(data)), total=len(data), desc="image digest", disable=len(data) < 2000 or None):
        item = data[index]
        image, label = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, -1)
        digest.update(torch.as_tensor(image).float().contiguous().numpy().tobytes())
        digest.update(np.int64(int(label)).tobytes())
    return digest.hexdigest()[:16]


def _plan_table(features: Any, bank: Any, classes: list[str], categories: list[str],
                significance: str | Callable, data_classes: list[str], msx_bias: bool) -> pd.DataFrame:
    """definitions §5's table: images predicted as each category, explained by its XNN."""
    predictions = features.logits.argmax(1)
    n_classes = features.logits.shape[1]
    if n_classes != len(classes):
        raise ValueError(f"the classifier has {n_classes} outputs but the XNN bank explains "
                         f"{len(classes)} classes ({classes[:4]}...); fit the bank on this classifier")
    weights_all = np.asarray(bank.weights, dtype=np.float64)  # (C, n)
    bias_all = np.asarray(bank.bias, dtype=np.float64).reshape(-1)  # (C,)
    n_features = weights_all.shape[1]
    category_index = np.array([classes.index(c) for c in categories], dtype=np.int64)
    order = np.concatenate([np.flatnonzero(predictions == ci) for ci in category_index]) \
        if len(category_index) else np.zeros(0, np.int64)
    explained = predictions[order]  # class index each image is explained by (its prediction)
    if len(order):
        values_all = np.asarray(bank.transform(features.Z[order]))  # (M, C, n): explained images only
        values = values_all[np.arange(len(order)), explained].astype(np.float64)  # (M, n)
    else:
        values = np.zeros((0, n_features))
    weights = weights_all[explained]
    contributions = values * weights + 0.0  # + 0.0 turns -0.0 (a zero x-feature, v < 0) into 0.0
    mask = _significance_mask(significance, contributions, bias_all[explained] if msx_bias else None) \
        if len(order) else np.zeros((0, n_features), bool)
    labels = features.labels
    label_names = [data_classes[int(labels[i])] if labels is not None and data_classes else None
                   for i in order]
    image_rows = np.repeat(np.arange(len(order)), n_features)
    ks = np.tile(np.arange(n_features), len(order))
    names = [classes[i] for i in explained]
    table = pd.DataFrame({
        "activation_id": [activation_id(names[m], order[m], k) for m, k in zip(image_rows, ks)],
        "image_id": [image_id(order[m]) for m in image_rows],
        "category": [names[m] for m in image_rows],
        "xfeature": ks,
        "value": values.reshape(-1),
        "weight": weights.reshape(-1),
        "contribution": contributions.reshape(-1),
        "significant": mask.reshape(-1),
        "predicted": [names[m] for m in image_rows],
        "label": [label_names[m] for m in image_rows],
    })
    return store.canonical_table(table)


def _chunks(table: pd.DataFrame, chunk_size: int) -> list[np.ndarray]:
    """Table rows of the significant activations, cut in chunks that stay within a category."""
    significant = table["significant"].to_numpy()
    chunks: list[np.ndarray] = []
    for category in dict.fromkeys(table["category"]):
        rows = np.flatnonzero(significant & (table["category"].to_numpy() == category))
        chunks.extend(rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size))
    return chunks


def _image_index(image: str) -> int:
    return int(image[3:])


def _compute_chunk(dnn, layer, bank, data, table, rows, *, method, batch_size, thumb_size, cmap, alpha,
                   attribute_kwargs, descriptor_layers=None):
    """Heatmaps (float16), overlay thumbnails and descriptors (float16, or None without a
    descriptor layer) of the activations in table ``rows``."""
    from .heatmaps import XFeatureModel, attribute

    category = table["category"].iat[rows[0]]
    indices = np.array([_image_index(i) for i in table["image_id"].to_numpy()[rows]], dtype=np.int64)
    targets, image_of_row, slot_of_row = _targets_per_image(indices, table["xfeature"].to_numpy()[rows])
    unique_images = _load_images(data, np.unique(indices))
    model = XFeatureModel(dnn, layer, bank[category])
    # Each image once, with its significant x-features as its targets (padded by repeating its
    # first one): one batched pass over images x targets, no loop over x-features; the
    # descriptors are read in the same passes.
    described = None
    if descriptor_layers is None:
        all_maps = attribute(model, unique_images, method=method, targets=targets, batch_size=batch_size,
                             **attribute_kwargs)
    else:
        from .assist.descriptors import attribute_and_describe

        all_maps, described = attribute_and_describe(
            model, dnn, descriptor_layers, unique_images, targets, n_xfeatures=int(np.asarray(bank.weights).shape[-1]),
            method=method, batch_size=batch_size, **attribute_kwargs)
    all_maps = np.asarray(all_maps, dtype=np.float32)
    maps = all_maps[image_of_row, slot_of_row].astype(np.float16)  # (R, H, W) at stored precision
    thumbs = overlay_pngs(unique_images[image_of_row], maps.astype(np.float32), cmap=cmap, alpha=alpha,
                          size=thumb_size)
    descriptors = None if described is None else described[image_of_row, slot_of_row].astype(np.float16)
    return maps, thumbs, descriptors


def _targets_per_image(indices: np.ndarray, xfeatures: np.ndarray):
    """Per-image target lists for activation rows (image index, x-feature).

    Returns ``targets (U, T)`` (T = most activations of one image; short lists padded with
    their first x-feature), and for every row its image position and slot in ``targets``.
    """
    unique, image_of_row = np.unique(indices, return_inverse=True)
    order = np.argsort(image_of_row, kind="stable")
    counts = np.bincount(image_of_row, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot_sorted = np.arange(len(order)) - np.repeat(starts, counts)
    slot_of_row = np.empty_like(slot_sorted)
    slot_of_row[order] = slot_sorted
    targets = np.repeat(xfeatures[order][starts][:, None], counts.max(initial=1), axis=1)
    targets[image_of_row, slot_of_row] = xfeatures
    return targets.astype(np.int64), image_of_row, slot_of_row


def build_activations(dnn: Any, layer: str, bank: Any, data: Any, categories: Sequence[str] | None = None,
                      method: str = "cmwp", significance: str | Callable = "msx", thumb_size: int = 96, *,
                      batch_size: int = 64, chunk_size: int = 128, out_dir: str | Path | None = None,
                      cmap: str = DEFAULT_CMAP, alpha: float = DEFAULT_ALPHA,
                      msx_bias: bool = False, attribute_kwargs: dict | None = None,
                      show_progress: bool | None = None, on_chunk: Callable[[int, int], None] | None = None,
                      descriptors: bool | str | Sequence[str] = True) -> ActivationSet:
    """Build the activation set of ``categories`` (default: all of ``bank.classes``).

    Heatmaps are drawn on CUDA when there is one (``attribute_kwargs={"device": ...}`` overrides).
    ``descriptors``: store a descriptor per significant activation (:mod:`.assist.descriptors`,
    for suggestions and transfers), read up to the default descriptor layer (True), up to the
    named layer (a str; the column's layers are found with a one-image probe), at exactly the
    named layers (a list, shallow to deep), or none (False).

    Extracts ``layer``'s features and the logits of ``data`` (a Dataset of ``(image, label)``
    with ``.classes``), takes the images ``dnn`` predicts as each category, computes their
    contributions with that category's XNN, marks the significant x-features
    (``significance``: 'msx', 'top_fraction' or a callable ``(contributions, bias) -> mask``;
    MSX follows the interactive-naming paper, positive terms that outweigh the negative ones,
    and counts the XNN's bias as evidence only with ``msx_bias=True``: a positive bias can
    otherwise leave whole categories without any significant activation),
    and draws a heatmap (``heatmaps.attribute`` with ``method`` on ``XFeatureModel``) and a
    thumbnail (longer side ``thumb_size``) for each significant one, ``chunk_size`` at a time.

    The maps are read where people can name them: by default at the layer
    ``heatmaps.map_layer.naming_map_layer`` picks (pixel level for small images such as
    Fashion-MNIST, else the last layer with maps of at least 14×14; chosen by measuring how
    much of each map lands on the object, see that module), recorded in the set's config;
    ``attribute_kwargs={"layer": ...}`` reads them elsewhere.

    With ``out_dir`` the plan and each finished chunk are written there as they are made; a
    rerun with the same arguments resumes from the finished chunks, and the completed set is
    saved in ``out_dir`` (a later call just loads it). ``on_chunk(i, n)`` is called after
    chunk i of n is done.
    """
    from .models import FeatureExtractor

    if chunk_size < 1 or batch_size < 1:
        raise ValueError(f"chunk_size and batch_size must be >= 1, got {chunk_size} and {batch_size}")
    if thumb_size is not None and thumb_size < 1:
        raise ValueError(f"thumb_size is the thumbnails' longer side in pixels (>= 1), got {thumb_size}")
    _check_data(data)
    classes = _class_names(bank)
    categories = list(classes if categories is None else [str(c) for c in categories])
    unknown = [c for c in categories if c not in classes]
    if unknown:
        raise ValueError(f"categories {unknown} are not classes of the XNN bank; choose from {classes}")
    data_classes = [str(c) for c in getattr(data, "classes", [])] or classes
    # heatmaps on CUDA when there is one (the model is moved there for each chunk and back)
    attribute_kwargs = {"show_progress": False, "device": "auto", **(attribute_kwargs or {})}
    if "layer" not in attribute_kwargs:
        attribute_kwargs["layer"] = _naming_layer(dnn, data, method)
    descriptor_column = None
    if descriptors is not False and descriptors is not None:
        from .assist.descriptors import descriptor_layer as default_descriptor_layer, hypercolumn_layers

        if isinstance(descriptors, (list, tuple)):
            descriptor_column = [str(name) for name in descriptors]
            if not descriptor_column:
                raise ValueError("descriptors=[] names no layer; pass layer names, True, or False for none")
        else:
            first = _load_images(data, np.array([0]))
            deepest = default_descriptor_layer(dnn, first) if descriptors is True else str(descriptors)
            descriptor_column = hypercolumn_layers(dnn, first, deepest)
        descriptors = descriptor_column[-1]
    config = {"layer": layer, "method": method, "categories": categories, "thumb_size": thumb_size,
              "significance": significance if isinstance(significance, str) else getattr(
                  significance, "__name__", "custom"),
              "msx_bias": msx_bias, "n_images": len(data), "cmap": cmap, "alpha": alpha, "chunk_size": chunk_size,
              "model": _model_digest(dnn), "bank": _bank_digest(bank), "data": _data_digest(data, batch_size),
              "attribute_kwargs": {k: repr(v) for k, v in attribute_kwargs.items()},
              "descriptor_layer": descriptors or None, "descriptor_layers": descriptor_column}
    if descriptors:
        from .assist.descriptors import DESCRIPTOR_VERSION

        config["descriptor_version"] = DESCRIPTOR_VERSION  # chunks of another definition are not reused
    out = Path(out_dir) if out_dir is not None else None
    work = out / "work" if out is not None else None
    if out is not None and (out / _MANIFEST).is_file():
        finished = ActivationSet.load(out)
        if finished.meta.get("config") == config:
            return finished
        raise ValueError(f"{out} already holds an activation set built with other arguments; "
                         "choose another out_dir or delete that folder")

    was_training = dnn.training
    dnn.eval()
    try:
        table = None
        if work is not None and (work / "plan.json").is_file():
            plan = store.read_json(work / "plan.json")
            if plan.get("config") != config:
                raise ValueError(f"{work} holds unfinished work built with other arguments; "
                                 "choose another out_dir or delete that folder to start over")
            table = store.table_from_csv((work / "table.csv").read_text(encoding="utf-8"))
        if table is None:
            features = FeatureExtractor(dnn, layer).extract(data, batch_size=batch_size,
                                                            progress=show_progress is not False)
            table = _plan_table(features, bank, classes, categories, significance, data_classes, msx_bias)
            if work is not None:
                store.write_text_atomic(work / "table.csv", store.table_to_csv(table))
                store.write_json(work / "plan.json", {"config": config})
        chunks = _chunks(table, chunk_size)
        maps_parts: list[np.ndarray] = []
        thumb_parts: list[list[bytes]] = []
        descriptor_parts: list[np.ndarray] = []
        for number in progress(range(len(chunks)), total=len(chunks), desc="heatmaps",
                               disable=None if show_progress is None else not show_progress):
            rows = chunks[number]
            done = work / f"chunk{number:05d}.npz" if work is not None else None
            if done is not None and done.is_file():
                with np.load(done, allow_pickle=False) as saved:
                    maps = saved["heatmaps"]
                    thumbs = store.unpack_blobs(saved["thumbnails"], saved["offsets"])
                    described = saved["descriptors"] if "descriptors" in saved else None
                    if not np.array_equal(saved["rows"], rows):
                        raise ValueError(f"{done} does not belong to this plan; delete {work}")
            else:
                maps, thumbs, described = _compute_chunk(
                    dnn, layer, bank, data, table, rows, method=method, batch_size=batch_size, thumb_size=thumb_size,
                    cmap=cmap, alpha=alpha, attribute_kwargs=attribute_kwargs, descriptor_layers=descriptor_column)
                if done is not None:
                    blob, offsets = store.pack_blobs(thumbs)
                    extra = {} if described is None else {"descriptors": described}
                    store.save_npz_atomic(done, heatmaps=maps, thumbnails=blob, offsets=offsets, rows=rows, **extra)
                if on_chunk is not None:
                    on_chunk(number, len(chunks))
            maps_parts.append(maps)
            thumb_parts.append(thumbs)
            if described is not None:
                descriptor_parts.append(described)
    finally:
        dnn.train(was_training)

    image_ids = list(dict.fromkeys(table["image_id"]))
    indices = np.array([_image_index(i) for i in image_ids], dtype=np.int64)
    images = _display_images(data, indices, batch_size)
    ordered_rows = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    heatmap_rows = np.full(len(table), -1, dtype=np.int64)
    heatmap_rows[ordered_rows] = np.arange(len(ordered_rows))
    height, width = images.shape[1:3]
    heatmaps = np.concatenate(maps_parts) if maps_parts else np.zeros((0, height, width), np.float16)
    descriptor_array = None
    if descriptors:
        n_dims = descriptor_parts[0].shape[1] if descriptor_parts else 0
        descriptor_array = np.concatenate(descriptor_parts) if descriptor_parts else np.zeros((0, n_dims), np.float16)
    result = ActivationSet(table, image_ids, images, heatmap_rows, heatmaps,
                           [t for part in thumb_parts for t in part],
                           image_pngs(images, size=thumb_size) if len(images) else [],
                           categories=categories, meta={"config": config}, descriptors=descriptor_array)
    if out is not None:
        result.save(out)
        shutil.rmtree(work, ignore_errors=True)
    return result
