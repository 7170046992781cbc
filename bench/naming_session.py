"""Benchmark: a long naming session with autosave, through the widget's Python API.

2,000 activations; 10,000 operations (moves of 1-5 activations, new concepts, renames, merges,
deletes, undo and redo), each autosaved before it returns. Prints the median latency of
operations 101-200 and of the last 100, and their ratio (1.0 = an edit costs the same however
long the session). For comparison, the obvious alternative, rewriting the whole naming file
(with its log) atomically after every edit, as the widget did before the journal, is timed on
the first 2,000 of the same operations.

    python bench/naming_session.py [--ops 10000] [--baseline-ops 2000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xnaming_widget._files import write_text_atomic  # noqa: E402
from xnaming_widget.naming import NamingError  # noqa: E402
from xnaming_widget.naming.document import snapshot_text  # noqa: E402
from xnaming_widget.widget import NamingWidget  # noqa: E402

N_ACTIVATIONS = 2000


def activation_table() -> pd.DataFrame:
    ids = [f"Sneaker/img{i // 4:05d}/x{i % 4}" for i in range(N_ACTIVATIONS)]
    return pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "Sneaker",
                         "xfeature": [i % 4 for i in range(N_ACTIVATIONS)], "contribution": 1.0,
                         "significant": True})


def operations(rng: random.Random, widget: NamingWidget, ids: list[str], n: int):
    """``n`` operations a person might do, drawn against the widget's current naming."""
    made = 0
    for _ in range(n):
        concepts = widget.concepts["id"].tolist()
        r = rng.random()
        if not concepts or (r < 0.04 and len(concepts) < 40):
            made += 1
            yield widget.create_concept, (f"concept {made}", rng.sample(ids, 3))
        elif r < 0.80:
            target = rng.choice(concepts + ["trash", "unlabeled"])
            yield widget.move, (rng.sample(ids, rng.randint(1, 5)), target)
        elif r < 0.85:
            made += 1
            yield widget.rename, (rng.choice(concepts), f"renamed {made}")
        elif r < 0.87 and len(concepts) >= 2:
            yield widget.merge, (rng.sample(concepts, 2),)
        elif r < 0.89:
            yield widget.delete_concept, (rng.choice(concepts),)
        elif r < 0.95:
            yield widget.undo, ()
        else:
            yield widget.redo, ()


def session(n_ops: int, seed: int, whole_file: bool) -> list[float]:
    """Latency (ms) of each operation that changed the naming."""
    table = activation_table()
    ids = table["activation_id"].tolist()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ana-Sneaker.json"
        widget = NamingWidget(table, category="Sneaker", annotator="ana", autosave=None if whole_file else path)
        latencies = []
        for method, args in operations(random.Random(seed), widget, ids, n_ops):
            version = widget._naming.version
            start = time.perf_counter()
            try:
                method(*args)
            except NamingError:
                continue
            if whole_file:  # the old autosave: the whole document, log included, after every edit
                write_text_atomic(path, snapshot_text(widget._document(saved_at=None)))
            if widget._naming.version != version:
                latencies.append((time.perf_counter() - start) * 1000)
        widget.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--baseline-ops", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    journal = session(args.ops, args.seed, whole_file=False)
    early, late = statistics.median(journal[100:200]), statistics.median(journal[-100:])
    print(f"journal autosave, {len(journal)} edits on {N_ACTIVATIONS} activations: median "
          f"{early:.2f} ms (edits 101-200), {late:.2f} ms (last 100), last/early {late / early:.2f}")
    whole = session(args.baseline_ops, args.seed, whole_file=True)
    w_early, w_late = statistics.median(whole[100:200]), statistics.median(whole[-100:])
    j_same = statistics.median(journal[len(whole) - 100:len(whole)])
    print(f"whole-file rewrite, {len(whole)} edits: median {w_early:.2f} ms (edits 101-200), "
          f"{w_late:.2f} ms (last 100), last/early {w_late / w_early:.2f}")
    print(f"at edit {len(whole)}: whole-file rewrite / journal = {w_late / j_same:.1f}; "
          f"journal last/early ratio = {late / early:.2f}")


if __name__ == "__main__":
    main()
