"""End-to-end fixtures: one real JupyterLab per test session (kernels outlive the browser, so a
fresh server is the only clean slate), stopped with its kernels at the end, and Debian's
Chromium through Playwright (never `playwright install`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_harness import CHROMIUM, launch_chromium, start_lab, stop_process_group  # noqa: E402


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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
