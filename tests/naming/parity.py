"""The naming parity fixture: random operations through Python's NamingState, step by step.

``python tests/naming/parity.py`` writes ``js/test/fixtures/naming_parity.json``; the Python
test checks the committed file is what the Python rules produce today, and
``js/test/naming.test.js`` replays it through the browser's naming core. So both languages are
held to the same snapshots after every step.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from xnaming_widget.naming import NamingError, NamingState  # noqa: E402

FIXTURE = ROOT / "js" / "test" / "fixtures" / "naming_parity.json"
N_STEPS = 400
NAMES = ["heel", "Heel", "heel  ", " toe cap", "toe  cap", "laces", "sole", "logo", "Straße", "e\u0301clair",
         "\u00e9clair", "", "   ", "a\tb", "x" * 201, "<b>bold</b>"]


def _random_op(rng: random.Random, state: NamingState, ids: list[str]) -> dict:
    concepts = [c["id"] for c in state.concepts]
    some = lambda: rng.sample(ids, rng.randint(0, 6)) + (["ghost"] if rng.random() < 0.05 else [])  # noqa: E731
    kind = rng.choices(["move", "create", "rename", "merge", "delete", "undo", "redo", "confirm", "accept"],
                       weights=[5, 3, 1, 1.2, 1, 1.5, 3 if state.can_redo else 0.3, 0.8, 1.5])[0]
    via = rng.choice(["person", "person", "person", "suggestion", "proposal", "transfer", "robot"])
    pick = lambda: rng.choice(concepts + ["c99"]) if concepts else "c99"  # noqa: E731
    if kind == "move":
        return {"op": "move", "ids": some(), "target": rng.choice(concepts + ["unlabeled", "trash", "trash"]),
                "via": via}
    if kind == "create":
        return {"op": "create", "name": rng.choice(NAMES), "members": some(), "via": via}
    if kind == "accept":  # suggestions accepted into a concept (or, refused, into a special place)
        return {"op": "accept", "concept_id": rng.choice([pick(), pick(), "unlabeled"]), "ids": some()}
    if kind == "confirm":
        marked = [aid for aid, (_, proposed) in state.marks.items() if proposed]
        return {"op": "confirm", "ids": rng.sample(marked, min(len(marked), 3)) + some()[:2]}
    if kind == "rename":
        return {"op": "rename", "concept_id": pick(), "name": rng.choice(NAMES)}
    if kind == "merge":
        chosen = rng.sample(concepts, min(len(concepts), rng.randint(2, 3))) if len(concepts) >= 2 else [pick()]
        return {"op": "merge", "concept_ids": chosen, "name": rng.choice(NAMES + [None, None])}
    if kind == "delete":
        return {"op": "delete", "concept_id": pick()}
    return {"op": kind}


def _apply(state: NamingState, op: dict):
    """Apply ``op`` as the widget does; returns the new concept's id for create, else None."""
    if op["op"] == "create":
        return state.create_concept(op["name"], op["members"], via=op["via"])
    if op["op"] == "move":
        state.move(op["ids"], op["target"], via=op["via"])
    elif op["op"] == "accept":  # NamingWidget.accept
        state.move(op["ids"], op["concept_id"], via="suggestion")
    elif op["op"] == "confirm":
        state.confirm(op["ids"])
    elif op["op"] == "rename":
        state.rename(op["concept_id"], op["name"])
    elif op["op"] == "merge":
        state.merge(op["concept_ids"], op["name"])
    elif op["op"] == "delete":
        state.delete_concept(op["concept_id"])
    else:
        getattr(state, op["op"])()
    return None


def make_fixture(seed: int = 2026, n_steps: int = N_STEPS) -> dict:
    """Ids in a shuffled display order, then ``n_steps`` operations with Python's outcome of each."""
    rng = random.Random(seed)
    ids = [f"Sneaker/img{i:05d}/x{k}" for i in range(8) for k in range(3)]
    rng.shuffle(ids)  # display order differs from sorted order, so ordering rules are tested
    state = NamingState(ids)
    steps = []
    for _ in range(n_steps):
        op = _random_op(rng, state, ids)
        try:
            new_id = _apply(state, op)
            refused = False
        except NamingError:
            new_id, refused = None, True
        steps.append({"op": op, "new_id": new_id, "refused": refused, "snapshot": state.snapshot()})
    return {"ids": ids, "steps": steps}


def fixture_text(fixture: dict) -> str:
    return json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(fixture_text(make_fixture()), encoding="utf-8")
    print(f"wrote {FIXTURE}")
