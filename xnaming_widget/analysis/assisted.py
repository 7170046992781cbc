"""Simulated people naming with and without the tool's help, counting their actions.

The assisted-naming comparison of ``bench/assisted_naming.py`` and notebook 05: a simulated
person who knows the truth (for example the part drawn under each heatmap's peak,
:func:`.simulate.parts_under_peak`) names each category through the widget's Python API
until at least ``COVER`` of every true concept's activations (concepts with at least
``MIN_PART`` of them) sit in that concept. Counted actions: a concept created, renamed,
merged or deleted, an accepted batch, a wrong suggestion rejected, an activation moved by hand.

Strategies:

- ``"by hand"``: a concept per part, then every activation moved into it;
- ``"suggest"``: a concept per part, each started from ``SEEDS`` seeds moved by hand (all
  concepts first, so each has the others as negative evidence from its first suggestion),
  then, concept by concept, rounds of ``suggest(k=K)``: the right ones accepted as one batch,
  each wrong one rejected, until the part is covered (what suggestions never bring is moved
  by hand);
- ``"propose + suggest"``: ``propose_concepts`` first; each proposal is renamed to its
  majority part (or merged into that part's concept, or deleted), its wrong members moved
  out by hand, the rest confirmed as a batch; then suggest as above;
- ``"transfer"``: ``start_from`` another person's naming (with that person's errors); the
  same adoption, then suggest as above;
- ``"oracle"`` (a reference, not in ``STRATEGIES``): ``"suggest"`` with a perfect ranking, the
  right activations first (in display order), then the wrong ones: what the counting itself
  costs (seeds, batches, and the wrong ones that fill the last round of a small part).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..naming.rules import UNLABELED

__all__ = ["COVER", "K", "MIN_PART", "SEEDS", "STRATEGIES", "SimulatedPerson", "compare_assistance"]

COVER = 0.9
MIN_PART = 3
SEEDS = 3
K = 20
STRATEGIES = ("by hand", "suggest", "propose + suggest", "transfer")
_METHODS = {"by hand": "by_hand", "suggest": "with_suggestions", "propose + suggest": "with_proposals",
            "transfer": "with_transfer", "oracle": "with_oracle"}


class SimulatedPerson:
    """A simulated person naming one category who knows the truth; counts actions."""

    def __init__(self, widget: Any, truth: pd.Series, *, oracle: bool = False):
        self.w, self.truth, self.oracle = widget, truth, oracle
        ids = widget._payload.shown_ids
        self.parts = {p: [a for a in ids if truth[a] == p] for p in dict.fromkeys(truth[ids])}
        self.parts = {p: members for p, members in self.parts.items() if len(members) >= MIN_PART}
        self.concept: dict[str, str] = {}  # part -> concept id
        self.actions = Counter()
        self.suggested = Counter()  # suggestions shown and right ones, for their precision

    def covered(self, part: str) -> float:
        cid = self.concept.get(part)
        if cid is None:
            return 0.0
        places = self.w._naming.places_of(self.parts[part])
        return places.count(cid) / len(places)

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
            suggested = self.perfect_ranking(cid, part) if self.oracle else self.w.suggest(cid, k=K)
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

    def perfect_ranking(self, cid: str, part: str) -> list[str]:
        """The ``K`` unlabeled activations not rejected for ``cid``, the part's first."""
        rejected = self.w._naming.rejected(cid)
        ids = self.w._payload.shown_ids
        pool = [a for a, place in zip(ids, self.w._naming.places_of(ids)) if place == UNLABELED and a not in rejected]
        return ([a for a in pool if self.truth[a] == part] + [a for a in pool if self.truth[a] != part])[:K]

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

    def with_oracle(self) -> None:
        self.oracle = True
        self.with_suggestions()

    def with_proposals(self) -> None:
        self.w.propose_concepts(size=20)
        self.adopt_concepts()
        self.with_suggestions()

    def with_transfer(self) -> None:
        self.adopt_concepts()
        self.with_suggestions()


def _run(acts, truth, categories, strategy: str, other_naming: Path | None) -> tuple[int, int, bool, float]:
    """(actions, significant activations, reached, precision of the suggestions) over the
    categories for one strategy (precision NaN when none were made)."""
    total_actions, total_shown, reached, suggested = 0, 0, True, Counter()
    for category in categories:
        kwargs = {"start_from": other_naming / f"{category}.json"} if strategy == "transfer" else {}
        from ..widget import NamingWidget

        w = NamingWidget(acts, category=category, annotator="simulated", **kwargs)
        person = SimulatedPerson(w, truth)
        getattr(person, _METHODS[strategy])()
        reached &= person.done()
        total_actions += sum(person.actions.values())
        total_shown += len(w._payload.shown_ids)
        suggested += person.suggested
        w.close()
    precision = suggested["right"] / suggested["shown"] if suggested["shown"] else float("nan")
    return total_actions, total_shown, reached, precision


def compare_assistance(acts: Any, truth: pd.Series, categories: Sequence[str], *,
                       other_naming: str | Path | None = None,
                       strategies: Sequence[str] = STRATEGIES) -> pd.DataFrame:
    """Actions per significant activation of each strategy, one row per strategy.

    ``truth``: the true concept of every significant activation (Series by activation id).
    ``other_naming``: a folder of another person's naming files ``<category>.json`` of the same
    set, needed by ``"transfer"``. Columns: ``actions``, ``activations``, ``per_activation``,
    ``reached`` (every part covered), ``suggestions_right`` (share of the suggestions shown
    that were right; NaN without suggestions).
    """
    unknown = [s for s in strategies if s not in _METHODS]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    if "transfer" in strategies and other_naming is None:
        raise ValueError("the transfer strategy starts from another person's naming: pass other_naming=<folder of "
                         "<category>.json naming files>")
    rows = []
    for strategy in strategies:
        actions, shown, reached, precision = _run(acts, truth, categories, strategy,
                                                  None if other_naming is None else Path(other_naming))
        rows.append({"strategy": strategy, "actions": actions, "activations": shown,
                     "per_activation": actions / shown if shown else float("nan"), "reached": reached,
                     "suggestions_right": precision})
    return pd.DataFrame(rows).set_index("strategy")
