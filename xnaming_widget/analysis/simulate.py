"""Simulated people who name activations from ground-truth concepts (demos, tests, benchmarks).

Each simulated annotator starts from the true concept of each significant activation and
then, with the given probabilities, skips activations (unlabeled), throws some away (trash),
names some wrongly (moved to another concept), splits concepts in two and merges pairs of
concepts. Everything is drawn from one seeded generator, so results repeat exactly.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from xnaming_widget.naming.document import TABLE_COLUMNS, naming_doc

from .namings import activation_table


def _one_naming(ids: np.ndarray, truth: np.ndarray, rng: np.random.Generator, *, skip, trash, noise, split, merge):
    concepts = np.unique(truth)
    label = np.searchsorted(concepts, truth)
    names = [str(c) for c in concepts]
    wrong = rng.random(len(ids)) < noise
    if len(concepts) > 1 and wrong.any():
        shift = rng.integers(1, len(concepts), wrong.sum())
        label[wrong] = (label[wrong] + shift) % len(concepts)
    for k in np.nonzero(rng.random(len(concepts)) < merge)[0]:
        other = int(rng.integers(len(concepts)))
        if other != k and names[k] and names[other]:
            label[label == other] = k
            names[k], names[other] = f"{names[k]} and {names[other]}", ""
    for k in np.nonzero(rng.random(len(concepts)) < split)[0]:
        members = np.nonzero(label == k)[0]
        if len(members) >= 2 and names[k]:
            half = members[rng.permutation(len(members))[: len(members) // 2]]
            label[half] = len(names)
            names += [f"{names[k]} (b)"]
            names[k] = f"{names[k]} (a)"
    status = np.where(rng.random(len(ids)) < skip, "unlabeled", "named")
    status[(status == "named") & (rng.random(len(ids)) < trash)] = "trash"
    return label, names, status


def simulate_annotators(activations, truth, n: int, *, skip: float = 0.1, trash: float = 0.02,
                        noise: float = 0.05, split: float = 0.1, merge: float = 0.05, seed: int = 0,
                        prefix: str = "annotator") -> pd.DataFrame:
    """Namings of every category's significant activations by ``n`` simulated people.

    ``truth`` maps activation_id -> true concept name (dict or Series), e.g. from
    :func:`parts_under_peak`. ``skip``/``trash``/``noise`` are per-activation probabilities,
    ``split``/``merge`` per-concept ones. Returns the long table of definitions §5 (all namings);
    :func:`naming_docs` turns it into naming documents that can be written to files.
    """
    for name, p in dict(skip=skip, trash=trash, noise=noise, split=split, merge=merge).items():
        if not 0 <= p <= 1:
            raise ValueError(f"{name} is a probability and must lie in [0, 1], got {p}.")
    if n < 1:
        raise ValueError(f"n (number of annotators) must be ≥ 1, got {n}.")
    truth = pd.Series(truth, dtype=object) if isinstance(truth, Mapping) else pd.Series(truth)
    acts = activation_table(activations)
    sig = acts[acts["significant"].astype(bool)]
    ids_all = sig["activation_id"].astype(str)
    missing = ~ids_all.isin(truth.index.astype(str))
    if missing.any():
        raise ValueError(f"truth has no concept for {int(missing.sum())} significant activations, e.g. "
                         f"{ids_all[missing].iloc[0]!r}; give one for every significant activation.")
    truth.index = truth.index.astype(str)
    rng = np.random.default_rng(seed)
    tables = []
    for i in range(n):
        annotator = f"{prefix}{i + 1}"
        for category in sorted(sig["category"].astype(str).unique()):
            ids = ids_all[sig["category"].astype(str) == category].to_numpy()
            label, names, status = _one_naming(ids, truth.loc[ids].astype(str).to_numpy(), rng, skip=skip,
                                               trash=trash, noise=noise, split=split, merge=merge)
            named = status == "named"
            concept_id = np.where(named, np.char.add("c", label.astype(str)), None)
            concept = np.where(named, np.asarray(names, dtype=object)[label], None)
            tables.append(pd.DataFrame({"annotator": annotator, "category": category, "activation_id": ids,
                                        "concept_id": concept_id, "concept": concept, "status": status}))
    return pd.concat(tables, ignore_index=True)[TABLE_COLUMNS].astype({c: "string" for c in TABLE_COLUMNS})


def naming_docs(table: pd.DataFrame, fingerprint: str | None = None) -> list[dict]:
    """Naming documents (the file layout of :mod:`xnaming_widget.naming.document`), one per (annotator, category)."""
    docs = []
    for (annotator, category), rows in table.groupby(["annotator", "category"], sort=True):
        named = rows[rows["status"] == "named"]
        concepts = [{"id": cid, "name": str(g["concept"].iloc[0]), "members": list(g["activation_id"])}
                    for cid, g in named.groupby("concept_id", sort=True)]
        docs.append(naming_doc(annotator=str(annotator), category=str(category), fingerprint=fingerprint,
                               concepts=concepts, trash=list(rows.loc[rows["status"] == "trash", "activation_id"]),
                               unlabeled=list(rows.loc[rows["status"] == "unlabeled", "activation_id"])))
    return docs


def parts_under_peak(heatmaps, keypoints, boxes, part_names, *, image_index=None, activation_ids=None,
                     context: str = "context", part_map=None) -> pd.Series:
    """The true concept of each heatmap: the part whose keypoint is nearest the heatmap's peak,
    or with ``part_map`` (``PartsDataset.part_map``, (N, H, W) part index per pixel, -1 off the
    bird) the part drawn at the peak pixel itself.

    The peak is ``metrics.map_peaks`` (the project's one rule: the centre of the hottest
    small patch, so a lone hot pixel does not decide).

    ``heatmaps`` is an array (R, H, W) or an ActivationSet (its significant activations are
    used, their maps from ``.heatmap(activation_id)``). ``keypoints`` (N, P, 2) in (row, col)
    pixels with NaN for missing parts and ``boxes`` (N, 4) as (row0, col0, row1, col1) come
    from ``PartsDataset``; ``image_index`` maps each heatmap to its image row (array of R ints,
    a dict or callable on image_id; default: row r is image r). A peak outside the box, or in
    an image with no parts, or an all-zero heatmap, is ``context``. Returns a Series indexed by
    activation id (or 0..R-1).
    """
    from ..metrics.object_maps import map_peaks

    if hasattr(heatmaps, "heatmap") and hasattr(heatmaps, "table"):
        table = heatmaps.table[heatmaps.table["significant"].astype(bool)]
        activation_ids = list(table["activation_id"].astype(str))
        maps = np.stack([np.asarray(heatmaps.heatmap(a), dtype=np.float32) for a in activation_ids])
        image_ids = list(table["image_id"].astype(str))
        if image_index is None:
            raise ValueError("With an ActivationSet, give image_index: a dict or callable image_id -> row of keypoints.")
        image_index = [image_index(i) if callable(image_index) else image_index[i] for i in image_ids]
    else:
        maps = np.asarray(heatmaps.detach().cpu() if hasattr(heatmaps, "detach") else heatmaps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (R, H, W), got {maps.shape}.")
    keypoints, boxes = np.asarray(keypoints, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    R = len(maps)
    rows = np.arange(R) if image_index is None else np.asarray(image_index, dtype=np.int64)
    if len(rows) != R or rows.max(initial=0) >= len(keypoints):
        raise ValueError(f"image_index must give one keypoint row (< {len(keypoints)}) per heatmap ({R}).")
    if keypoints.shape[1] != len(part_names):
        raise ValueError(f"keypoints has {keypoints.shape[1]} parts but part_names has {len(part_names)}.")
    peaks = map_peaks(maps)                                                                  # (R, 2)
    peak_rc = peaks.astype(np.float64)
    dist = np.linalg.norm(keypoints[rows] - peak_rc[:, None, :], axis=2)                  # (R, P)
    dist = np.where(np.isnan(dist), np.inf, dist)
    nearest = dist.argmin(axis=1)
    box = boxes[rows]
    inside = ((peaks[:, 0] >= 0) & (peak_rc[:, 0] >= box[:, 0]) & (peak_rc[:, 0] < box[:, 2])
              & (peak_rc[:, 1] >= box[:, 1]) & (peak_rc[:, 1] < box[:, 3]) & np.isfinite(dist.min(axis=1)))
    names = np.where(inside, np.asarray(part_names, dtype=object)[nearest], context)
    if part_map is not None:  # the part drawn under the peak: what a person sees there
        part_map = np.asarray(part_map)
        if part_map.shape[0] != len(keypoints) or part_map.shape[1:] != maps.shape[1:]:
            raise ValueError(f"part_map must be (N, H, W) with one map per keypoint row ({len(keypoints)}) at the "
                             f"heatmaps' size {maps.shape[1:]}; got {part_map.shape}")
        drawn = part_map[rows, np.clip(peaks[:, 0], 0, None), np.clip(peaks[:, 1], 0, None)]
        drawn = np.where(peaks[:, 0] < 0, -1, drawn)
        names = np.where(drawn >= 0, np.asarray(part_names, dtype=object)[np.clip(drawn, 0, None)], context)
    index = pd.Index(activation_ids if activation_ids is not None else np.arange(R), name="activation_id")
    return pd.Series(names, index=index, name="truth")
