"""Keys pressed in the naming canvas stay in it, in JupyterLab 4 and in Notebook 7.

JupyterLab's notebook shortcuts (M: to Markdown, B/A: insert a cell, X/C/V: cut/copy/paste
cells, Z/Y: undo/redo cell operations, D D: delete the cell, Shift+M: merge cells, Enter: edit
mode, Escape, Shift+Enter: run) listen for keydown on the document before the canvas does. With
a thumbnail focused, every one of them must leave the notebook as it was (same cells, same
types, no edit mode, widget still rendered), with single-key shortcuts on and off; and once the
focus is outside the widget, the notebook's shortcuts work as usual. Also checked here: the text
summary saved in the notebook follows the naming, and is hidden under the live canvas.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import (  # noqa: E402
    cell, cell_types, open_notebook, run_cell, screenshot_on_failure, synthetic_setup, write_notebook,
)

pytestmark = pytest.mark.e2e

N_IMAGES = 60
NOTEBOOK_KEYS = ["m", "b", "a", "x", "c", "v", "z", "y", "d", "d", "Shift+M", "Enter", "Escape",
                 "Shift+Enter", "Control+Enter", "Alt+Enter", "Shift+L", "o", "Shift+O", "r", "y", "m"]


def _focus_thumbnail(page):
    """Click the pool's first thumbnail: it is selected and has the focus."""
    page.locator('.xn-row-pool .xn-thumb[aria-posinset="1"]').click()
    assert page.evaluate("document.activeElement.classList.contains('xn-thumb')")


def _press_all(page, keys):
    for key in keys:
        _focus_thumbnail(page)
        page.keyboard.press(key)
        page.wait_for_timeout(60)  # JupyterLab's two-key sequences (D D) wait for the next key


def _notebook_intact(page, types_before):
    assert cell_types(page) == types_before, "a notebook shortcut changed the cells"
    assert page.locator(".jp-Notebook.jp-mod-editMode").count() == 0, "a key put the notebook in edit mode"
    assert page.locator(".xn-root .xn-thumb").count() > 0, "the widget is no longer rendered"


@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_keys_stay_in_the_widget_and_notebook_shortcuts_work_outside(lab, browser, ui):
    name = f"keys-{ui}.ipynb"
    setup = synthetic_setup(lab.root, N_IMAGES, autosave=f"namings/keys-{ui}.json", annotator=f"keys-{ui}")
    write_notebook(lab.root / name, [setup + "w", "1 + 1"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    with screenshot_on_failure(page, f"keys-{ui}"):
        _scenario(page, lab, name, ui)


def _scenario(page, lab, name, ui):
    open_notebook(page, lab, name, ui=ui)
    run_cell(page, 0)
    page.wait_for_selector(".xn-root .xn-thumb img[src^='data:image/png']", timeout=60_000, state="attached")
    types = cell_types(page)
    assert types == ["code", "code"]

    # 1. single-key shortcuts on: the canvas acts on some keys (X trashes), the notebook on none
    _press_all(page, NOTEBOOK_KEYS)
    _notebook_intact(page, types)
    page.wait_for_function("document.querySelector('.xn-progress').textContent.includes(' 0 trash') === false",
                           timeout=15_000)

    # 2. single-key shortcuts off: keys the canvas ignores still stay out of the notebook
    page.locator(".xn-keys input").uncheck()
    _press_all(page, NOTEBOOK_KEYS)
    _notebook_intact(page, types)

    # 3. the live canvas hides the text summary under it; the summary follows the naming
    assert page.locator(".xnaming-summary").count() == 1
    assert not page.locator(".xnaming-summary").is_visible()
    trash = page.evaluate("document.querySelector('.xn-row-trash .xn-count').textContent")

    # 4. outside the widget the notebook's shortcuts work: B inserts a cell, M makes it Markdown
    cell(page, 1).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.wait_for_function("n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length === n",
                           arg=3, timeout=10_000)
    page.keyboard.press("m")
    page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell').length === 1",
                           timeout=10_000)
    assert cell_types(page) == ["code", "code", "markdown"]

    # the saved notebook carries the current naming in its summary output
    page.keyboard.press("Control+s")
    path = lab.root / name
    summary = ""
    for _ in range(50):
        page.wait_for_timeout(200)
        outputs = json.loads(path.read_text())["cells"][0]["outputs"]
        html = ["".join(o.get("data", {}).get("text/html", "")) for o in outputs]
        summary = next((h for h in html if "xnaming-summary" in h), "")
        if f"{trash} trash" in summary and len(json.loads(path.read_text())["cells"]) == 3:
            break
    assert f"/ {trash} trash of {3 * N_IMAGES}" in summary, summary
