"""Progress bars in a log (stderr not a terminal): one kept line per outer bar, no nested bars."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
from xnaming_widget._progress import progress
for step in ("first", "second"):
    for i in progress(range(3), desc=step):
        for j in progress(range(4), desc="inner"):
            pass
try:
    for i in progress(range(2), desc="failing"):
        raise KeyError
except KeyError:
    pass
for i in progress(range(2), desc="after"):
    for j in progress(range(2), desc="inner"):  # skipped: the failed bar closed its count
        pass
"""


def _log(env_extra: dict) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XNAMING_PROGRESS": "1", **env_extra}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, env=env, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stderr.decode()  # bytes: text mode would turn tqdm's "\r" into line breaks


def test_a_log_gets_one_line_per_outer_bar_and_no_nested_bars():
    log = _log({})
    lines = [line for line in log.split("\n") if line.strip()]
    # each line may hold several redraws ("\r"-separated); what a reader sees is the last one
    final = [line.split("\r")[-1] for line in lines]
    assert [f.split(":")[0] for f in final] == ["first", "second", "failing", "after"], final
    assert "3/3" in final[0] and "3/3" in final[1] and "2/2" in final[3]
    assert "inner" not in log
    assert not any(re.search(r"(?<!\d)0%", f) for f in final[:2] + final[3:])  # no stale 0 % line


def test_progress_can_be_switched_off():
    assert _log({"XNAMING_PROGRESS": "0"}) == ""
