"""Static HTML: the notebook's concept summary and the self-contained snapshot page.

Pages are parsed with the standard library's HTML parser, so the checks see what a browser
would build (elements and text), not substrings that might be inside attributes.
"""
from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pandas as pd
from PIL import Image

from xnaming_widget.widget import NamingWidget
from xnaming_widget.widget.html_export import snapshot_html, summary_html

EVIL = "<img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """Collects elements (tag, attributes) and the visible text of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def tags(self, name):
        return [attrs for tag, attrs in self.elements if tag == name]


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((6, 6, 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


SNAPSHOT = {
    "concepts": [{"id": "c1", "name": EVIL, "members": ["a", "b"]},
                 {"id": "c2", "name": "laces & eyelets", "members": ["c", "d", "e"]}],
    "unlabeled": ["f"],
    "trash": ["g"],
}


def test_summary_escapes_names_and_counts_rows():
    page = Page(summary_html(SNAPSHOT, category="Sneaker", annotator="<ana>"))
    assert page.tags("img") == []  # the name did not become an element
    cells = [t for t in page.text if t.strip()]
    assert EVIL in cells and "laces & eyelets" in cells
    rows = page.tags("tr")
    assert len(rows) == 1 + 2 + 2  # header, two concepts, unlabeled and trash
    text = "".join(page.text)
    assert "5 named / 1 unlabeled / 1 trash of 7" in text and "<ana>" in text
    assert text.count("fewer than 3") == 1  # only the two-member concept is flagged


def test_snapshot_inlines_every_thumbnail_and_draws_placeholders():
    thumbs = {aid: png(10 * i) for i, aid in enumerate("abcdefg")}
    thumbs["e"] = None
    page = Page(snapshot_html(SNAPSHOT, thumbs, category="Sneaker", annotator="ana", saved_at="2026-01-01T00:00Z"))
    images = page.tags("img")
    assert [i["alt"] for i in images] == ["f", "a", "b", "c", "d", "g"]  # unlabeled, concepts, trash
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix)
        assert base64.b64decode(attrs["src"][len(prefix):]) == thumbs[attrs["alt"]]
    placeholders = [a for a in page.tags("div") if a.get("role") == "img"]
    assert [p["aria-label"] for p in placeholders] == ["e"]
    headings = [t for t in page.text if "(" in t and ")" in t]
    assert any(t.startswith(EVIL) for t in headings)  # the name is text in a heading
    linked = [v for _, attrs in page.elements for k, v in attrs.items() if k in ("src", "href")]
    assert all(v.startswith("data:") for v in linked)  # nothing fetched from outside: opens offline


def test_widget_to_html_writes_the_current_naming(tmp_path):
    rows = [dict(activation_id=f"S/img{i}/x0", image_id=f"img{i}", category="S", xfeature=0, value=1.0,
                 weight=1.0, contribution=1.0, significant=True, predicted="S", label="S") for i in range(4)]
    table = pd.DataFrame(rows)

    class Acts:
        fingerprint = "f"

        def __init__(self):
            self.table = table

        def thumbnail(self, aid):
            return png(int(aid.split("img")[1][0]) * 40)

        def image_thumbnail(self, image_id):
            return None

    w = NamingWidget(Acts(), category="S", annotator="ana")
    w.create_concept(EVIL, ["S/img1/x0", "S/img2/x0", "S/img3/x0"])
    w.move(["S/img0/x0"], "trash")
    path = w.to_html(tmp_path / "out" / "snapshot.html")
    page = Page(path.read_text(encoding="utf-8"))
    assert [i["alt"] for i in page.tags("img")] == ["S/img1/x0", "S/img2/x0", "S/img3/x0", "S/img0/x0"]
    assert base64.b64decode(page.tags("img")[0]["src"].split(",", 1)[1]) == png(40)
    text = "".join(page.text)
    assert "3 named / 0 unlabeled / 1 trash of 4" in text and EVIL in text
    assert "fewer than 3" not in text
