"""End-to-end fixtures: one real JupyterLab for the e2e tests (kernels outlive the browser, so a
fresh server is the only clean slate), stopped with its kernels after the last of them, and
Debian's Chromium through Playwright (never `playwright install`). Both are package-scoped:
Playwright's sync API keeps an asyncio loop marked running in the main thread while it is
open, and later tests must not find one (the widget defers work to a running loop).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import CHROMIUM, launch_chromium, start_lab, stop_process_group  # noqa: E402


@pytest.fixture(scope="package")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is needed: apt-get install chromium")
    pytest.importorskip("jupyterlab")
    tmp = tmp_path_factory.mktemp("lab")
    server, proc = start_lab(tmp)
    try:
        yield server
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="package")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is needed: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
