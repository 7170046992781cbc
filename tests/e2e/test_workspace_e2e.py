"""The naming workspace in JupyterLab, as a person uses it: drop targets that stay in view,
drags that scroll the rows, rubber-band selection, a selection visible on any heatmap, help that
JupyterLab's CSS cannot misalign, and focus that comes back when a panel closes.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import (  # noqa: E402
    open_notebook, run_cell, screenshot_on_failure, synthetic_setup, visible_ids, write_notebook,
)

pytestmark = pytest.mark.e2e

N_IMAGES = 120  # 360 activations


def test_workspace(lab, browser):
    write_notebook(lab.root / "workspace.ipynb", [synthetic_setup(lab.root, N_IMAGES, autosave="namings/ws.json",
                                                                  annotator="ws") + "w.create_concept('toe')\nw"])
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    with screenshot_on_failure(page, "workspace"):
        _scenario(page, lab)


def _progress(page):
    return page.evaluate("document.querySelector('.xn-progress').textContent")


def _scenario(page, lab):
    open_notebook(page, lab, "workspace.ipynb")
    run_cell(page, 0)
    page.wait_for_selector(".xn-root .xn-thumb img[src^='data:image/png']", timeout=60_000, state="attached")
    page.locator(".xn-root").evaluate("r => r.scrollIntoView({block: 'start'})")
    pool = page.locator(".xn-row-pool .xn-grid")

    # a rubber band over the pool's background selects the thumbnails it covers
    box = pool.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 150, steps=5)
    page.mouse.up()
    assert page.locator(".xn-thumb.xn-selected").count() == 4  # 2 x 2 cells of 96 px (+4 px gaps)

    # the selection is plain on a heatmap: a 3 px ring, a veil and a check mark
    look = page.locator(".xn-thumb.xn-selected").first.evaluate(
        "t => ({outline: getComputedStyle(t).outlineWidth, mark: getComputedStyle(t, '::after').content})")
    assert look["outline"] == "3px" and "✓" in look["mark"], look

    # scroll the rows to their end: the drop targets are still in view; drop the selection on Trash
    page.locator(".xn-rows").evaluate("r => { r.scrollTop = r.scrollHeight; }")
    trash_chip = page.locator('.xn-target[data-target="trash"]')
    assert trash_chip.is_visible()
    dragged = page.locator(".xn-thumb.xn-selected").first
    dragged.scroll_into_view_if_needed()
    start, end = dragged.bounding_box(), trash_chip.bounding_box()
    page.mouse.move(start["x"] + 40, start["y"] + 40)
    page.mouse.down()
    page.mouse.move(start["x"] + 55, start["y"] + 55, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("document.querySelector('.xn-progress').textContent.includes('· 4 trash')", timeout=15_000)

    # a drag held near the bottom edge of the rows scrolls them
    page.locator(".xn-rows").evaluate("r => { r.scrollTop = 0; }")
    rows_box = page.locator(".xn-rows").bounding_box()
    thumb = page.locator('.xn-row-pool .xn-thumb[aria-posinset="1"]').bounding_box()
    page.mouse.move(thumb["x"] + 40, thumb["y"] + 40)
    page.mouse.down()
    page.mouse.move(thumb["x"] + 55, thumb["y"] + 55, steps=3)
    edge_y = min(rows_box["y"] + rows_box["height"], 900) - 10
    for i in range(12):
        page.mouse.move(rows_box["x"] + 20 + i, edge_y, steps=2)
    scrolled = page.locator(".xn-rows").evaluate("r => r.scrollTop")
    page.keyboard.press("Escape")
    page.mouse.up()
    assert scrolled > 0, "holding a drag at the edge scrolls the rows"

    # help: every key sits on the line of its own description, whatever JupyterLab's CSS says
    page.locator('.xn-row-pool .xn-thumb[aria-posinset="1"]').click()
    page.keyboard.press("?")
    page.wait_for_selector(".xn-help")
    lines = page.locator(".xn-help").evaluate(
        "h => [...h.shadowRoot.querySelectorAll('.item')].map(i => [i.querySelector('.keys').getBoundingClientRect().top,"
        " i.querySelector('.what').getBoundingClientRect().top])")
    assert len(lines) > 10 and all(abs(k - w) < 2 for k, w in lines), lines

    # closing the panel with its button gives focus back to the thumbnail: keys keep working
    page.locator(".xn-help").evaluate("h => h.shadowRoot.querySelector('.close').click()")
    assert page.evaluate("document.activeElement.classList.contains('xn-thumb')")
    before = _progress(page)
    page.keyboard.press("x")
    page.wait_for_function("t => document.querySelector('.xn-progress').textContent !== t", arg=before, timeout=15_000)
    assert "· 5 trash" in _progress(page)

    # the preview closed with its × button: focus back in the canvas, Ctrl+Z works at once
    page.locator('.xn-row-pool .xn-thumb[aria-posinset="1"]').click()
    page.keyboard.press(" ")
    page.locator(".xn-preview .xn-panel-close").click()
    assert page.evaluate("document.querySelector('.xn-root').contains(document.activeElement)")
    page.keyboard.press("Control+z")
    page.wait_for_function("document.querySelector('.xn-progress').textContent.includes('· 4 trash')", timeout=15_000)

    # a hover preview opens beside the thumbnail, below the toolbar and the drop targets: it
    # hides no control, even for the pool's top-right thumbnail (regression: it covered merge and sort)
    page.locator(".xn-root").evaluate("r => r.scrollIntoView({block: 'start'})")
    page.evaluate("""() => { document.querySelector('.xn-rows').scrollTop = 0;
                             document.querySelector('.xn-row-pool .xn-grid').scrollTop = 0; }""")
    page.wait_for_timeout(200)
    rows_top = page.locator(".xn-rows").bounding_box()["y"]
    boxes = [b for b in (page.locator(f'.xn-thumb[data-id="{i}"]').bounding_box() for i in visible_ids(page, "unlabeled"))
             if b["y"] >= rows_top]
    top_right = max(boxes, key=lambda b: (-round(b["y"]), b["x"]))
    for spot in (top_right, boxes[0]):
        page.mouse.move(5, 5)
        page.wait_for_selector(".xn-preview", state="detached", timeout=5_000)
        page.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
        page.wait_for_selector(".xn-preview.xn-by-hover img[src^='data:image/png']", timeout=10_000)
        preview = page.locator(".xn-preview").bounding_box()
        for name in (".xn-toolbar", ".xn-targets", ".xn-header"):
            other = page.locator(name).bounding_box()
            assert not _intersects(preview, other), (name, preview, other)
        assert not _intersects(preview, spot), "the preview leaves its thumbnail in view"
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "xnaming-hover-preview.png"))


def _intersects(a, b) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] \
        and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]
