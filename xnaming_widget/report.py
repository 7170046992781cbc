"""A self-contained HTML report: tables and matplotlib figures in one file that opens offline."""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pandas as pd

Block = Union["Figure", pd.DataFrame, str]  # noqa: F821 - matplotlib Figure, imported lazily

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } p.note { color: #555; }
"""


def figure_png(fig, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


@dataclass
class Report:
    """Collects sections of text, tables and figures and writes them as one HTML file."""

    title: str
    sections: list[tuple[str, list[Block]]] = field(default_factory=list)

    def add(self, heading: str, *blocks: Block) -> "Report":
        self.sections.append((heading, list(blocks)))
        return self

    def to_html(self) -> str:
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 f"<style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>"]
        for heading, blocks in self.sections:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.extend(_render_block(block) for block in blocks)
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, path: str | Path) -> Path:
        from ._files import write_text_atomic

        return write_text_atomic(path, self.to_html())


def _render_block(block: Block) -> str:
    if isinstance(block, str):
        return f"<p class='note'>{html.escape(block)}</p>"
    if isinstance(block, pd.DataFrame):
        return block.to_html(float_format=lambda x: f"{x:.3f}", na_rep="–", escape=True)
    if hasattr(block, "savefig"):
        data = base64.b64encode(figure_png(block)).decode("ascii")
        return f"<img alt='figure' src='data:image/png;base64,{data}'>"
    raise TypeError(f"A report block must be text, a DataFrame or a matplotlib Figure, not {type(block).__name__}.")
