"""The naming widget in a real JupyterLab, driven like a person would: drag, type, keys, reload.

One scenario on 540 activations (180 synthetic images x 3 significant x-features) with real
PNG thumbnails: drag three thumbnails into a new concept, give it a name that is an HTML
injection attempt, move a selection with the keyboard, undo and redo, trash one, make a second
concept with N, merge, undo, delete it, reload the page, then read ``w.naming`` and the
autosave file from the next cell.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import (  # noqa: E402
    html5_drag, open_notebook, run_cell, screenshot_on_failure, synthetic_setup, visible_ids, write_notebook,
)

pytestmark = pytest.mark.e2e

N_IMAGES = 180
N_SHOWN = 3 * N_IMAGES
NAME = 'toe cap <img src=x onerror=alert(1)> & "laces"'

RESULT_CELL = '''\
import json, pathlib
from xnaming_widget.naming import read_naming_file
doc = read_naming_file("namings/e2e.json")  # the snapshot with its journal replayed
table = w.naming
named = table[table["status"] == "named"]
result = {
    "file": {"concepts": doc["concepts"], "trash": doc["trash"], "n_unlabeled": len(doc["unlabeled"]),
             "annotator": doc["annotator"], "category": doc["category"]},
    "table": {"rows": len(table), "named": sorted(named["activation_id"]), "names": sorted(set(named["concept"])),
              "trash": sorted(table.loc[table["status"] == "trash", "activation_id"])},
}
pathlib.Path("result.json").write_text(json.dumps(result))
print("RESULT", len(table), len(named), len(result["table"]["trash"]))
'''


def _thumb(page, activation_id):
    return page.locator(f'.xn-thumb[data-id="{activation_id}"]')


# cells are rebound in place as a grid scrolls: their order is aria-posinset, not the DOM's
IN_GRID_ORDER = "els => els.sort((a, b) => a.getAttribute('aria-posinset') - b.getAttribute('aria-posinset')).map(e => e.dataset.id)"


def _row_ids(page, key):
    """Ids of a row's cells in the DOM (in the grid's order), after scrolling the row into view (rows out of view render none)."""
    page.locator(f'.xn-row[data-row="{key}"] .xn-grid').scroll_into_view_if_needed()
    page.wait_for_timeout(100)  # the grids update on the next animation frame
    return page.eval_on_selector_all(f'.xn-row[data-row="{key}"] .xn-grid > .xn-thumb', IN_GRID_ORDER)


def _concept_rows(page):
    return page.eval_on_selector_all(
        ".xn-row-concept", "els => els.map(e => ({key: e.dataset.row, name: e.querySelector('.xn-name').textContent, "
        "ids: [...e.querySelectorAll('.xn-thumb')].sort((a, b) => a.getAttribute('aria-posinset') "
        "- b.getAttribute('aria-posinset')).map(t => t.dataset.id)}))")


def _wait_progress(page, named, unlabeled, trash):
    text = f"{named} named · {unlabeled} unlabeled · {trash} trash of {N_SHOWN}"
    page.wait_for_function("t => document.querySelector('.xn-progress')?.textContent === t", arg=text, timeout=15_000)


def _wait_confirmed(page):
    """Wait until every concept row is one Python confirmed (no optimistic 'pending-' or draft row)."""
    page.wait_for_function("() => [...document.querySelectorAll('.xn-row-concept')].every(r => "
                           "!r.dataset.row.startsWith('pending-') && r.dataset.row !== '__draft__')", timeout=15_000)


def _wait_saved_version(page, python_state_check):
    page.wait_for_function(python_state_check, timeout=15_000)


def test_name_concepts_in_jupyterlab(lab, browser, request):
    write_notebook(lab.root / "naming.ipynb", [synthetic_setup(lab.root, N_IMAGES) + "w", RESULT_CELL])
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    dialogs, page_errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    with screenshot_on_failure(page, "failure", lambda: f"\nserver log tail:\n{lab.log.read_text()[-2000:]}"):
        _scenario(page, lab, dialogs, page_errors)


def _scenario(page, lab, dialogs, page_errors):
    open_notebook(page, lab, "naming.ipynb")
    run_cell(page, 0)
    page.wait_for_selector(".xn-root .xn-thumb", timeout=60_000)
    _wait_progress(page, 0, N_SHOWN, 0)
    # a virtual grid: only the cells near the visible rows are in the DOM
    rendered = page.locator(".xn-root .xn-thumb").count()
    assert 0 < rendered < N_SHOWN / 2, f"{rendered} of {N_SHOWN} thumbnails in the DOM"

    # thumbnails are fetched from Python for the cells shown, as binary, and decode
    page.locator(".xn-newzone").scroll_into_view_if_needed()
    page.wait_for_function("document.querySelectorAll('.xn-thumb img[src^=\"data:image/png\"]').length > 0", timeout=15_000)
    live = page.locator('.xn-thumb img[src^="data:image/png"]').count()
    assert 0 < live <= rendered, f"{live} thumbnails hold URLs for {rendered} cells"
    page.wait_for_function("[...document.querySelectorAll('.xn-thumb img[src]')].some(i => i.naturalWidth > 0)",
                           timeout=15_000)

    # 1. drag three selected thumbnails onto the new-concept zone (real HTML5 drag and drop)
    zone = page.locator(".xn-newzone")
    zone.scroll_into_view_if_needed()
    on_screen = visible_ids(page, "unlabeled")
    assert len(on_screen) >= 6, "the pool and the drop zone should fit on screen together"
    first3, next2, lone = on_screen[-3:], on_screen[:2], on_screen[2]
    _thumb(page, first3[0]).click()
    _thumb(page, first3[1]).click(modifiers=["Control"])
    _thumb(page, first3[2]).click(modifiers=["Control"])
    assert page.locator(".xn-thumb.xn-selected").count() == 3
    html5_drag(page, _thumb(page, first3[1]), zone)
    name_box = page.locator(".xn-name-input")
    name_box.wait_for(timeout=15_000)
    _wait_progress(page, 3, N_SHOWN - 3, 0)

    # 2. rename it to an HTML injection attempt: shown as text, nothing parsed, no dialog
    name_box.fill(NAME)
    name_box.press("Enter")
    page.wait_for_function("n => document.querySelector('.xn-row-concept .xn-name')?.textContent === n", arg=NAME,
                           timeout=15_000)
    _wait_confirmed(page)
    rows = _concept_rows(page)
    assert len(rows) == 1 and rows[0]["name"] == NAME and sorted(rows[0]["ids"]) == sorted(first3)
    concept_key = rows[0]["key"]
    assert page.locator(".xn-root img[src='x']").count() == 0
    assert page.locator(".xn-name img").count() == 0
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert dialogs == []

    # 3. move a selection with the keyboard: click + Shift-click a range, press 1
    _thumb(page, next2[0]).click()
    _thumb(page, next2[1]).click(modifiers=["Shift"])
    page.keyboard.press("1")
    _wait_progress(page, 5, N_SHOWN - 5, 0)
    assert sorted(_row_ids(page, concept_key)) == sorted(first3 + next2)
    assert "Moved 2 images" in page.locator(".xn-live").inner_text()

    # 4. undo and redo with the keyboard
    page.keyboard.press("Control+z")
    _wait_progress(page, 3, N_SHOWN - 3, 0)
    assert sorted(_row_ids(page, concept_key)) == sorted(first3)  # and the progress line: back in the pool
    page.keyboard.press("Control+Shift+z")
    _wait_progress(page, 5, N_SHOWN - 5, 0)

    # 5. trash one
    _thumb(page, lone).click()
    page.keyboard.press("x")
    _wait_progress(page, 5, N_SHOWN - 6, 1)
    assert _row_ids(page, "trash") == [lone]

    # 6. a second concept from the keyboard (N), merge the two rows, undo, delete the second
    extra = [i for i in visible_ids(page, "unlabeled") if i not in first3 + next2 + [lone]][:3]
    _thumb(page, extra[0]).click()
    _thumb(page, extra[1]).click(modifiers=["Control"])
    _thumb(page, extra[2]).click(modifiers=["Control"])
    page.keyboard.press("n")
    second_box = page.locator(".xn-name-input")
    second_box.wait_for(timeout=15_000)
    second_box.fill("heel")
    second_box.press("Enter")
    _wait_progress(page, 8, N_SHOWN - 9, 1)
    page.wait_for_function("() => document.querySelectorAll('.xn-row-concept').length === 2", timeout=15_000)
    _wait_confirmed(page)
    for box in page.locator(".xn-row-concept .xn-mergebox").all():
        box.check()
    page.locator(".xn-merge").click()
    merge_name = page.locator(".xn-merge-dialog input")
    merge_name.wait_for(timeout=15_000)
    assert merge_name.input_value() == NAME  # merge asks for the name, the first concept's to start with
    merge_name.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.xn-row-concept').length === 1", timeout=15_000)
    merged = _concept_rows(page)
    assert merged[0]["name"] == NAME and sorted(merged[0]["ids"]) == sorted(first3 + next2 + extra)
    page.keyboard.press("Control+z")
    page.wait_for_function("() => document.querySelectorAll('.xn-row-concept').length === 2", timeout=15_000)
    second_key = _concept_rows(page)[1]["key"]
    page.locator(f'.xn-row[data-row="{second_key}"] [data-action=delete]').click()
    _wait_progress(page, 5, N_SHOWN - 6, 1)
    page.wait_for_function("() => document.querySelectorAll('.xn-row-concept').length === 1", timeout=15_000)
    assert sorted(_row_ids(page, concept_key)) == sorted(first3 + next2)  # extra went back to the pool

    page.wait_for_function("document.querySelector('.xn-saved')?.textContent.startsWith('saved')", timeout=15_000)
    pool_count = "document.querySelector('.xn-row-pool .xn-count').textContent"
    before_reload = {"concepts": _concept_rows(page), "trash": _row_ids(page, "trash"),
                     "unlabeled": page.evaluate(pool_count)}

    # 7. reload the page: the kernel keeps the widget, the view comes back with the same state
    page.locator(".jp-Cell").nth(1).locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    page.reload()
    page.wait_for_selector(".xn-root .xn-thumb", timeout=60_000)
    _wait_progress(page, 5, N_SHOWN - 6, 1)
    after_reload = {"concepts": _concept_rows(page), "trash": _row_ids(page, "trash"),
                    "unlabeled": page.evaluate(pool_count)}
    assert after_reload == before_reload
    assert page.locator(".xn-row-concept .xn-name").inner_text() == NAME
    # JupyterLab's own single-key shortcuts (1 = heading, X = cut cell) stayed out of the way
    assert page.locator(".jp-Notebook .jp-Cell").count() == 2
    assert page.locator(".jp-Notebook .jp-MarkdownCell").count() == 0

    # 8. the next cell reads w.naming and the autosave file
    run_cell(page, 1)
    out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea").inner_text()
    assert re.search(rf"RESULT {N_SHOWN} 5 1", out), out
    result = json.loads((lab.root / "result.json").read_text())
    assert result["file"]["annotator"] == "e2e" and result["file"]["category"] == "Sneaker"
    assert [c["name"] for c in result["file"]["concepts"]] == [NAME]
    assert sorted(result["file"]["concepts"][0]["members"]) == sorted(first3 + next2)
    assert result["file"]["trash"] == [lone]
    assert result["file"]["n_unlabeled"] == N_SHOWN - 6
    assert result["table"] == {"rows": N_SHOWN, "named": sorted(first3 + next2), "names": [NAME], "trash": [lone]}
    assert dialogs == []
    assert page_errors == [], page_errors
