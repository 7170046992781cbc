"""Turn an activation table (and its thumbnails) into the data the widget syncs to the browser.

The widget shows one category's significant activations. This module selects them, computes a
fingerprint when the input is a bare DataFrame, and packs every thumbnail PNG into one binary
blob with an offsets list (docs/widget-protocol.md), so thumbnails travel once, as a binary
buffer, never as base64 inside JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .._activation_store import pack_blobs
from .._progress import progress
from ..naming.activation_table import WIDGET_COLUMNS, activation_table, fingerprint_of

@dataclass
class Blob:
    """PNGs packed end to end; PNG i is ``data[offsets[i]:offsets[i + 1]]``."""

    data: bytes = b""
    offsets: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def pack(cls, pngs: Sequence[bytes]) -> "Blob":
        data, offsets = pack_blobs(pngs)
        return cls(data.tobytes(), offsets.tolist())

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.data[self.offsets[i]:self.offsets[i + 1]]


@dataclass
class Payload:
    """Everything the widget needs about its activations (see the protocol's synced traits)."""

    category: str
    fingerprint: str
    table: pd.DataFrame  # the category's rows (all x-features of the shown images), index 0..R-1
    shown_ids: list[str]  # significant activations, in display order
    activations: list[dict]
    images: list[dict]
    thumbnails: Blob
    image_thumbnails: Blob


def resolve_category(table: pd.DataFrame, category: Any) -> str:
    """The category to show; raise with the list of categories when it is unknown or missing."""
    categories = sorted(pd.unique(table["category"].astype(str)))
    if category is None:
        if len(categories) == 1:
            return categories[0]
        raise ValueError(f"Pass category=... to choose which category to name; the activations have "
                         f"{categories}.")
    if str(category) not in categories:
        raise ValueError(f"Unknown category {category!r}; the activations have {categories}.")
    return str(category)


def _optional_str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _thumbnail_getter(activations: Any, name: str) -> Callable[[str], bytes | None] | None:
    getter = getattr(activations, name, None)
    return None if isinstance(activations, pd.DataFrame) or not callable(getter) else getter


def _gather(getter: Callable[[str], Any] | None, keys: Sequence[str], desc: str) -> tuple[Blob, list[int]]:
    """Fetch one PNG per key into a blob; returns the blob and each key's index (-1 for none)."""
    if getter is None:
        return Blob(), [-1] * len(keys)
    pngs: list[bytes] = []
    index: list[int] = []
    iterable = progress(keys, total=len(keys), desc=desc) if len(keys) > 200 else keys
    for key in iterable:
        png = getter(key)
        if png is None or len(png) == 0:
            index.append(-1)
        else:
            index.append(len(pngs))
            pngs.append(bytes(png))
    return Blob.pack(pngs), index


def build_payload(activations: Any, category: Any) -> Payload:
    """Select a category's significant activations and pack their data and thumbnails."""
    table = activation_table(activations, required=WIDGET_COLUMNS)
    fingerprint = fingerprint_of(activations, table)
    category = resolve_category(table, category)
    rows = table[table["category"].astype(str) == category]
    significant = rows["significant"].astype(bool).to_numpy()
    if not significant.any():
        raise ValueError(f"Category {category!r} has no significant activations to name.")
    shown_images = pd.unique(rows["image_id"][significant].astype(str))
    rows = rows[rows["image_id"].astype(str).isin(shown_images)].reset_index(drop=True)
    significant = rows["significant"].astype(bool).to_numpy()

    ids = rows["activation_id"].astype(str).tolist()
    heat_blob, heat_index = _gather(_thumbnail_getter(activations, "thumbnail"), ids, "heatmap thumbnails")
    image_blob, image_index = _gather(_thumbnail_getter(activations, "image_thumbnail"),
                                      [str(i) for i in shown_images], "image thumbnails")

    n = len(rows)
    predicted = rows["predicted"].tolist() if "predicted" in rows else [category] * n
    labels = rows["label"].tolist() if "label" in rows else [None] * n
    values = rows["value"].astype(float).tolist() if "value" in rows else [float("nan")] * n
    image_ids = rows["image_id"].astype(str).tolist()
    xfeatures = rows["xfeature"].astype(int).tolist()
    contributions = rows["contribution"].astype(float).tolist()
    records = []
    for i in range(n):
        label, pred = _optional_str(labels[i]), _optional_str(predicted[i])
        records.append({
            "id": ids[i],
            "image_id": image_ids[i],
            "xfeature": xfeatures[i],
            "value": None if np.isnan(values[i]) else values[i],
            "contribution": contributions[i],
            "predicted": pred,
            "label": label,
            "correct": None if label is None or pred is None else label == pred,
            "significant": bool(significant[i]),
            "thumb": heat_index[i],
        })
    shown = [r for r in records if r.pop("significant")]

    image_position = {image_id: k for k, image_id in enumerate(str(i) for i in shown_images)}
    images = [{"image_id": str(image_id), "thumb": image_index[k], "xfeatures": []}
              for k, image_id in enumerate(shown_images)]
    for record, is_significant in zip(records, significant):
        images[image_position[record["image_id"]]]["xfeatures"].append({
            "xfeature": record["xfeature"], "contribution": record["contribution"], "value": record["value"],
            "significant": bool(is_significant), "thumb": record["thumb"],
        })
    return Payload(category=category, fingerprint=fingerprint, table=rows, shown_ids=[r["id"] for r in shown],
                   activations=shown, images=images, thumbnails=heat_blob, image_thumbnails=image_blob)
