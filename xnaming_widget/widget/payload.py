"""Turn an activation table into the data the widget syncs to the browser.

The widget shows one category's significant activations. This module selects them, computes a
fingerprint when the input is a bare DataFrame, and lays out the table the browser gets at open
(column by column, so it stays compact at 100,000 activations). Thumbnails are not part of it:
the browser asks for the ones it is about to show (docs/widget-protocol.md), and
:meth:`Payload.thumbnails` answers from the activation set's own getters.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..naming.activation_table import WIDGET_COLUMNS, activation_table, fingerprint_of

HEAT, IMAGE = "heat", "image"  # the two kinds of thumbnail the browser asks for


class Payload:
    """Everything the widget needs about its activations (see the protocol's synced traits).

    ``table``: the category's rows for the shown images (every x-feature of them), index 0..R-1;
    ``shown_ids``: the significant activations, in display order. ``columns`` (one list per
    column over ``table``'s rows) is made when first asked for: the browser gets only the shown
    rows (:meth:`shown_columns`), which is what opening 100,000 activations waits for.
    """

    def __init__(self, category: str, fingerprint: str, table: pd.DataFrame,
                 heat_getter: Callable[[str], bytes | None] | None,
                 image_getter: Callable[[str], bytes | None] | None):
        self.category = category
        self.fingerprint = fingerprint
        self.table = table
        self.heat_getter = heat_getter
        self.image_getter = image_getter
        self._significant = table["significant"].astype(bool).to_numpy()
        self.shown_ids: list[str] = _id_column(table, "activation_id", self._significant)
        self._columns: dict | None = None
        self._known: dict[str, frozenset] = {}  # thumbnail kind -> the keys it may be asked for

    @property
    def columns(self) -> dict:
        """One list per column over ``table``'s rows (every x-feature of the shown images)."""
        if self._columns is None:
            self._columns = _columns(self.table, self.category)
            self._columns["significant"] = self._significant.tolist()
        return self._columns

    @property
    def activations(self) -> list[dict]:
        """The shown activations as one dict each (for Python callers; the browser gets ``columns``)."""
        c = self.columns
        keys = ("id", "image_id", "xfeature", "value", "contribution", "predicted", "label")
        out = []
        for i, shown in enumerate(c["significant"]):
            if shown:
                record = {k: c[k][i] for k in keys}
                label, pred = record["label"], record["predicted"]
                record["correct"] = None if label is None or pred is None else label == pred
                out.append(record)
        return out

    def shown_columns(self) -> dict:
        """The synced ``table``: the shown activations' columns (the compare view asks for the
        other x-features of an image when it needs them, see :meth:`image_rows`)."""
        if self._columns is not None:
            keep = np.flatnonzero(self._significant).tolist()
            return {k: [v[i] for i in keep] for k, v in self._columns.items() if k != "significant"}
        return _columns(self.table[self._significant], self.category)

    def image_rows(self, image_ids: Sequence[str]) -> dict[str, list[dict]]:
        """Every x-feature of each image (significant or not), for the compare view; unknown ids are left out."""
        if not hasattr(self, "_rows_of_image"):
            self._rows_of_image: dict[str, list[int]] = {}
            for i, image in enumerate(self.columns["image_id"]):
                self._rows_of_image.setdefault(image, []).append(i)
        c = self.columns
        return {image: [{"id": c["id"][i], "xfeature": c["xfeature"][i], "contribution": c["contribution"][i],
                         "value": c["value"][i], "significant": c["significant"][i]}
                        for i in self._rows_of_image[image]]
                for image in image_ids if isinstance(image, str) and image in self._rows_of_image}

    def thumbnails(self, kind: str, keys: Sequence[str]) -> list[bytes]:
        """PNG bytes for each key (``b""`` when there is none): activation ids for ``HEAT``,
        image ids for ``IMAGE``. Keys outside this category's rows get ``b""``: the browser
        can only read what the widget shows."""
        if kind not in (HEAT, IMAGE):
            raise ValueError(f"unknown thumbnail kind {kind!r}; expected {HEAT!r} or {IMAGE!r}")
        getter = self.heat_getter if kind == HEAT else self.image_getter
        if kind not in self._known:
            self._known[kind] = frozenset(_id_column(self.table, "activation_id" if kind == HEAT else "image_id"))
        known = self._known[kind]
        if getter is None:
            return [b""] * len(keys)
        out = []
        for key in keys:
            png = getter(key) if isinstance(key, str) and key in known else None
            out.append(bytes(png) if png else b"")
        return out


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


def _thumbnail_getter(activations: Any, name: str) -> Callable[[str], bytes | None] | None:
    getter = getattr(activations, name, None)
    return None if isinstance(activations, pd.DataFrame) or not callable(getter) else getter


def _text_column(series: pd.Series) -> list[str | None]:
    """A column as strings, missing values (None, NaN, NA) as None."""
    missing = series.isna().to_numpy()
    if not missing.any():
        return series.astype(str).tolist()
    return [None if m else str(v) for v, m in zip(series.tolist(), missing)]


def _number_column(values: np.ndarray) -> list[float | None]:
    """Floats rounded to 6 decimals (the canvas shows 2; sorting needs no more, and the JSON is
    half as long), NaN as None."""
    rounded = np.round(np.asarray(values, dtype=float), 6)
    missing = np.isnan(rounded)
    if not missing.any():
        return rounded.tolist()
    return [None if m else v for v, m in zip(rounded.tolist(), missing)]


def _id_column(table: pd.DataFrame, column: str, mask: np.ndarray | None = None) -> list[str]:
    """A column of ids as a list of str (only the ``mask`` rows)."""
    values = table[column]
    if mask is not None:
        values = values[mask]
    if pd.api.types.is_string_dtype(values.dtype) and not values.isna().any():
        return values.tolist()
    return values.astype(str).tolist()


def _columns(rows: pd.DataFrame, category: str) -> dict:
    """One JSON-ready list per column of ``rows`` (the protocol's ``table`` layout)."""
    n = len(rows)
    return {
        "id": _id_column(rows, "activation_id"),
        "image_id": _id_column(rows, "image_id"),
        "xfeature": rows["xfeature"].astype(int).tolist(),
        "value": _number_column(rows["value"].astype(float).to_numpy() if "value" in rows else np.full(n, np.nan)),
        "contribution": _number_column(rows["contribution"].to_numpy(dtype=float)),
        "predicted": _text_column(rows["predicted"]) if "predicted" in rows else [category] * n,
        "label": _text_column(rows["label"]) if "label" in rows else [None] * n,
    }


def build_payload(activations: Any, category: Any) -> Payload:
    """Select a category's significant activations and the rows of their images."""
    table = activation_table(activations, required=WIDGET_COLUMNS)
    fingerprint = fingerprint_of(activations, table)
    category = resolve_category(table, category)
    rows = table[table["category"].astype(str) == category]
    significant = rows["significant"].astype(bool).to_numpy()
    if not significant.any():
        raise ValueError(f"Category {category!r} has no significant activations to name.")
    image_ids = rows["image_id"].astype(str)
    shown_images = pd.unique(image_ids[significant])
    if len(shown_images) < len(pd.unique(image_ids)):  # some images of the category show nothing
        rows = rows[image_ids.isin(shown_images)]
    return Payload(category=category, fingerprint=fingerprint, table=rows.reset_index(drop=True),
                   heat_getter=_thumbnail_getter(activations, "thumbnail"),
                   image_getter=_thumbnail_getter(activations, "image_thumbnail"))
