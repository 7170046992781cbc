"""Benchmark: the naming widget at scale in a real JupyterLab (headless Debian Chromium via Playwright).

For each size (default 10,016 and 100,000 significant activations, one category, 5 x-features
per image of which one is significant, as on Fashion-MNIST), an ``ActivationSet`` with real PNG
thumbnails is saved to disk (not timed). Then, measured in the page:

1. the cell ``ActivationSet.load(...)`` + ``NamingWidget(...)`` starts -> every on-screen
   thumbnail decoded (targets: < 2 s at 10,016; < 5 s at 100,000), and the bytes the kernel
   sent over the websocket until then;
2. the longest main-thread task (PerformanceObserver "longtask", which reports tasks over 50 ms)
   during 20 wheel steps over the pool (target: none over 50 ms);
3. a real mouse drop -> Python's confirmed state on screen, median of ``--repeats`` (target < 50 ms);
4. the page's JavaScript heap and DOM node count after the scrolling (bounded by the
   thumbnail cache, not by the size of the set).

    python bench/widget.py [--sizes 10016 100000] [--repeats 5]

The last line ends with the ratio: bytes sent at open for the largest size / for the smallest.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from lab_harness import (  # noqa: E402
    cell, html5_drag, launch_chromium, open_notebook, run_cell, start_lab, stop_process_group,
    visible_ids, write_notebook,
)

N_XFEATURES = 5

# Builds and saves an ActivationSet of n images x 5 x-features, one significant per image, with
# distinct 28 px images and heatmaps and 200 distinct 64 px overlay PNGs (as many bytes as real ones).
BUILD_MODULE = '''\
"""Builds the benchmark's activation set (written by bench/widget.py)."""
import io
import numpy as np, pandas as pd
from PIL import Image
from xnaming_widget.activations import ActivationSet

def _png(rgb):
    out = io.BytesIO(); Image.fromarray(rgb).save(out, format="PNG"); return out.getvalue()

def build(n, folder):
    rng = np.random.default_rng(0)
    coarse = rng.integers(40, 220, (200, 4, 4, 3), dtype=np.uint8)
    palette = [np.asarray(Image.fromarray(c).resize((64, 64), Image.BILINEAR)) for c in coarse]
    overlays = [_png(p) for p in palette]
    image_ids = [f"img{{i:06d}}" for i in range(n)]
    images = rng.integers(0, 255, (n, 28, 28, 3), dtype=np.uint8)
    k = np.repeat(np.arange(n), {x}); x = np.tile(np.arange({x}), n)
    significant = x == (k % {x})
    value = rng.random(n * {x}) + 0.5
    weight = np.where(significant, 1.0, -0.25)
    table = pd.DataFrame(dict(
          activation_id=[f"Sneaker/{{image_ids[i]}}/x{{j}}" for i, j in zip(k, x)], image_id=[image_ids[i] for i in k],
          category="Sneaker", xfeature=x, value=value, weight=weight, contribution=value * weight,
          significant=significant, predicted="Sneaker", label=np.where(k % 7 == 0, "Sandal", "Sneaker")))
    heatmap_rows = np.full(len(table), -1); heatmap_rows[significant] = np.arange(n)
    heatmaps = rng.random((n, 28, 28)).astype(np.float16)
    acts = ActivationSet(table, image_ids, images, heatmap_rows, heatmaps,
                             [overlays[i % 200] for i in range(n)], [overlays[(i + 7) % 200] for i in range(n)])
    acts.save(folder)
    return f"saved {{len(table)}} rows, {{int(significant.sum())}} significant"
'''

SHOW_CELL = '''\
from xnaming_widget.activations import ActivationSet
from xnaming_widget.widget import NamingWidget
acts = ActivationSet.load("acts-{n}")
w = NamingWidget(acts, category="Sneaker", annotator="bench", autosave="namings/bench-{n}.json")
w
'''

# Resolves with [ms to the canvas's first cell, ms to every on-screen thumbnail decoded, count],
# both since window.__t0.
FIRST_PAINT_JS = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const deadline = performance.now() + 120000;
  const late = what => { if (performance.now() > deadline) throw new Error(`no ${what} within 120 s`); };
  while (!document.querySelector('.xn-root .xn-thumb')) { late('canvas'); await sleep(5); }
  const mounted = performance.now() - window.__t0;
  const onScreen = imgs => new Promise(res => {
    const io = new IntersectionObserver(es => { io.disconnect(); res(es.filter(e => e.isIntersecting).map(e => e.target)); });
    imgs.forEach(i => io.observe(i));
  });
  for (;;) {
    const visible = await onScreen([...document.querySelectorAll('.xn-root .xn-thumb img')]);
    if (visible.length && visible.every(i => i.src && i.complete && i.naturalWidth > 0)) {
      return [mounted, performance.now() - window.__t0, visible.length];
    }
    late(`decoded thumbnails (${visible.filter(i => i.src && i.complete && i.naturalWidth > 0).length} of ${visible.length})`);
    await sleep(5);
  }
}"""

LONGTASKS_JS = """() => {
  window.__long = [];
  window.__longObserver = new PerformanceObserver(list => { for (const e of list.getEntries()) window.__long.push(e.duration); });
  window.__longObserver.observe({ type: 'longtask' });
}"""

# Instrument the next drop: time to the first frame showing Python's next state (root
# data-version changes), i.e. the drop confirmed by Python.
ARM_DROP_JS = """() => {
  const root = document.querySelector('.xn-root');
  window.__drop = {};
  root.addEventListener('drop', () => {
    const t0 = performance.now();
    const version = root.dataset.version;
    const watch = () => {
      if (root.dataset.version !== version) window.__drop.confirmed = performance.now() - t0;
      else requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  }, { capture: true, once: true });
}"""


def _wait_value(page, expression: str, timeout_ms: int = 60_000) -> float:
    return float(page.wait_for_function(expression, timeout=timeout_ms).json_value())


def _measure(browser, lab, n: int, repeats: int) -> dict:
    name = f"bench-{n}.ipynb"
    (lab.root / "bench_build.py").write_text(BUILD_MODULE.format(x=N_XFEATURES), encoding="utf-8")
    write_notebook(lab.root / name, [f"from bench_build import build\nbuild({n}, 'acts-{n}')",
                                     SHOW_CELL.format(n=n)])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(
        (time.monotonic(), len(payload) if payload else 0))))
    open_notebook(page, lab, name)  # accepts the kernel dialog a busy machine can bring up
    run_cell(page, 0, timeout_ms=600_000)  # build and save the set: not timed

    # 1. cell start -> every on-screen thumbnail decoded
    prompt = cell(page, 1).locator(".jp-InputPrompt")
    prompt.click()
    page.keyboard.press("Escape")
    prompt.click()
    page.evaluate("window.__t0 = performance.now()")
    started = time.monotonic()
    page.keyboard.press("Control+Enter")  # run in place, so the output stays on screen
    try:
        mounted, first_paint, n_visible = page.evaluate(FIRST_PAINT_JS)
    except Exception:
        shot = Path(tempfile.gettempdir()) / f"xnaming-bench-{n}.png"
        page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")
        raise
    painted = time.monotonic()
    sent_at_open = sum(size for t, size in received if started <= t <= painted)
    page.wait_for_function("document.querySelector('.xn-progress')?.textContent.includes('named')")

    # 2. 20 wheel steps over the pool; the longest main-thread task meanwhile
    pool = page.locator(".xn-row-pool .xn-grid")
    box = pool.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.evaluate(LONGTASKS_JS)
    for _ in range(20):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(60)
    page.wait_for_timeout(500)
    long_tasks = page.evaluate("() => { window.__longObserver.disconnect(); return window.__long; }")
    scrolled = page.evaluate("document.querySelector('.xn-row-pool .xn-grid').scrollTop")
    page.wait_for_function("[...document.querySelectorAll('.xn-row-pool .xn-thumb img')].some(i => i.src && i.naturalWidth > 0)")

    # 4. memory and DOM size after scrolling
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cells = page.locator(".xn-root .xn-thumb").count()
    shot = Path(tempfile.gettempdir()) / f"xnaming-bench-{n}-scrolled.png"
    page.screenshot(path=str(shot))  # look at it: the canvas as a person sees it after scrolling
    print(f"screenshot after scrolling: {shot}")

    # 3. drops onto a concept, confirmed by Python
    page.locator(".xn-target-new").click()  # an empty concept, named in place
    page.locator(".xn-name-input").press("Enter")
    page.wait_for_selector(".xn-row-concept:not([data-row^='pending-']):not([data-row='__draft__'])")
    page.mouse.move(5, 5)
    page.locator(".xn-root").evaluate("r => r.scrollIntoView({block: 'start'})")
    confirmed = []
    for _ in range(repeats):
        target = page.locator(".xn-target:not([data-target='unlabeled']):not([data-target='trash']):not([data-target='__new__'])").first
        pool.evaluate("g => { g.scrollTop = 0; }")
        page.wait_for_timeout(100)
        ids = visible_ids(page, "unlabeled")
        page.evaluate(ARM_DROP_JS)
        html5_drag(page, page.locator(f'.xn-thumb[data-id="{ids[0]}"]'), target)
        try:
            confirmed.append(_wait_value(page, "() => window.__drop.confirmed ?? false"))
        except Exception:
            page.screenshot(path=str(Path(tempfile.gettempdir()) / f"xnaming-bench-{n}-drop.png"))
            raise
    page.close()
    return {
        "n": n, "mounted": mounted, "first_paint": first_paint, "n_visible": n_visible, "sent_at_open": sent_at_open,
        "long_max": max(long_tasks, default=0.0), "n_long": len(long_tasks), "scrolled": scrolled,
        "drop_confirmed": statistics.median(confirmed), "drops": confirmed,
        "heap_mb": metrics.get("JSHeapUsedSize", 0) / 2**20, "nodes": int(metrics.get("Nodes", 0)), "cells": cells,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10016, 100000], help="significant activations")
    parser.add_argument("--repeats", type=int, default=5, help="drops to time (median reported)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="xnaming-bench-"))
    lab, proc = start_lab(tmp)
    results = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for n in args.sizes:
                results.append(_measure(browser, lab, n, args.repeats))
            browser.close()
    finally:
        stop_process_group(proc)
        shutil.rmtree(tmp, ignore_errors=True)  # the sets and the lab's files: about 1 GB at 100,000

    for r in results:
        print(f"--- {r['n']:,} significant activations ({N_XFEATURES * r['n']:,} rows)")
        print(f"cell start -> first cell in the canvas: {r['mounted']:8.0f} ms")
        print(f"cell start -> every on-screen thumbnail ({r['n_visible']}) decoded: {r['first_paint']:8.0f} ms   "
              f"(target < {2000 if r['n'] <= 10016 else 5000} ms, loading the set included)")
        print(f"sent by the kernel until then: {r['sent_at_open'] / 2**20:6.1f} MB")
        print(f"20 wheel steps over the pool ({r['scrolled']:.0f} px): longest main-thread task "
              f"{r['long_max']:.0f} ms ({r['n_long']} over 50 ms)   (target: none over 50 ms)")
        print(f"drop -> confirmed by Python, median of {len(r['drops'])}: {r['drop_confirmed']:6.1f} ms   (target < 50 ms)")
        print(f"page after scrolling: JS heap {r['heap_mb']:.1f} MB, {r['nodes']} DOM nodes, {r['cells']} thumbnail cells")
    first, last = results[0], results[-1]
    print(f"bytes sent at open, {last['n']:,} vs {first['n']:,} activations: {last['sent_at_open'] / 2**20:.1f} MB / "
          f"{first['sent_at_open'] / 2**20:.1f} MB = ratio {last['sent_at_open'] / max(1, first['sent_at_open']):.1f}")


if __name__ == "__main__":
    main()
