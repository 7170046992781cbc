"""The committed parity fixture is what Python's naming rules produce today, and it is rich enough."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location("naming_parity", Path(__file__).with_name("parity.py"))
parity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parity)


def test_the_committed_fixture_is_what_python_produces():
    same = parity.FIXTURE.read_text(encoding="utf-8") == parity.fixture_text(parity.make_fixture())
    assert same, "js/test/fixtures/naming_parity.json is stale: run `python tests/naming/parity.py`"


def test_the_fixture_covers_every_operation_and_refusals():
    steps = parity.make_fixture()["steps"]
    assert len(steps) >= 300
    done = Counter(s["op"]["op"] for s in steps if not s["refused"])
    refused = Counter(s["op"]["op"] for s in steps if s["refused"])
    for op in ("create", "move", "rename", "merge", "delete", "undo", "redo", "confirm", "accept"):
        assert done[op] >= 5, f"only {done[op]} successful {op} operations"
    assert refused["create"] >= 3 and refused["move"] >= 1  # bad names, duplicates, unknown ids
    assert refused["accept"] >= 3  # into unlabeled, an unknown concept, no ids
    sizes = [sum(len(c["members"]) for c in s["snapshot"]["concepts"]) for s in steps]
    assert max(sizes) >= 8  # concepts actually fill up
    marked = [s for s in steps if s["snapshot"]["marks"]]
    assert len(marked) >= 50 and any(m[1] for s in marked for m in s["snapshot"]["marks"].values())
