"""Benchmark: how many actions a person needs to name the synthetic birds, by hand or assisted.

Synthetic parts set (truth known: the part drawn at each heatmap's peak, ``parts_under_peak``
with the data set's ``part_map``; ``--truth keypoint`` takes the part whose keypoint is nearest
the peak instead, which calls body pixels near the tail keypoint "tail"),
a small CNN, its XNNs at ``fc6`` and the activation set of three categories, with
descriptors. A simulated person who knows the truth names each category through the
widget's Python API until at least 0.9 of every part's activations (parts with at least 3)
sit in that part's concept. Counted actions: a concept created or renamed, an accepted batch,
a wrong suggestion rejected, an activation moved by hand (a merge counts one).

- by hand: a concept per part, then every activation moved into it;
- suggest: a concept per part, each started from 3 seeds moved by hand (all concepts first, so
  each has the others as negative evidence from its first suggestion), then, concept by
  concept, rounds of ``suggest(k=20)``: the right ones accepted as one batch, each wrong one
  rejected, until the part is covered (anything suggestions never bring is moved by hand);
- propose + suggest: ``propose_concepts`` first; each proposal is renamed to its majority part
  (or merged into that part's concept), its wrong members moved out by hand, the rest
  confirmed as a batch; then suggest as above;
- transfer: ``start_from`` another simulated person's naming (with their errors); wrong
  members moved by hand, each concept confirmed as a batch; then suggest as above.

Also times ``suggest`` at 10,000 activations (synthetic descriptors of the same size).

    python bench/assisted_naming.py [--per-class 100] [--epochs 6] [--truth drawn|keypoint]

The last line is the ratio: actions by hand / actions with suggestions.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xnaming_widget as xw  # noqa: E402
from xnaming_widget import analysis  # noqa: E402
from xnaming_widget._files import write_json_atomic  # noqa: E402
from xnaming_widget.naming import NamingError  # noqa: E402
from xnaming_widget.widget import NamingWidget  # noqa: E402

CATEGORIES = ["Cardinal", "Mallard", "Flamingo"]
COVER = 0.9
SEEDS = 3
K = 20


def build(per_class: int, epochs: int, seed: int = 0, truth_rule: str = "drawn"):
    """The parts activation set (with descriptors) and its truth, cached in bench/out/."""
    train = xw.make_parts_dataset(per_class, size=64, seed=seed)
    test = xw.make_parts_dataset(per_class, size=64, seed=seed + 1)
    cnn = xw.train_classifier(train, test, epochs=epochs, batch_size=32, seed=seed, progress=False)
    features = xw.FeatureExtractor(cnn, "fc6").extract(train, progress=False)
    bank = xw.fit_class_xnns(features.Z, features.logits, train.classes, labels=features.labels, epochs=20, seed=seed)
    out = Path(__file__).resolve().parent / "out" / f"assisted-{per_class}-{epochs}-{seed}"
    try:
        acts = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction",
                                    out_dir=out, show_progress=False)
    except ValueError:  # built with other code or weights: build afresh
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        acts = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction",
                                    out_dir=out, show_progress=False)
    truth = analysis.parts_under_peak(acts, test.keypoints, test.boxes, test.part_names,
                                      image_index=lambda image_id: int(image_id[3:]),
                                      part_map=test.part_map if truth_rule == "drawn" else None)
    return acts, truth, cnn.test_accuracy


class Person:
    """A simulated person naming one category who knows the truth; counts actions."""

    def __init__(self, widget: NamingWidget, truth: pd.Series):
        self.w, self.truth = widget, truth
        ids = widget._payload.shown_ids
        self.parts = {p: [a for a in ids if truth[a] == p] for p in dict.fromkeys(truth[ids])}
        self.parts = {p: members for p, members in self.parts.items() if len(members) >= 3}
        self.concept: dict[str, str] = {}  # part -> concept id
        self.actions = Counter()
        self.suggested = Counter()  # suggestions shown and right ones, for their precision

    def covered(self, part: str) -> float:
        cid = self.concept.get(part)
        if cid is None:
            return 0.0
        members = set(next(c["members"] for c in self.w.state["concepts"] if c["id"] == cid))
        return len(members & set(self.parts[part])) / len(self.parts[part])

    def done(self) -> bool:
        return all(self.covered(p) >= COVER for p in self.parts)

    def where(self, aid: str) -> str:
        return self.w._naming.place_of(aid)

    def create(self, part: str, seeds: list[str]) -> None:
        self.concept[part] = self.w.create_concept(part)
        self.actions["concept"] += 1
        for aid in seeds:
            self.move_by_hand(aid, self.concept[part])

    def move_by_hand(self, aid: str, target: str) -> None:
        self.w.move([aid], target)
        self.actions["by hand"] += 1

    def finish_by_hand(self, part: str) -> None:
        if part not in self.concept:
            self.create(part, [])
        for aid in self.parts[part]:
            if self.covered(part) >= COVER:
                break
            if self.where(aid) != self.concept[part]:
                self.move_by_hand(aid, self.concept[part])

    def suggest_until_covered(self, part: str) -> None:
        cid = self.concept[part]
        while self.covered(part) < COVER:
            suggested = self.w.suggest(cid, k=K)
            right = [a for a in suggested if self.truth[a] == part]
            wrong = [a for a in suggested if self.truth[a] != part]
            self.suggested["right"] += len(right)
            self.suggested["shown"] += len(suggested)
            if right:
                self.w.accept(cid, right)
                self.actions["accepted batch"] += 1
            if wrong:
                self.w.reject(cid, wrong)
                self.actions["rejected"] += len(wrong)
            if not right:
                break
        self.finish_by_hand(part)

    # -------------------------------------------------------------- strategies
    def by_hand(self) -> None:
        for part in self.parts:
            self.create(part, [])
            self.finish_by_hand(part)

    def with_suggestions(self) -> None:
        for part in self.parts:
            if part not in self.concept:
                pool = [a for a in self.parts[part] if self.where(a) == "unlabeled"]
                self.create(part, pool[:SEEDS])
        for part in self.parts:
            self.suggest_until_covered(part)

    def adopt_concepts(self) -> None:
        """Go through the proposed or transferred concepts: name or merge, fix, confirm."""
        for cid in [c["id"] for c in self.w.state["concepts"]]:
            current = {c["id"]: c for c in self.w.state["concepts"]}
            if cid not in current or cid in self.concept.values():
                continue  # merged away already, or adopted
            members = current[cid]["members"]
            if not members:
                continue
            part, count = Counter(self.truth[a] for a in members).most_common(1)[0]
            if part not in self.parts:
                self.w.delete_concept(cid)
                self.actions["concept"] += 1
                continue
            namesake = next((c["id"] for c in current.values() if c["name"] == part and c["id"] != cid), None)
            if part in self.concept or namesake is not None:
                keep = self.concept.get(part, namesake)
                self.w.merge([keep, cid])
                self.actions["concept"] += 1
                self.concept[part] = keep
            else:
                if current[cid]["name"] != part:
                    self.w.rename(cid, part)
                    self.actions["concept"] += 1
                self.concept[part] = cid
            members = next(c["members"] for c in self.w.state["concepts"] if c["id"] == self.concept[part])
            for aid in members:
                if self.truth[aid] != part:
                    self.move_by_hand(aid, self.concept.get(self.truth[aid], "unlabeled"))
            proposed = [a for a, (_, p) in self.w.state["marks"].items() if p]
            if proposed:
                self.w.confirm(proposed)
                self.actions["accepted batch"] += 1

    def with_proposals(self) -> None:
        self.w.propose_concepts(size=20)
        self.adopt_concepts()
        self.with_suggestions()

    def with_transfer(self) -> None:
        self.adopt_concepts()
        self.with_suggestions()


def run(acts, truth, strategy: str, other_naming: Path | None = None) -> tuple[int, int, bool, float]:
    """(actions, significant activations, reached, precision of the suggestions) over the
    categories for one strategy (precision NaN when none were made)."""
    total_actions, total_shown, reached, suggested = 0, 0, True, Counter()
    for category in CATEGORIES:
        kwargs = {"start_from": other_naming / f"{category}.json"} if strategy == "transfer" else {}
        w = NamingWidget(acts, category=category, annotator="sim", **kwargs)
        person = Person(w, truth)
        getattr(person, {"by hand": "by_hand", "suggest": "with_suggestions", "propose + suggest": "with_proposals",
                         "transfer": "with_transfer"}[strategy])()
        reached &= person.done()
        total_actions += sum(person.actions.values())
        total_shown += len(w._payload.shown_ids)
        suggested += person.suggested
        w.close()
    precision = suggested["right"] / suggested["shown"] if suggested["shown"] else float("nan")
    return total_actions, total_shown, reached, precision


def time_suggest(n: int = 10_000, dims: int = 69, repeats: int = 20) -> float:
    """Median ms of ``suggest`` on ``n`` activations with 20 concepts of 100 members and 50 rejections."""
    rng = np.random.default_rng(0)
    ids = [f"Bird/img{i // 5:05d}/x{i % 5}" for i in range(n)]
    table = pd.DataFrame({"activation_id": ids, "image_id": [a.split("/")[1] for a in ids], "category": "Bird",
                          "xfeature": [i % 5 for i in range(n)], "value": 1.0, "weight": 1.0, "contribution": 1.0,
                          "significant": True, "predicted": "Bird", "label": "Bird"})
    images = list(dict.fromkeys(table["image_id"]))
    acts = xw.ActivationSet(table, images, np.zeros((len(images), 2, 2, 3), np.uint8), np.arange(n),
                            np.zeros((n, 2, 2), np.float16), [b""] * n, [b""] * len(images),
                            descriptors=rng.normal(size=(n, dims)).astype(np.float16))
    w = NamingWidget(acts, category="Bird", annotator="t")
    concepts = [w.create_concept(f"c{j}", ids[j * 100:(j + 1) * 100]) for j in range(20)]
    w.reject(concepts[0], ids[5000:5050])
    w.suggest(concepts[0])  # projects the descriptors once
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        w.suggest(concepts[r % 20], k=K)
        times.append((time.perf_counter() - start) * 1000)
    w.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--truth", choices=("drawn", "keypoint"), default="drawn",
                        help="the part drawn at the peak (default) or the part whose keypoint is nearest it")
    args = parser.parse_args()
    acts, truth, accuracy = build(args.per_class, args.epochs, truth_rule=args.truth)
    print(f"parts set: CNN accuracy {accuracy:.3f}, {int(acts.table['significant'].sum())} significant activations "
          f"in {CATEGORIES}; parts under the peaks ({args.truth}): {dict(truth.value_counts())}")
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder)
        simulated = analysis.simulate_annotators(acts, truth, 1, skip=0.15, trash=0.03, noise=0.1, split=0.1,
                                                 merge=0.05, seed=7, prefix="other")
        for doc in analysis.naming_docs(simulated, fingerprint=acts.fingerprint):
            write_json_atomic(other / f"{doc['category']}.json", doc)
        rows = []
        for strategy in ("by hand", "suggest", "propose + suggest", "transfer"):
            actions, shown, reached, precision = run(acts, truth, strategy, other)
            rows.append((strategy, actions, shown, actions / shown, reached, precision))
    print(f"{'strategy':<20}{'actions':>9}{'activations':>13}{'per activation':>16}  reached 0.9  "
          "suggestions right")
    for strategy, actions, shown, per, reached, precision in rows:
        print(f"{strategy:<20}{actions:>9}{shown:>13}{per:>16.3f}  {str(reached):<11}  {precision:.2f}")
    ms = time_suggest()
    print(f"suggest at 10,000 activations (69-d descriptors, 20 concepts): median {ms:.1f} ms")
    print(f"actions by hand / with suggestions = {rows[0][3] / rows[1][3]:.1f}")


if __name__ == "__main__":
    try:
        main()
    except NamingError as err:
        raise SystemExit(f"naming error: {err}")
