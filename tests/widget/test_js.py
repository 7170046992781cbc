"""The browser side: run the JS unit tests (node --test, happy-dom) and check the shipped bundle.

The bundle in xnaming_widget/static/ is what pip users get (no Node needed), so it must be
exactly what js/src builds to: the build is deterministic, and a stale bundle fails here.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "js"
STATIC = REPO / "xnaming_widget" / "static"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Node.js and npm are needed for the JS tests (the shipped bundle itself needs neither)",
)


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=JS, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """js/node_modules, installed from the lock file (npm ci) when missing."""
    modules = JS / "node_modules"
    if not (modules / "esbuild").is_dir() or not (modules / "happy-dom").is_dir():
        done = _run(["npm", "ci", "--no-audit", "--no-fund"], timeout=300)
        assert done.returncode == 0, f"npm ci failed in js/:\n{done.stdout}\n{done.stderr}"
    return modules


def test_js_unit_tests_pass(node_modules):
    done = _run(["npm", "test", "--silent"], timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"JS unit tests failed:\n{output[-6000:]}"
    assert "# fail 0" in output and "# pass " in output, output[-2000:]


def test_shipped_bundle_is_the_build_of_js_src(node_modules, tmp_path):
    done = _run(["node", "build.mjs", "--outdir", str(tmp_path)], timeout=120)
    assert done.returncode == 0, f"esbuild failed:\n{done.stdout}\n{done.stderr}"
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == ["widget.css", "widget.js"]
    for name in built:
        shipped = STATIC / name
        assert shipped.is_file(), f"{shipped} is missing; run `npm run build` in js/ and commit it"
        assert (tmp_path / name).read_bytes() == shipped.read_bytes(), (
            f"{shipped.relative_to(REPO)} is stale: js/src changed since the last build. "
            "Run `npm run build` in js/ and commit xnaming_widget/static/.")


def test_build_is_deterministic(node_modules, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        done = _run(["node", "build.mjs", "--outdir", str(out)], timeout=120)
        assert done.returncode == 0, done.stderr
    for name in ("widget.js", "widget.css"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_bundle_is_an_anywidget_esm_module():
    text = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "export" in text and "default" in text, "anywidget needs an ES module with a default export"
    assert "innerHTML" not in text, "names are untrusted: the canvas must never use innerHTML"
