"""Drive a real JupyterLab in Debian's Chromium: start a throw-away server, write a notebook,
open it, run cells through the UI. Shared by the e2e tests and bench/widget.py.

The server gets its own config, runtime, settings and workspace folders (data dir left alone so
the installed lab extensions are found); the kernel imports xnaming_widget from the repo.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str, ui: str = "lab") -> str:
        """The notebook in JupyterLab (``ui="lab"``) or in Notebook 7 (``ui="notebook"``)."""
        if ui == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quiet_lab_settings(settings_dir: Path) -> None:
    """No news or update toasts, no autosave of notebooks behind the test's back."""
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    docmanager = settings_dir / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    docmanager.parent.mkdir(parents=True, exist_ok=True)
    docmanager.write_text(json.dumps({"autosave": False}))


def start_lab(tmp: Path, timeout: float = 90.0):
    """Start JupyterLab in ``tmp/root``; return ``(Lab, process)``. The kernel imports the repo."""
    root, config, runtime, workspaces, settings = (tmp / n for n in ("root", "config", "runtime", "workspaces", "settings"))
    for folder in (root, config, runtime, workspaces, settings):
        folder.mkdir(parents=True, exist_ok=True)
    _quiet_lab_settings(settings)
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        "TQDM_DISABLE": "1",
    })
    log = tmp / "lab.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={workspaces}",
         "--ServerApp.port_retries=0"] + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_process_group(proc)
            raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    return Lab(url=url, token=token, root=root, log=log), proc


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop the server we started and everything in its process group (its kernels)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # kernels that ignored SIGTERM
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)



# ---- notebooks --------------------------------------------------------------------------------

SYNTHETIC_MODULE = '''\
"""Synthetic activations for the naming widget's browser tests (written by lab_harness.py)."""
import io, hashlib
import numpy as np, pandas as pd
from PIL import Image

class SyntheticActivations:
    """A stand-in activation set: definitions §5 table plus PNG thumbnails drawn from seeded noise."""

    def __init__(self, n_images, n_xfeatures=4, size=48, category="Sneaker", seed=0):
        rng = np.random.default_rng(seed)
        rows, self._heat, self._plain = [], {}, {}
        yy, xx = np.mgrid[0:size, 0:size] / size
        for i in range(n_images):
            image_id = f"img{i:05d}"
            # smooth colour fields compress like real photos' thumbnails (noise would not)
            coarse = (rng.random((5, 5, 3)) * 140 + 50).astype(np.uint8)
            base = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR))
            self._plain[image_id] = self._png(base)
            label = category if i % 5 else "Sandal"
            for k in range(n_xfeatures):
                significant = k < n_xfeatures - 1
                cy, cx = 0.2 + 0.6 * ((k * 37 + i) % 7) / 6, 0.2 + 0.6 * k / max(1, n_xfeatures - 1)
                heat = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02)
                overlay = base.astype(float)
                overlay[..., 0] = overlay[..., 0] * (1 - heat) + 255 * heat
                aid = f"{category}/{image_id}/x{k}"
                self._heat[aid] = self._png(overlay.clip(0, 255).astype(np.uint8))
                weight = 1.0 if significant else -0.5
                value = float(0.5 + rng.random())
                rows.append(dict(activation_id=aid, image_id=image_id, category=category, xfeature=k,
                                 value=value, weight=weight, contribution=value * weight,
                                 significant=significant, predicted=category, label=label))
        self.table = pd.DataFrame(rows)
        self.fingerprint = "synthetic-" + hashlib.sha256(self.table.to_csv().encode()).hexdigest()[:16]

    @staticmethod
    def _png(rgb):
        out = io.BytesIO()
        Image.fromarray(rgb).save(out, format="PNG")
        return out.getvalue()

    def thumbnail(self, activation_id):
        return self._heat.get(activation_id)

    def image_thumbnail(self, image_id):
        return self._plain.get(image_id)

'''


def notebook(cells: list[str]) -> dict:
    """A notebook (nbformat 4) of code cells with the default Python kernel."""
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def write_notebook(path: Path, cells: list[str]) -> Path:
    path.write_text(json.dumps(notebook(cells), indent=1), encoding="utf-8")
    return path


def synthetic_setup(root: Path, n_images: int, *, size: int = 48, thumb_size: int = 96,
                    autosave: str | None = "namings/e2e.json", annotator: str = "e2e") -> str:
    """Write ``synthetic_activations.py`` into ``root``; return a cell's source that builds
    ``acts`` (``n_images`` images, 3 significant x-features each, PNG thumbnails of ``size`` px)
    and, unless ``autosave`` is None, ``w``, a NamingWidget over them.
    """
    (root / "synthetic_activations.py").write_text(SYNTHETIC_MODULE, encoding="utf-8")
    source = ("from synthetic_activations import SyntheticActivations\n"
              "from xnaming_widget.widget import NamingWidget\n"
              f"acts = SyntheticActivations({n_images}, size={size})\n")
    if autosave is not None:
        source += (f'w = NamingWidget(acts, category="Sneaker", annotator="{annotator}", '
                   f'autosave="{autosave}", thumb_size={thumb_size})\n')
    return source


# ---- the JupyterLab UI ------------------------------------------------------------------------

def open_notebook(page, lab: Lab, name: str, timeout_ms: int = 60_000, ui: str = "lab") -> None:
    """Open a notebook (in JupyterLab, or Notebook 7 with ``ui="notebook"``); wait until its kernel is idle."""
    page.goto(lab.notebook_url(name, ui))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)
    accept_kernel_dialog(page)


def accept_kernel_dialog(page, wait_ms: int = 1500) -> None:
    """Accept JupyterLab's "Select Kernel" dialog, which a busy machine can bring up while the
    kernel starts (the notebook names its kernel, so the proposed one is right). Any other
    dialog is an error, reported with its text."""
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.first.wait_for(timeout=wait_ms)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: no dialog, as it should be
        return
    text = " ".join(dialog.first.inner_text().split())
    if "kernel" not in text.lower():
        raise AssertionError(f"JupyterLab opened a dialog: {text[:300]}")
    print(f"accepted a JupyterLab dialog: {text[:200]}")
    dialog.first.locator(".jp-mod-accept").first.click()
    dialog.first.wait_for(state="detached", timeout=10_000)
    wait_kernel_idle(page)


def wait_kernel_idle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout_ms, state="attached")


def cell(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


_PROMPT_JS = """([index, before, done]) => {
  const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
  const prompt = cells[index] && cells[index].querySelector('.jp-InputPrompt');
  if (!prompt) return false;
  const text = prompt.textContent.trim();
  return done ? /\\[\\d+\\]/.test(text) && text !== before : text !== before;
}"""


def run_cell(page, index: int, timeout_ms: int = 120_000) -> None:
    """Select cell ``index`` in command mode, press Shift+Enter, wait until it has run.

    Right after a notebook opens, the kernel may still be connecting and a Shift+Enter can be
    lost; the key is pressed again if the prompt shows no sign of execution within 10 s.
    """
    prompt = cell(page, index).locator(".jp-InputPrompt")
    before = prompt.text_content().strip()
    for _attempt in range(3):
        prompt.click()
        page.keyboard.press("Escape")  # command mode, focus on the notebook
        prompt.click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(_PROMPT_JS, arg=[index, before, False], timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the key again
            continue
    page.wait_for_function(_PROMPT_JS, arg=[index, before, True], timeout=timeout_ms)


CELL_TYPES_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')]
  .map(c => c.classList.contains('jp-MarkdownCell') ? 'markdown' : c.classList.contains('jp-RawCell') ? 'raw' : 'code')"""


def cell_types(page) -> list[str]:
    """The notebook's cells, in order, by type."""
    return page.evaluate(CELL_TYPES_JS)


def cell_output_text(page, index: int) -> str:
    return cell(page, index).locator(".jp-OutputArea").inner_text()


def html5_drag(page, source, target, steps: int = 8) -> None:
    """A real mouse drag from ``source`` to ``target`` (both must be on screen).

    Chromium starts an HTML5 drag only after the pointer moves a few pixels with the button
    down, so the pointer travels in steps (Playwright's one-jump ``drag_to`` starts none here).
    """
    start, end = source.bounding_box(), target.bounding_box()
    if start is None or end is None:
        raise AssertionError("drag source or target is not rendered")
    sx, sy = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    tx, ty = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 12, sy + 12, steps=3)
    page.mouse.move(tx, ty, steps=steps)
    page.mouse.up()


VISIBLE_IDS_JS = """key => {
  const grid = document.querySelector(`.xn-row[data-row="${key}"] .xn-grid`);
  const box = grid.getBoundingClientRect();
  return [...grid.querySelectorAll('.xn-thumb')].filter(t => {
    const r = t.getBoundingClientRect();
    return r.top >= Math.max(0, box.top) && r.bottom <= Math.min(window.innerHeight, box.bottom)
      && r.left >= 0 && r.right <= window.innerWidth;
  }).sort((a, b) => a.getAttribute('aria-posinset') - b.getAttribute('aria-posinset')).map(t => t.dataset.id);
}"""


def visible_ids(page, key: str) -> list[str]:
    """Ids of the thumbnails of row ``key`` that are fully on screen, in the grid's order."""
    return page.evaluate(VISIBLE_IDS_JS, key)


@contextlib.contextmanager
def screenshot_on_failure(page, name: str, note: Callable[[], str] = lambda: ""):
    """Run a scenario on ``page``; if it fails, save a screenshot (and ``note()``) before raising.
    The page is closed either way."""
    try:
        yield page
    except BaseException:
        shot = Path(tempfile.gettempdir()) / f"xnaming-e2e-{name}.png"
        page.screenshot(path=str(shot))
        print(f"screenshot: {shot}{note()}")
        raise
    finally:
        page.close()
