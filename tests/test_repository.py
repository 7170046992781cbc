"""The repository's own text files: no merge left a conflict marker behind."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)
TEXT = (".py", ".md", ".js", ".css", ".toml", ".json", ".ipynb", ".cfg", ".txt", ".sh")


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in listed.splitlines()
            if name.endswith(TEXT) and not name.startswith("xnaming_widget/static/")]


def test_no_conflict_markers_in_tracked_files():
    found = [f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}"
             for path in tracked_text_files() if path.is_file()
             for text in [path.read_text(encoding="utf-8", errors="replace")] for m in MARKER.finditer(text)]
    assert not found, f"merge conflict markers left in: {found}"
