"""Static HTML views of a naming, for readers without a live kernel.

``summary_html`` is the small concept table placed beside the live widget in the notebook's
output (GitHub and nbviewer show it). ``snapshot_html`` is a standalone page with every row of
the canvas and its thumbnails inlined as ``data:`` URIs, so the file opens offline. Concept
names are untrusted text: everything user-provided goes through ``html.escape``.
"""
from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

from ..naming.rules import MIN_CONCEPT_SIZE, TRASH, UNLABELED



def _progress_line(named: int, unlabeled: int, trash: int) -> str:
    return f"{named} named / {unlabeled} unlabeled / {trash} trash of {named + unlabeled + trash}"


def summary_html(snapshot: Mapping, *, category: str, annotator: str) -> str:
    """A concept summary table: name, size and a warning for concepts under 3 members."""
    sizes = [(c["id"], c["name"], len(c["members"])) for c in snapshot["concepts"]]
    sizes += [(UNLABELED, UNLABELED, len(snapshot["unlabeled"])), (TRASH, TRASH, len(snapshot["trash"]))]
    return summary_html_of_sizes(sizes, category=category, annotator=annotator)


def summary_html_of_sizes(sizes: Sequence[tuple[str, str, int]], *, category: str, annotator: str) -> str:
    """:func:`summary_html` from ``NamingState.sizes()``: ``(place, name, size)`` of each concept,
    then unlabeled and trash (no member lists needed)."""
    rows = []
    named = unlabeled = trash = 0
    for place, name, size in sizes:
        if place == UNLABELED:
            unlabeled = size
        elif place == TRASH:
            trash = size
        else:
            named += size
            note = f"fewer than {MIN_CONCEPT_SIZE}: dropped in analysis" if size < MIN_CONCEPT_SIZE else ""
            rows.append(f"<tr><td>{escape(name)}</td><td>{size}</td><td>{note}</td></tr>")
    rows.append(f"<tr><td><i>{UNLABELED}</i></td><td>{unlabeled}</td><td></td></tr>")
    rows.append(f"<tr><td><i>{TRASH}</i></td><td>{trash}</td><td></td></tr>")
    return (
        '<div class="xnaming-summary">'
        f"<p><b>Naming of {escape(category)}</b> by {escape(annotator)}: {_progress_line(named, unlabeled, trash)}. "
        "(Static summary; run the notebook to use the naming widget.)</p>"
        "<table><thead><tr><th>concept</th><th>members</th><th></th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></div>"
    )


_PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
section { border: 1px solid #ccc; border-radius: 6px; margin: 0.8em 0; padding: 0.5em; }
section h2 { font-size: 1em; margin: 0 0 0.4em; }
.warn { color: #b35900; font-weight: normal; font-size: 0.9em; }
.thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
figure { margin: 0; text-align: center; font-size: 0.7em; }
.placeholder { display: flex; align-items: center; justify-content: center; background: #eee; color: #777; }
"""


def _thumb_html(activation_id: str, png: bytes | None, size: int) -> str:
    label = escape(activation_id)
    if png:
        src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        picture = f'<img src="{src}" width="{size}" height="{size}" alt="{label}">'
    else:
        picture = (f'<div class="placeholder" style="width:{size}px;height:{size}px" '
                   f'role="img" aria-label="{label}">no image</div>')
    return f"<figure>{picture}<figcaption>{label}</figcaption></figure>"


def _section(title: str, members: Sequence[str], thumbs: Mapping[str, bytes | None], size: int,
             warn_small: bool) -> str:
    warning = ""
    if warn_small and len(members) < MIN_CONCEPT_SIZE:
        warning = f' <span class="warn">(fewer than {MIN_CONCEPT_SIZE} members: dropped in analysis)</span>'
    cells = "".join(_thumb_html(aid, thumbs.get(aid), size) for aid in members)
    return (f"<section><h2>{title} ({len(members)}){warning}</h2>"
            f'<div class="thumbs">{cells}</div></section>')


def snapshot_html(snapshot: Mapping, thumbnails: Mapping[str, bytes | None], *, category: str,
                  annotator: str, saved_at: str | None = None, thumb_size: int = 96) -> str:
    """A self-contained HTML page of the naming: every row with its thumbnails inlined."""
    sections = [_section("Unlabeled", snapshot["unlabeled"], thumbnails, thumb_size, warn_small=False)]
    sections += [_section(escape(c["name"]), c["members"], thumbnails, thumb_size, warn_small=True)
                 for c in snapshot["concepts"]]
    sections.append(_section("Trash", snapshot["trash"], thumbnails, thumb_size, warn_small=False))
    title = f"Naming of {escape(category)} by {escape(annotator)}"
    named = sum(len(c["members"]) for c in snapshot["concepts"])
    stamp = f" Saved at {escape(saved_at)}." if saved_at else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title><style>{_PAGE_STYLE}</style></head><body>"
        f"<h1>{title}</h1><p>{_progress_line(named, len(snapshot['unlabeled']), len(snapshot['trash']))}.{stamp}</p>"
        + "".join(sections) + "</body></html>\n"
    )


def write_snapshot(path: str | os.PathLike, page: str) -> Path:
    """Write an HTML page to ``path`` (folders created as needed) and return the path."""
    from .._files import write_text_atomic

    return write_text_atomic(path, page)
