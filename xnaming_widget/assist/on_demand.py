"""Descriptors for activation sets saved without them, computed once from the stored heatmaps.

A set built before descriptors existed (or with ``descriptors=False``) holds the heatmaps but
not what the classifier saw under them. :func:`add_descriptors` runs the classifier once over
the set's images (a plain forward pass up to the descriptor layer, in batches) and pools its
features under the stored heatmaps, exactly as :mod:`.descriptors` defines them. The result
goes to ``acts.computed_descriptors``, which the widget's suggestions, proposals and
transfers read when the set has no built-in descriptors. It is not part of the set's
fingerprint: namings made on the set stay valid. The array is written once to ``cache=`` (by
default the folder the set was loaded from), under the descriptor definition's version, the
set's fingerprint and the descriptor layer; later calls read it back instead of computing
again, and a later ``ActivationSet.load`` of that folder finds it by itself (the widget's
suggestions then need no call at all).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_descriptors", "descriptors_for_assist"]

NO_DESCRIPTORS = ("{what} activation set has no descriptors (it was saved before them, or built with "
                  "descriptors=False). Compute them once from its heatmaps: xnaming_widget.assist.add_descriptors("
                  "acts, model, data) (cached in the set's folder, and found there by later loads)")


def cache_path(acts: Any, folder: str | os.PathLike, layer: str) -> Path:
    """Where :func:`add_descriptors` caches the descriptors of ``acts`` read up to ``layer``:
    named by the descriptor definition's version and the set's fingerprint, so a cache of
    another definition or another set is never read."""
    from .descriptors import DESCRIPTOR_VERSION

    return Path(folder) / f"descriptors-v{DESCRIPTOR_VERSION}-{acts.fingerprint[:16]}-{layer}.npy"


def descriptors_for_assist(acts: Any, what: str = "this") -> np.ndarray:
    """The descriptors (one row per heatmap) suggestions and transfers use: the set's own, else
    those :func:`add_descriptors` computed in this session or cached in the folder the set was
    loaded from (when exactly one is there); a ValueError saying how to get them otherwise."""
    descriptors = getattr(acts, "descriptors", None)
    if descriptors is None:
        descriptors = getattr(acts, "computed_descriptors", None)
    folder = getattr(acts, "folder", None)
    if descriptors is None and folder is not None:
        cached = sorted(Path(folder).glob(cache_path(acts, folder, "*").name))
        if len(cached) == 1:
            acts.computed_descriptors = descriptors = _read_cache(cached[0], acts)
    if descriptors is None:
        raise ValueError(NO_DESCRIPTORS.format(what=what))
    return descriptors


def _read_cache(path: Path, acts: Any) -> np.ndarray:
    """A cached descriptor array, checked to hold one row per heatmap of ``acts``."""
    from .._activation_store import load_npy

    try:
        cached = load_npy(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"the cached descriptors {path} cannot be read ({err}); delete the file and call "
                         "add_descriptors again") from None
    if cached.ndim != 2 or len(cached) != len(acts.heatmaps):
        raise ValueError(f"the cached descriptors {path} have shape {cached.shape}, not one row per heatmap "
                         f"({len(acts.heatmaps)}); delete the file and call add_descriptors again")
    return cached


def add_descriptors(acts: Any, model: Any, data: Any, *, layer: str | None = None,
                    cache: str | os.PathLike | None = None, batch_size: int = 64,
                    device: str = "auto") -> np.ndarray:
    """Compute (or read from ``cache``) descriptors for every heatmap of ``acts``; return them.

    ``model`` is the classifier the set was built with and ``data`` its data set (item ``i``
    is image ``img{i}``, as ``build_activations`` names them). ``layer``: the descriptor layer
    (default: :func:`.descriptors.descriptor_layer`). ``cache``: the folder to cache them in
    (default: the folder the set was loaded from; a folder that cannot be written only warns).
    Sets ``acts.computed_descriptors`` (float16, one row per heatmap) and returns it.
    """
    import torch

    from .._activation_store import save_npy_atomic
    from .._progress import progress
    from .._torch import resolve_device
    from ..activations import _image_index, _load_images, _targets_per_image
    from .descriptors import describe, descriptor_layer, hypercolumn_layers

    table = acts.table
    significant = table[table["significant"].astype(bool)]
    if not len(significant):
        raise ValueError("this activation set has no significant activations to describe")
    try:
        indices = np.array([_image_index(i) for i in significant["image_id"].astype(str)], dtype=np.int64)
    except ValueError:
        raise ValueError("the set's image ids are not build_activations' img<N>, so its images cannot be found "
                         "in data; rebuild the set with build_activations(..., descriptors=True)") from None
    if indices.max() >= len(data):
        raise ValueError(f"the set refers to image img{indices.max()} but data has {len(data)} items: pass the "
                         "data set the activation set was built from")
    first = _load_images(data, indices[:1])
    layer = layer or descriptor_layer(model, first)
    column = hypercolumn_layers(model, first, layer)  # probed once, not per batch
    cache = cache if cache is not None else getattr(acts, "folder", None)
    path = None
    if cache is not None:
        path = cache_path(acts, cache, layer)
        if path.is_file():
            acts.computed_descriptors = _read_cache(path, acts)
            return acts.computed_descriptors
    maps_of_row = acts.heatmap_rows[significant.index.to_numpy()]
    xfeatures = significant["xfeature"].to_numpy()
    n_xfeatures = int(table["xfeature"].max()) + 1  # the table has a row per image and x-feature
    where = resolve_device(device)
    home = next(model.parameters()).device
    out: np.ndarray | None = None
    order = np.argsort(indices, kind="stable")
    unique_images = np.unique(indices)
    steps = range(0, len(unique_images), batch_size)
    model.to(where)
    try:
        for start in progress(steps, total=len(steps), desc="descriptors", disable=len(steps) < 2):
            wanted = unique_images[start:start + batch_size]
            rows = order[np.isin(indices[order], wanted)]
            targets, image_of_row, slot_of_row = _targets_per_image(indices[rows], xfeatures[rows])
            maps = np.zeros((len(wanted), targets.shape[1], *acts.heatmaps.shape[1:]), np.float32)
            maps[image_of_row, slot_of_row] = acts.heatmaps[maps_of_row[rows]]
            described = describe(model, column, _load_images(data, wanted).to(where), torch.from_numpy(maps),
                                 torch.from_numpy(targets), n_xfeatures).numpy()
            if out is None:
                out = np.zeros((len(acts.heatmaps), described.shape[-1]), np.float16)
            out[maps_of_row[rows]] = described[image_of_row, slot_of_row]
    finally:
        model.to(home)
    acts.computed_descriptors = out
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_npy_atomic(path, out)
        except OSError as err:
            import warnings

            warnings.warn(f"the descriptors were computed but could not be cached in {path.parent} ({err}); pass "
                          "cache=<a writable folder> to keep them for later sessions", stacklevel=2)
    return out

