"""The autosave journal: crashes lose at most the operation in flight, a second process is refused,
old files load, damaged ones are refused with the line, and an edit's cost does not grow."""
from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from xnaming_widget.naming import NamingError, NamingFileError, NamingFileLockedError, NamingState, read_naming_file
from xnaming_widget.naming.document import naming_doc
from xnaming_widget.widget import NamingWidget

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_session_child.py"
_spec = importlib.util.spec_from_file_location("session_child", CHILD)
child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child)
IDS = child.IDS


def _start(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(CHILD), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _expected_states(seed: int, n: int) -> list[dict]:
    """The naming after 0..n operations, computed here without any file."""
    state = NamingState(IDS)
    states = [state.snapshot()]
    for _, op in child.ops(seed, state, n):
        try:
            child.parity._apply(state, op)
        except NamingError:
            pass
        states.append(state.snapshot())
    return states


def _placements(doc: dict) -> dict:
    return {"concepts": doc["concepts"], "unlabeled": sorted(doc["unlabeled"]), "trash": sorted(doc["trash"])}


def _kill_after_some_operations(path: Path, seed: int, delay: float) -> tuple[int, subprocess.Popen]:
    proc = _start(path, seed, 100_000, 7)  # compaction every 7 records: kills land in it too
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while "ready\n" not in lines:
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(10)
    return sum(line.startswith("done") for line in lines), proc


def test_twenty_sigkills_lose_at_most_the_operation_in_flight(tmp_path):
    rng = random.Random(7)
    runs = []
    for k in range(20):  # five at a time, each killed at a random moment
        path = tmp_path / f"run{k}" / "ana-Sneaker.json"
        runs.append((path, 100 + k, rng.uniform(0.0, 0.8)))
    results = []
    for batch in range(0, len(runs), 5):
        threads, out = [], {}
        for path, seed, delay in runs[batch:batch + 5]:
            t = threading.Thread(target=lambda p=path, s=seed, d=delay: out.__setitem__(p, _kill_after_some_operations(p, s, d)))
            t.start()
            threads.append(t)
        for t in threads:
            t.join(120)
        results += [(path, seed, out[path][0]) for path, seed, _ in runs[batch:batch + 5]]
    assert sum(done > 0 for _, _, done in results) >= 15  # most kills came mid-session
    for path, seed, done in results:
        states = _expected_states(seed, done + 1)
        restored = _placements(read_naming_file(path))
        assert restored in (_placements(states[done]), _placements(states[done + 1])), \
            f"seed {seed}: {done} operations were reported done, the file holds another naming"
        widget = NamingWidget(child.activation_table(), category="Sneaker", annotator="ana", autosave=path)
        widget.close()  # the killed process's lock is taken over, its temporary files cleared
        assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_second_process_gets_a_clear_error_and_nothing_is_lost(tmp_path):
    path = tmp_path / "ana-Sneaker.json"
    mine = NamingWidget(child.activation_table(), category="Sneaker", annotator="ana", autosave=path)
    mine.create_concept("heel", IDS[:4])
    mine.close()
    holder = _start(path, "hold")
    try:
        first = holder.stdout.readline()
        assert first.startswith("holding"), holder.stderr.read()
        pid = first.split()[1]
        before = path.read_bytes()
        with pytest.raises(NamingFileLockedError, match=rf"process {pid} .*close that widget"):
            NamingWidget(child.activation_table(), category="Sneaker", annotator="ana", autosave=path)
        assert path.read_bytes() == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    again = NamingWidget(child.activation_table(), category="Sneaker", annotator="ana", autosave=path)
    assert again.concepts["name"].tolist() == ["heel"] and again.state["can_undo"]
    again.close()


@pytest.fixture
def widget(tmp_path):
    made = []

    def make(path=None):
        w = NamingWidget(child.activation_table(), category="Sneaker", annotator="ana",
                         autosave=path or tmp_path / "ana.json")
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def _journal_lines(path: Path) -> list[str]:
    text = path.read_text()
    _, end = json.JSONDecoder().raw_decode(text)
    return [line for line in text[end:].split("\n") if line.strip()]


def test_each_change_appends_one_line_of_the_same_size_however_long_the_session(tmp_path, widget):
    path = tmp_path / "ana.json"
    w = widget(path)
    cid = w.create_concept("heel")
    sizes = []
    for i in range(300):
        before = path.stat().st_size
        w.move([IDS[i % 50]], cid if (i // 50) % 2 == 0 else "unlabeled")  # in, then back out
        sizes.append(path.stat().st_size - before)
    early, late = sizes[10:20], sizes[-10:]
    assert max(late) <= max(early) + 8  # only the record number and timestamp digits may grow
    assert len(_journal_lines(path)) == 301  # one record per change, nothing rewritten


def test_the_journal_is_compacted_every_few_hundred_records_and_at_close(tmp_path, widget):
    from xnaming_widget.naming.journal import COMPACT_EVERY

    path = tmp_path / "ana.json"
    w = widget(path)
    cid = w.create_concept("heel")
    for i in range(COMPACT_EVERY + 20):
        w.move([IDS[i % 50]], cid if (i // 50) % 2 == 0 else "trash")
    assert 0 < len(_journal_lines(path)) < COMPACT_EVERY
    w.close()
    assert _journal_lines(path) == [] and len(read_naming_file(path)["log"]) == COMPACT_EVERY + 21


def test_a_torn_last_line_is_dropped_and_a_damaged_line_refused(tmp_path, widget):
    path = tmp_path / "ana.json"
    w = widget(path)
    w.create_concept("heel", IDS[:3])
    w.move(IDS[3:5], "trash")
    w.close()
    clean = path.read_text()  # a compacted snapshot: two operations in its log
    w2 = widget(path)
    w2.move(IDS[5:6], "trash")
    (record,) = _journal_lines(path)
    w2.close()
    path.write_text(clean + record + "\n" + '{"n":3,"op":"move","ti')  # the crash cut the next record
    doc = read_naming_file(path)
    assert doc["trash"] == IDS[3:6] and len(doc["log"]) == 3
    path.write_text(clean + "not json\n" + record + "\n")
    with pytest.raises(NamingFileError, match="journal line \\d+ is damaged"):
        read_naming_file(path)
    path.write_text(clean + record + "\n" + record + "\n")  # a repeated record does not fit
    with pytest.raises(NamingFileError, match="record 2"):
        read_naming_file(path)


def test_version_1_files_still_load_and_are_upgraded_with_their_undo_history(tmp_path, widget):
    from xnaming_widget.naming.document import parse_naming_text

    path = tmp_path / "ana.json"
    state = NamingState(IDS)
    cid = state.create_concept("heel", IDS[:3])
    state.move(IDS[3:4], cid)
    snap = state.snapshot()
    old = naming_doc(annotator="ana", category="Sneaker", fingerprint=widget(tmp_path / "probe.json").fingerprint,
                     concepts=snap["concepts"], trash=snap["trash"], unlabeled=snap["unlabeled"], log=state.log)
    old["schema_version"] = 1
    del old["order"]
    path.write_text(json.dumps(old, indent=1))  # as version 1 wrote it
    w = widget(path)
    assert w.concepts["size"].tolist() == [4] and w.state["can_undo"]
    assert parse_naming_text(path.read_text())[0]["schema_version"] == 2  # upgraded at open
    w.undo()
    assert w.concepts["size"].tolist() == [3]
    assert read_naming_file(path)["concepts"][0]["members"] == IDS[:3]
