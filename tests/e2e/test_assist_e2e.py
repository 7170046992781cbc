"""Assisted naming in a real JupyterLab: the suggestions strip, accept, reject, propose, confirm.

An ActivationSet built directly with a ``descriptors=`` array of three tight clusters (90
activations; cluster c's thumbnails are tinted red, green or blue), so every suggestion for a
concept seeded in cluster 0 comes from cluster 0. Driven like a person would, by keyboard where
it can be: open the strip with S, check it shows exactly Python's ``suggest`` ids in their order,
accept a selection (Space, Enter) and then all (Shift+A), undo the accept-all in one step,
reject one by its ✕ and one by R, propose concepts with the toolbar button, see the proposed
members drawn dashed, confirm a row with its button and a selection with Y. A cell below reads
Python's state after each step. Screenshots of the strip and of the proposed rows are kept in
the temp folder (``xnaming-e2e-assist-*.png``) for a person to look at.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import (  # noqa: E402
    cell_types, open_notebook, run_cell, screenshot_on_failure, write_notebook,
)

pytestmark = pytest.mark.e2e

N_PER_CLUSTER = 30
N_SHOWN = 3 * N_PER_CLUSTER
SHOTS = Path(tempfile.gettempdir())

ASSIST_MODULE = '''\
"""Activations of three clusters with descriptors, for the assisted-naming browser test."""
import io
import numpy as np, pandas as pd
from PIL import Image
from xnaming_widget.activations import ActivationSet

TINTS = [(210, 60, 50), (60, 170, 80), (60, 100, 210)]


def _png(rgb):
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def clustered(n_per_cluster, dims=24, size=40, seed=0):
    """``(acts, clusters)``: cluster c's descriptors lie around axis c, its thumbnails are tinted TINTS[c]."""
    rng = np.random.default_rng(seed)
    ids, rows, thumbs, clusters = [], [], [], []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for c, tint in enumerate(TINTS):
        members = []
        for i in range(n_per_cluster):
            n = c * n_per_cluster + i
            aid = f"bird/img{n:04d}/x{i % 2}"
            members.append(aid)
            centre = np.zeros(dims)
            centre[c] = 10.0
            rows.append(centre + 0.4 * rng.normal(size=dims))
            cy, cx = 0.25 + 0.5 * rng.random(), 0.25 + 0.5 * rng.random()
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.03)[..., None]
            base = np.full((size, size, 3), 235.0)
            thumbs.append(_png((base * (1 - blob) + np.array(tint) * blob).clip(0, 255).astype(np.uint8)))
        ids += members
        clusters.append(members)
    n = len(ids)
    table = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "bird",
                          "xfeature": [int(a[-1]) for a in ids], "value": 1.0, "weight": 1.0, "contribution": 1.0,
                          "significant": True, "predicted": "bird", "label": "bird"})
    images = list(dict.fromkeys(table["image_id"]))
    acts = ActivationSet(table, images, np.zeros((len(images), size, size, 3), np.uint8), np.arange(n),
                         np.zeros((n, size, size), np.float16), thumbs, thumbs[: len(images)],
                         descriptors=np.array(rows, dtype=np.float32))
    return acts, clusters
'''

SETUP_CELL = f'''\
from assist_activations import clustered
from xnaming_widget.widget import NamingWidget
acts, clusters = clustered({N_PER_CLUSTER})
w = NamingWidget(acts, category="bird", annotator="e2e", autosave="namings/assist.json", thumb_size=72)
cid = w.create_concept("head", clusters[0][:3])
w
'''

PROBE_CELL = '''\
import json, pathlib
probe = {"state": w.state, "cid": cid, "suggest": w.suggest(cid, k=20),
         "scores": w.suggestion_scores(cid, k=20).tolist(), "suggest_many": w.suggest(cid, k=200),
         "rejected": sorted(w._naming.rejected(cid)), "clusters": clusters, "error": w.error}
pathlib.Path("probe.json").write_text(json.dumps(probe))
print("PROBE", probe["state"]["version"])
'''


def _probe(page, lab):
    run_cell(page, 1)
    return json.loads((lab.root / "probe.json").read_text())


def _strip_ids(page):
    return page.eval_on_selector_all(".xn-suggest .xn-sug", "els => els.map(e => e.dataset.id)")


def _wait_strip_ready(page):
    """Wait until the strip shows Python's answer to its latest request (not 'looking…' or 'updating…')."""
    page.wait_for_function("() => { const s = document.querySelector('.xn-suggest'); const t = s && "
                           "s.querySelector('.xn-sug-status').textContent; return s && s.dataset.status === 'ready' "
                           "&& !/looking|updating/.test(t); }", timeout=15_000)


def _members(state, cid):
    return next(c["members"] for c in state["concepts"] if c["id"] == cid)


def _wait_version(page, version):
    page.wait_for_function("v => Number(document.querySelector('.xn-root').dataset.version) >= v", arg=version,
                           timeout=15_000)


def _focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.dataset.id")


def test_assisted_naming_in_jupyterlab(lab, browser):
    (lab.root / "assist_activations.py").write_text(ASSIST_MODULE, encoding="utf-8")
    write_notebook(lab.root / "assist.ipynb", [SETUP_CELL, PROBE_CELL])
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page_errors = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    with screenshot_on_failure(page, "assist", lambda: f"\nserver log tail:\n{lab.log.read_text()[-2000:]}"):
        _scenario(page, lab)
        assert page_errors == [], page_errors


def _scenario(page, lab):
    open_notebook(page, lab, "assist.ipynb")
    run_cell(page, 0)
    page.wait_for_selector(".xn-root .xn-row-concept .xn-thumb img[src^='data:image/png']", timeout=60_000)
    first = _probe(page, lab)
    types = cell_types(page)  # Shift+Enter on the last cell added one below it
    cid, clusters = first["cid"], first["clusters"]
    seeds = clusters[0][:3]
    assert _members(first["state"], cid) == seeds

    # 1. S on a concept's image opens "Suggested for head": exactly Python's ids, in its order
    page.locator(f'.xn-row[data-row="{cid}"] .xn-thumb[data-id="{seeds[0]}"]').click()
    page.keyboard.press("s")
    _wait_strip_ready(page)
    shown = _strip_ids(page)
    assert page.locator(".xn-suggest .xn-sug-title").inner_text() == "Suggested for “head”"
    probe = _probe(page, lab)
    assert shown == probe["suggest"] and len(shown) == 20
    assert set(shown) <= set(clusters[0][3:]), "the clusters make the right suggestions predictable"
    # Python's scores came with them: each suggestion is marked likely (score > 0) or doubtful
    marks = page.eval_on_selector_all(".xn-suggest .xn-sug", "els => els.map(e => e.classList.contains('xn-sug-likely')"
                                      " ? 'likely' : e.classList.contains('xn-sug-doubtful') ? 'doubtful' : 'none')")
    assert marks == ["likely" if s > 0 else "doubtful" for s in probe["scores"]], marks
    page.wait_for_function("[...document.querySelectorAll('.xn-sug img')].filter(i => i.naturalWidth > 0).length "
                           "=== 20", timeout=15_000)
    page.locator(".xn-suggest").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "xnaming-e2e-assist-strip.png"))

    # 2. accept a selection by keyboard: Space on the 1st and 3rd, Enter -> one accept
    page.locator(f'.xn-sug[data-id="{shown[0]}"]').focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.locator(".xn-sug-accept").inner_text() == "Accept selected (2)"
    page.screenshot(path=str(SHOTS / "xnaming-e2e-assist-selected.png"))
    version = probe["state"]["version"]
    page.keyboard.press("Enter")
    _wait_version(page, version + 1)
    _wait_strip_ready(page)
    probe = _probe(page, lab)
    accepted = [shown[0], shown[2]]
    assert probe["state"]["version"] == version + 1, "accept selected is one operation"
    assert set(_members(probe["state"], cid)) == set(seeds + accepted)
    assert {a: probe["state"]["marks"][a] for a in accepted} == dict.fromkeys(accepted, ["suggestion", False])
    assert _strip_ids(page) == probe["suggest"], "the strip refreshed after the change"
    assert not set(accepted) & set(_strip_ids(page))

    # 3. accept all with Shift+A: one operation, and one undo step reverts it
    before_all = probe["state"]
    page.locator(".xn-suggest .xn-sug").first.focus()
    everything = _strip_ids(page)
    page.keyboard.press("Shift+A")
    _wait_version(page, before_all["version"] + 1)
    _wait_strip_ready(page)
    probe = _probe(page, lab)
    assert probe["state"]["version"] == before_all["version"] + 1
    assert set(_members(probe["state"], cid)) == set(seeds + accepted + everything)
    assert all(probe["state"]["marks"][a] == ["suggestion", False] for a in everything)
    page.locator(".xn-suggest").click(position={"x": 5, "y": 5})  # focus back in the canvas after the cell ran
    page.keyboard.press("Control+z")
    _wait_version(page, before_all["version"] + 2)
    _wait_strip_ready(page)
    probe = _probe(page, lab)
    assert _members(probe["state"], cid) == _members(before_all, cid), "one undo step reverts accept-all"
    assert probe["state"]["marks"] == before_all["marks"] and probe["state"]["unlabeled"] == before_all["unlabeled"]
    assert _strip_ids(page) == probe["suggest"]

    # 4. reject one by its ✕ and one by R: recorded in Python, never suggested again
    by_click = _strip_ids(page)[1]
    page.locator(f'.xn-sug[data-id="{by_click}"] .xn-sug-reject').click()
    page.wait_for_function("id => !document.querySelector(`.xn-sug[data-id=\"${id}\"]`)", arg=by_click, timeout=15_000)
    _wait_version(page, before_all["version"] + 3)
    _wait_strip_ready(page)  # a rejection changes the ranking: take the next one from the new list
    by_key = _strip_ids(page)[3]
    page.locator(f'.xn-sug[data-id="{by_key}"]').focus()
    page.keyboard.press("r")
    page.wait_for_function("id => !document.querySelector(`.xn-sug[data-id=\"${id}\"]`)", arg=by_key, timeout=15_000)
    _wait_strip_ready(page)
    assert _focused_id(page) not in (None, by_key), "the focus moved on to another suggestion"
    probe = _probe(page, lab)
    assert probe["rejected"] == sorted([by_click, by_key])
    assert not {by_click, by_key} & set(probe["suggest_many"]), "rejected ones are never suggested again"
    assert not {by_click, by_key} & set(_strip_ids(page)) and _strip_ids(page) == probe["suggest"]

    # 5. Escape closes the strip; the keys pressed in it never reached the notebook
    page.locator(".xn-suggest .xn-sug").first.focus()
    page.keyboard.press("Escape")
    page.wait_for_selector(".xn-suggest", state="detached", timeout=15_000)
    assert cell_types(page) == types, "a key in the strip acted on the notebook (A inserts a cell, R makes it raw)"
    assert page.locator(".jp-Notebook.jp-mod-editMode").count() == 0

    # 6. propose concepts with the toolbar button: one op; proposed members drawn dashed with a badge
    version = probe["state"]["version"]
    page.locator(".xn-propose").click()
    _wait_version(page, version + 1)
    page.wait_for_selector(".xn-notice:not([hidden])", timeout=15_000)
    assert page.locator(".xn-notice-text").inner_text().startswith("Proposed ")
    page.locator(".xn-toolbar").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "xnaming-e2e-assist-notice.png"))
    probe = _probe(page, lab)
    proposed = [c for c in probe["state"]["concepts"] if c["name"].startswith("proposed")]
    assert proposed and probe["state"]["version"] == version + 1, "propose is one operation"
    assert all(probe["state"]["marks"][a] == ["proposal", True] for c in proposed for a in c["members"])
    first_row = page.locator(f'.xn-row[data-row="{proposed[0]["id"]}"]')
    first_row.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    cell_style = page.evaluate("""id => { const c = document.querySelector(`.xn-thumb[data-id="${id}"]`);
        const s = getComputedStyle(c);
        return {border: s.borderTopStyle, badge: !c.querySelector('.xn-prop-badge').hidden,
                cls: c.classList.contains('xn-proposed')}; }""", proposed[0]["members"][0])
    assert cell_style == {"border": "dashed", "badge": True, "cls": True}
    assert first_row.locator(".xn-proposed-count").inner_text() == "proposed"
    page.screenshot(path=str(SHOTS / "xnaming-e2e-assist-proposed.png"))

    # 7. confirm: the first proposed row by its button (one op), two members of the second by Y
    first_row.locator(".xn-confirm").click()
    _wait_version(page, version + 2)
    page.wait_for_function("id => !document.querySelector(`.xn-row[data-row=\"${id}\"] .xn-thumb.xn-proposed`)",
                           arg=proposed[0]["id"], timeout=15_000)
    assert first_row.locator(".xn-confirm").is_hidden()
    second = proposed[1]
    row = page.locator(f'.xn-row[data-row="{second["id"]}"]')
    row.scroll_into_view_if_needed()
    row.locator(f'.xn-thumb[data-id="{second["members"][0]}"]').click()
    row.locator(f'.xn-thumb[data-id="{second["members"][1]}"]').click(modifiers=["Control"])
    page.keyboard.press("y")
    _wait_version(page, version + 3)
    probe = _probe(page, lab)
    assert all(probe["state"]["marks"][a] == ["proposal", False] for a in proposed[0]["members"])
    assert [probe["state"]["marks"][a][1] for a in second["members"][:3]] == [False, False, True]
    assert cell_types(page) == types

    # 8. the help lists the new keys (in its shadow root)
    page.locator(".xn-title").click()  # the probe cell had the focus
    page.keyboard.press("?")
    page.wait_for_selector(".xn-help", timeout=15_000)
    help_text = page.evaluate("document.querySelector('.xn-help').shadowRoot.textContent")
    assert "With the focus on a suggestion" in help_text and "Confirm the selected proposed members" in help_text
    page.screenshot(path=str(SHOTS / "xnaming-e2e-assist-help.png"))
    page.keyboard.press("Escape")
