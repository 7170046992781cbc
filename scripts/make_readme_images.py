"""Make the README's two images from a real run on the built-in default (Fashion-MNIST + DemoCNN).

1. Pipeline: the demo CNN (trained once, then cached), its ``fc6`` features of the first 4000
   Fashion-MNIST test images, one-vs-all SRAE XNNs for all classes fitted on them, and the
   activation set (c-MWP heatmaps, MSX significance) of one category on the first
   ``--n-images`` test images.
2. A naming: the category's significant activations grouped and named by where their heatmap
   peaks on the object (toe, heel, sole, ...), rare groups left unlabeled and a few activations
   on wrongly classified images trashed, created through ``NamingWidget``'s Python API in a real
   JupyterLab, shown in Debian's Chromium, and the widget element screenshotted
   (``naming-widget.png``).
3. The global explanation of the naming the widget autosaved, drawn with
   ``plots.plot_global_explanation`` (``global-explanation.png``).

    python scripts/make_readme_images.py [--out docs/images] [--category Sneaker] [--work DIR]

About 2.5 minutes on two busy CPU cores, most of it fitting the XNNs (plus ~100 CPU-s the
first time, to train the CNN). ``--work`` keeps the XNN bank, the activation set and the lab's
files there, so a rerun with the same cached CNN skips the fitting (about 25 s).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MAX_PNG_BYTES = 300_000
ANNOTATOR = "demo"
FIT_IMAGES = 4000  # test images the XNNs are fitted on (~400 per class; about a minute on one core)

_START = time.monotonic()


def log(message: str) -> None:
    """One progress line, with the seconds since the script started."""
    print(f"[{time.monotonic() - _START:6.1f} s] {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images",
                        help="folder for naming-widget.png and global-explanation.png (default: docs/images)")
    parser.add_argument("--category", default="Sneaker", help="the Fashion-MNIST class to name (default: Sneaker)")
    parser.add_argument("--n-images", type=int, default=1000,
                        help="test images to take the category's images from (default: 1000, ~100 of a "
                             "class: a widget that fits one screenshot)")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep intermediate files (activation set, lab folders) here; default: a temp dir")
    parser.add_argument("--width", type=int, default=1200, help="browser viewport width in px (default: 1200)")
    parser.add_argument("--height", type=int, default=900,
                        help="browser viewport height in px (default: 900; grown to fit the whole widget)")
    parser.add_argument("--thumb-size", type=int, default=64, help="thumbnail size shown in the widget (default: 64)")
    args = parser.parse_args(argv)
    if not 1 <= args.n_images <= 10_000:
        parser.error(f"--n-images must be between 1 and 10000 (the test split's size), got {args.n_images}")
    if not 600 <= args.width <= 2400:
        parser.error(f"--width must be between 600 and 2400 px, got {args.width}")
    if not 400 <= args.height <= 4000:
        parser.error(f"--height must be between 400 and 4000 px, got {args.height}")
    if not 16 <= args.thumb_size <= 512:
        parser.error(f"--thumb-size must be between 16 and 512 px, got {args.thumb_size}")
    from xnaming_widget.data import FASHION_MNIST_CLASSES

    if args.category not in FASHION_MNIST_CLASSES:
        parser.error(f"--category must be a Fashion-MNIST class, one of {list(FASHION_MNIST_CLASSES)}; "
                     f"got {args.category!r}")
    return args


# ---- 1. the pipeline ---------------------------------------------------------------------------

def build_activation_set(category: str, n_images: int, work: Path):
    """Demo CNN -> fc6 features -> XNN bank -> c-MWP activation set of ``category``; return the
    set and the folder it is saved in (under ``work``; a rerun with the same model loads it)."""
    import torch

    from xnaming_widget import models
    from xnaming_widget.activations import _model_digest, build_activations
    from xnaming_widget.data import load_fashion_mnist
    from xnaming_widget.xnn import XNNBank, fit_class_xnns

    torch.manual_seed(0)
    log("demo classifier (trains once, ~100 CPU-s; later runs load it from the cache)")
    model = models.demo_classifier(progress=False)
    log(f"  DemoCNN: {model.test_accuracy:.1%} test accuracy, "
        f"{'loaded from' if model.loaded_from_cache else 'saved to'} {model.cache_path}")
    # intermediate files are kept per model (the hash of its weights): the cached demo CNN is
    # retrained, and may differ slightly, when its cache is cleared
    run_dir = work / f"model-{_model_digest(model)[:12]}"
    test = load_fashion_mnist(split="test").subset(slice(0, max(n_images, FIT_IMAGES)))
    features = models.FeatureExtractor(model, "fc6").extract(test, progress=False)
    log(f"  fc6 features of the first {len(test)} test images: Z {features.Z.shape}")
    bank_path = run_dir / f"xnn-bank-{len(test)}"
    if bank_path.exists():
        bank = XNNBank.load(bank_path)
        log(f"  XNN bank loaded from {bank_path}")
    else:
        log("fitting one-vs-all SRAE XNNs (5 x-features per class) on them")
        bank = fit_class_xnns(features.Z, features.logits, test.classes, labels=features.labels, seed=0,
                              progress=False)
        bank.save(bank_path)
    agree = (bank.predict(features.Z).argmax(1) == features.predictions).mean()
    log(f"  XNN bank: the xNNs' arg-max agrees with the DNN's on {agree:.1%} of the images")
    subset = test.subset(slice(0, n_images))
    n_category = int((features.predictions[:n_images] == test.classes.index(category)).sum())
    log(f"c-MWP heatmaps for the {n_category} of the first {n_images} test images predicted as {category!r}")
    acts_dir = run_dir / f"activations-{test.classes.index(category)}-{n_images}"
    acts = build_activations(model, "fc6", bank, subset, categories=[category], method="cmwp",
                             out_dir=acts_dir, show_progress=False,
                             on_chunk=lambda i, n: log(f"  heatmap chunk {i + 1}/{n}"))
    log(f"  {int(acts.table['significant'].sum())} significant activations of {len(acts)} ({acts_dir})")
    return acts, acts_dir


# ---- 2. a naming plan: the activations grouped by where their heatmap peaks on the object ------

# What a person would call the place a heatmap peaks at, per category, by the third of the
# object's box it lies in (row: top / middle / bottom, column: left / middle / right).
# Fashion-MNIST's shoes point left. A peak outside the box is "background".
PLACE_WORDS = {
    "Sneaker": {("top", "left"): "toe", ("top", "middle"): "laces", ("top", "right"): "collar",
                ("middle", "left"): "toe", ("middle", "middle"): "side", ("middle", "right"): "heel",
                ("bottom", "left"): "toe", ("bottom", "middle"): "sole", ("bottom", "right"): "heel"},
    "Ankle boot": {("top", "left"): "shaft", ("top", "middle"): "shaft", ("top", "right"): "shaft",
                   ("middle", "left"): "toe", ("middle", "middle"): "instep", ("middle", "right"): "heel",
                   ("bottom", "left"): "toe", ("bottom", "middle"): "sole", ("bottom", "right"): "heel"},
    "Bag": {("top", "left"): "handle", ("top", "middle"): "handle", ("top", "right"): "handle",
            ("middle", "left"): "side", ("middle", "middle"): "front", ("middle", "right"): "side",
            ("bottom", "left"): "bottom", ("bottom", "middle"): "bottom", ("bottom", "right"): "bottom"},
}
OUTSIDE = "background"
BOX_MARGIN = 0.1  # a peak this far (as a fraction of the box) outside the object box still counts as on it


def place_of(row: float, col: float) -> tuple[str, str] | None:
    """Which third of the object's box a point lies in, ``(row word, column word)``, from
    coordinates relative to the box (0 = top/left edge, 1 = bottom/right edge); None when the
    point lies more than ``BOX_MARGIN`` outside the box."""
    if not (-BOX_MARGIN <= row <= 1 + BOX_MARGIN and -BOX_MARGIN <= col <= 1 + BOX_MARGIN):
        return None

    def third(value, words):
        return words[min(2, max(0, int(np.floor(value * 3))))]

    return third(row, ("top", "middle", "bottom")), third(col, ("left", "middle", "right"))


def heatmap_peaks(heatmaps: np.ndarray, images: np.ndarray, ink: float = 0.1) -> np.ndarray:
    """Where each heatmap peaks (``metrics.map_peaks``, the project's one rule: the centre of the
    hottest small patch, so that a lone hot pixel does not win), as (row, col) relative to its
    image's object box.

    ``heatmaps (R, H, W)`` non-negative; ``images (R, H, W)`` grey in [0, 1]. The object box is
    the bounding box of the pixels brighter than ``ink`` (the whole image if there are none):
    0 is its top/left pixel, 1 its bottom/right one. Returns float (R, 2).
    """
    from xnaming_widget.metrics.object_maps import map_peaks

    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    R, H, W = heatmaps.shape
    peak_r, peak_c = map_peaks(heatmaps).T
    ink_rows, ink_cols = (images > ink).any(axis=2), (images > ink).any(axis=1)  # (R, H), (R, W)
    has_ink = ink_rows.any(axis=1)
    top = np.where(has_ink, ink_rows.argmax(axis=1), 0)
    bottom = np.where(has_ink, H - 1 - ink_rows[:, ::-1].argmax(axis=1), H - 1)
    left = np.where(has_ink, ink_cols.argmax(axis=1), 0)
    right = np.where(has_ink, W - 1 - ink_cols[:, ::-1].argmax(axis=1), W - 1)
    return np.stack([(peak_r - top) / np.maximum(bottom - top, 1),
                     (peak_c - left) / np.maximum(right - left, 1)], axis=1)


@dataclass
class NamingPlan:
    """What the script does in the widget: concepts ``[(name, members)]``, and ids to trash."""

    concepts: list[tuple[str, list[str]]]
    trash: list[str]
    unlabeled: list[str]

    def to_json(self) -> str:
        return json.dumps({"concepts": [{"name": n, "members": m} for n, m in self.concepts],
                           "trash": self.trash})


def plan_naming(table, peaks: np.ndarray, category: str, *, min_group: int = 5, n_trash: int = 4) -> NamingPlan:
    """Name ``category``'s significant activations as a person looking at the thumbnails might:
    by the part of the object where the heatmap is hottest (``PLACE_WORDS``; ``OUTSIDE`` off the
    object), or by x-feature ("x-feature k") for a category without words. Activations with the
    same name form one concept. Concepts smaller than ``min_group`` stay unlabeled, rare cases
    left for later. Up to ``n_trash`` activations on images of another class (a known label
    other than ``category``: the DNN got them wrong) go to trash.

    ``table``: definitions §5 rows of the significant activations (in display order); ``peaks``:
    ``heatmap_peaks`` of those rows. Concepts come largest first; members keep table order.
    """
    if len(table) != len(peaks):
        raise ValueError(f"table has {len(table)} rows but peaks {len(peaks)}; pass one peak per row")
    ids = table["activation_id"].astype(str).to_numpy()
    labels = table["label"].astype("string")
    wrong = (labels.notna() & (labels != category)).fillna(False).to_numpy(dtype=bool)
    trash = list(ids[wrong][:n_trash])
    words = PLACE_WORDS.get(category)
    if words:
        places = [place_of(row, col) for row, col in peaks]
        names = np.array([OUTSIDE if place is None else words[place] for place in places], dtype=object)
    else:
        names = np.array([f"x-feature {k}" for k in table["xfeature"]], dtype=object)
    keep = ~np.isin(ids, trash)
    concepts, unlabeled = [], []
    for name in dict.fromkeys(names[keep]):
        members = list(ids[keep & (names == name)])
        if len(members) < min_group:
            unlabeled += members
        else:
            concepts.append((str(name), members))
    concepts.sort(key=lambda concept: -len(concept[1]))
    unlabeled = [i for i in ids if i in set(unlabeled)]
    return NamingPlan(concepts=concepts, trash=trash, unlabeled=unlabeled)


def significant_rows(acts, category: str):
    """``category``'s significant activations: their table rows and ``heatmap_peaks``."""
    table = acts.table
    mask = (table["category"] == category).to_numpy() & table["significant"].to_numpy(dtype=bool)
    rows = table[mask]
    heatmaps = acts.heatmaps[acts.heatmap_rows[np.flatnonzero(mask)]]
    image_index = np.array([acts.image_ids.index(i) for i in rows["image_id"]], dtype=np.int64)
    grey = acts.images[image_index].mean(axis=3) / 255.0
    return rows, heatmap_peaks(heatmaps, grey)


# ---- 3. the widget in a real JupyterLab --------------------------------------------------------

WIDGET_CELL = '''\
import json, pathlib
from xnaming_widget.activations import ActivationSet
from xnaming_widget.widget import NamingWidget
acts = ActivationSet.load({activations!r})
plan = json.loads(pathlib.Path({plan!r}).read_text())
w = NamingWidget(acts, category={category!r}, annotator={annotator!r}, autosave={autosave!r},
                 thumb_size={thumb_size})
for concept in plan["concepts"]:
    w.create_concept(concept["name"], concept["members"])
w.move(plan["trash"], "trash")
w
'''

# True once every thumbnail the viewport shows (as an IntersectionObserver sees it, so clipping
# by the widget's scrolling rows counts) is decoded.
THUMBS_DECODED_JS = """() => new Promise(resolve => {
  const imgs = [...document.querySelectorAll('.xn-root .xn-thumb img')];
  const observer = new IntersectionObserver(entries => {
    observer.disconnect();
    const shown = entries.filter(e => e.isIntersecting).map(e => e.target);
    resolve(shown.length > 0 && shown.every(i => i.src && i.complete && i.naturalWidth > 0));
  });
  imgs.forEach(i => observer.observe(i));
})"""


def screenshot_widget(activations_dir: Path, plan_path: Path, autosave: Path, category: str, *, lab_dir: Path,
                      png: Path, width: int, height: int, thumb_size: int) -> None:
    """Open a throw-away JupyterLab in Chromium, run the cell that builds and names the widget,
    and screenshot the widget element into ``png``. The viewport grows to fit the whole widget
    (JupyterLab scrolls inside the page, so a screenshot shows only what is on screen)."""
    sys.path.insert(0, str(REPO / "tests" / "e2e"))
    from lab_harness import launch_chromium, open_notebook, run_cell, start_lab, stop_process_group, write_notebook
    from playwright.sync_api import sync_playwright

    log("starting a throw-away JupyterLab")
    lab, proc = start_lab(lab_dir)
    try:
        source = WIDGET_CELL.format(activations=str(activations_dir), plan=str(plan_path), category=category,
                                    annotator=ANNOTATOR, autosave=str(autosave), thumb_size=thumb_size)
        write_notebook(lab.root / "naming.ipynb", [source])
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            log(f"opening the notebook in Chromium ({width} x {height} px)")
            open_notebook(page, lab, "naming.ipynb")
            _close_left_sidebar(page)
            log("running the cell: load the activation set, create and name concepts through w.create_concept")
            run_cell(page, 0, timeout_ms=180_000)
            root = page.locator(".xn-root")
            page.wait_for_selector(".xn-root .xn-row-concept .xn-thumb", timeout=60_000)
            _collapse_cell_input(page)
            _fit_viewport_to(page, root, width)
            page.mouse.move(0, 0)  # no hover preview over the thumbnails
            page.wait_for_function(THUMBS_DECODED_JS, timeout=30_000)
            page.wait_for_function("document.querySelector('.xn-saved')?.textContent.startsWith('saved')",
                                   timeout=15_000)
            page.wait_for_timeout(500)
            png.parent.mkdir(parents=True, exist_ok=True)
            box = root.bounding_box()
            pad = 6  # a white margin, so the rows' borders are not cut
            page.screenshot(path=str(png), animations="disabled", caret="hide",
                            clip={"x": max(0, box["x"] - pad), "y": max(0, box["y"] - pad),
                                  "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad})
            if errors:
                raise RuntimeError(f"the page reported errors: {errors}")
            browser.close()
    finally:
        stop_process_group(proc)
    log(f"  wrote {png} ({png.stat().st_size / 1000:.0f} kB)")


def _collapse_cell_input(page) -> None:
    """Hide the cell's code (JupyterLab's input collapser), so the widget starts near the top."""
    page.locator(".jp-Cell .jp-Cell-inputCollapser").first.click()
    page.wait_for_timeout(300)


def _fit_viewport_to(page, root, width: int, margin: int = 40) -> None:
    """Grow the viewport until the whole widget is on screen (its rows' scroll caps grow with
    the viewport height, so this takes a few rounds at most)."""
    for _round in range(5):
        root.scroll_into_view_if_needed()
        box = root.bounding_box()
        height = page.viewport_size["height"]
        if box is not None and box["y"] >= 0 and box["y"] + box["height"] + margin <= height:
            return
        needed = int((box["y"] if box else 0) + (box["height"] if box else height) + 2 * margin)
        page.set_viewport_size({"width": width, "height": max(needed, height + 100)})
        page.wait_for_timeout(400)
    raise RuntimeError("the widget does not fit on screen even after growing the viewport")


def _close_left_sidebar(page) -> None:
    """Collapse JupyterLab's file browser so the notebook, and the widget, get the full width."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()
        page.wait_for_timeout(300)


# ---- 4. the global explanation plot ------------------------------------------------------------

def plot_global(naming_file: Path, acts, category: str, png: Path) -> None:
    """The global explanation of the widget's autosaved naming, as a bar plot PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xnaming_widget.analysis.explanations import explanation_summary, global_explanation
    from xnaming_widget.naming.document import naming_table, read_naming_file
    from xnaming_widget.plots import plot_global_explanation

    doc = read_naming_file(naming_file)  # the snapshot with its journal replayed
    table = global_explanation(naming_table(doc), acts)
    log(f"global explanation of {category!r}: {explanation_summary(table)}")
    n_images = int(table["count"].sum())
    fig = plot_global_explanation(table, top_k=8, title=f"{category}: global explanation ({n_images} images)")
    fig.set_size_inches(6.4, fig.get_size_inches()[1])
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    log(f"  wrote {png} ({png.stat().st_size / 1000:.0f} kB)")


# ---- PNG size -------------------------------------------------------------------------------------

def shrink_png(path: Path, limit: int = MAX_PNG_BYTES) -> int:
    """Re-save ``path`` optimised, and with a 256-colour palette if it is still over ``limit``
    bytes; return the final size. Fails if even the palette image is too big."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", optimize=True)
    if buffer.tell() > limit:
        buffer = io.BytesIO()
        rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
    if buffer.tell() > limit:
        raise RuntimeError(f"{path} is {buffer.tell()} bytes even with 256 colours (limit {limit}); "
                           "use a smaller --width or --thumb-size")
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


# ---- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("XNAMING_PROGRESS", "0")
    work = args.work or Path(tempfile.mkdtemp(prefix="xnaming-readme-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"work folder: {work}")
    try:
        acts, acts_dir = build_activation_set(args.category, args.n_images, work)
        rows, peaks = significant_rows(acts, args.category)
        plan = plan_naming(rows, peaks, args.category, min_group=max(3, round(0.05 * len(rows))))
        for name, members in plan.concepts:
            log(f"  concept {name!r}: {len(members)} activations")
        log(f"  {len(plan.trash)} to trash (images of other classes), {len(plan.unlabeled)} left unlabeled "
            "(rare places)")
        plan_path = work / "plan.json"
        plan_path.write_text(plan.to_json(), encoding="utf-8")
        autosave = work / "namings" / f"{ANNOTATOR}.json"
        autosave.unlink(missing_ok=True)  # a fresh naming, not one restored from an earlier run
        lab_dir = work / "lab"
        shutil.rmtree(lab_dir, ignore_errors=True)
        widget_png, global_png = args.out / "naming-widget.png", args.out / "global-explanation.png"
        screenshot_widget(acts_dir, plan_path, autosave, args.category, lab_dir=lab_dir,
                          png=widget_png, width=args.width, height=args.height, thumb_size=args.thumb_size)
        plot_global(autosave, acts, args.category, global_png)
        for png in (widget_png, global_png):
            log(f"{png}: {shrink_png(png) / 1000:.0f} kB after optimising")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    log("done")


if __name__ == "__main__":
    main()
