"""One person's naming of one category, in memory: operations, invariant, undo and redo.

``NamingState`` is pure Python (no widget, no files) so that every rule of the naming can be
tested on its own. Each activation has exactly one *place*: a concept id, ``"unlabeled"`` or
``"trash"``; the place map is the single source of truth, so the definitions §5 invariant ("every
shown activation is in exactly one place") holds by construction.

Every operation becomes a *change*, a JSON-ready record of what it did with the values before
and after. Undo applies a change backwards, redo forwards, and the log of changes is what the
autosave file keeps, so undo history survives a restart.

Change layout::

    {"moves": [[ids, from_place, to_place], ...],
     "concepts": [{"id", "before": {"name", "index"} | None, "after": {"name", "index"} | None}]}

``before`` None means the change creates the concept, ``after`` None that it removes it;
``index`` is the concept's position in the display order. A change may also carry
``"marks": [[ids, before, after], ...]``: how those concept members were placed, ``None`` for
a person's own placement or ``[via, proposed]`` for one a suggestion, a proposal or a transfer
made (``proposed`` until a person confirms it; definitions §5).
"""
from __future__ import annotations

import copy
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .rules import (PERSON, PROPOSING, SPECIAL_PLACES, TRASH, UNLABELED, VIA, NamingError, check_new_name,
                    clean_concept_name, concept_number, preview)

HISTORY_RESET = "history_reset"  # log entry: undo history starts again here


def now_iso() -> str:
    """The current time as an ISO 8601 string in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class NamingState:
    """The places of a fixed, ordered set of activations, with undoable operations.

    Concept members are listed in the activations' display order, so a naming, its undo and its
    restoration from a file always give the same lists.
    """

    def __init__(self, activation_ids: Sequence[str]):
        ids = [str(a) for a in activation_ids]
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dupes = [a for a in ids if a in seen or seen.add(a)]
            raise NamingError(f"Activation ids must be unique; repeated: {preview(dupes)}.")
        self._ids: list[str] = ids
        self._place: dict[str, str] = dict.fromkeys(ids, UNLABELED)
        self._place_journals: list[list[tuple[str, str]]] = []  # (id, place before) per open transaction
        self._order: list[str] = []  # concept ids in display order
        self._names: dict[str, str] = {}
        self._marks: dict[str, tuple[str, bool]] = {}  # concept members not placed by a person: (via, proposed)
        self._rejected: dict[str, set[str]] = {}  # concept id -> activations a person said do not belong
        self._undo: list[dict] = []  # changes that undo can revert, newest last
        self._redo: list[dict] = []
        self._log: list[dict] = []
        self._effects: list[tuple[dict, bool]] = []  # (change, reversed) of each log entry since start
        self._effects_start = 0  # the log index of _effects[0] (entries restored from a file have none)
        self._next_number = 1

    # ------------------------------------------------------------------ reading

    @property
    def activation_ids(self) -> list[str]:
        """The activations of this naming, in display order."""
        return list(self._ids)

    def place_of(self, activation_id: str) -> str:
        """The concept id, ``"unlabeled"`` or ``"trash"`` holding ``activation_id``."""
        try:
            return self._place[activation_id]
        except KeyError:
            raise NamingError(f"Unknown activation id {activation_id!r}.") from None

    def places_of(self, activation_ids: Sequence[str]) -> list[str]:
        """The place of each of ``activation_ids`` (KeyError for an unknown id): one dict lookup each."""
        return list(map(self._place.__getitem__, activation_ids))

    def members_by_place(self) -> dict[str, list[str]]:
        """Every place (concepts in display order, then unlabeled and trash) -> its members."""
        groups: dict[str, list[str]] = {cid: [] for cid in self._order}
        groups[UNLABELED] = []
        groups[TRASH] = []
        places = list(map(self._place.__getitem__, self._ids))
        if places and places.count(places[0]) == len(places):  # one place holds them all (a fresh naming)
            groups[places[0]] = list(self._ids)
            return groups
        append = {place: members.append for place, members in groups.items()}
        for aid, place in zip(self._ids, places):
            append[place](aid)
        return groups

    @property
    def concepts(self) -> list[dict]:
        """``[{"id", "name", "members"}]`` in display order."""
        groups = self.members_by_place()
        return [{"id": cid, "name": self._names[cid], "members": groups[cid]} for cid in self._order]

    @property
    def unlabeled(self) -> list[str]:
        return [aid for aid in self._ids if self._place[aid] == UNLABELED]

    @property
    def trash(self) -> list[str]:
        return [aid for aid in self._ids if self._place[aid] == TRASH]

    def concept_name(self, concept_id: str) -> str:
        self._require_concept(concept_id)
        return self._names[concept_id]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def log(self) -> list[dict]:
        """Every operation, undo and redo so far, with ISO timestamps (JSON-ready copies)."""
        return copy.deepcopy(self._log)

    def effects_since(self, version: int) -> list[list]:
        """``[[change, reversed], ...]``: what each operation, undo or redo from log index
        ``version`` on did to the naming, to apply elsewhere (the browser's copy) in order."""
        if version < self._effects_start:
            raise NamingError(f"no effects recorded before version {self._effects_start}")
        return [[change, reverse] for change, reverse in self._effects[version - self._effects_start:]]

    def log_since(self, start: int) -> list[dict]:
        """The log entries from index ``start`` on (the records an autosave journal appends).

        The entries are shared, not copied: they are never changed once written.
        """
        return self._log[start:]

    @property
    def version(self) -> int:
        """Counts the changes so far; grows by one with every operation, undo or redo."""
        return len(self._log)

    def sizes(self) -> list[tuple[str, str, int]]:
        """``(place, name, number of members)`` of every concept in display order, then unlabeled
        and trash (their names are the place names): a summary without listing the members."""
        counts = Counter(self._place.values())
        return [(c, self._names[c], counts.get(c, 0)) for c in self._order] + \
            [(p, p, counts.get(p, 0)) for p in (UNLABELED, TRASH)]

    def snapshot(self) -> dict:
        """The naming as plain data: ``concepts``, ``unlabeled``, ``trash`` lists and the ``marks``
        of members a person did not place ({id: [via, proposed]}, in display order)."""
        groups = self.members_by_place()
        return {
            "concepts": [{"id": c, "name": self._names[c], "members": groups[c]} for c in self._order],
            "unlabeled": groups[UNLABELED],
            "trash": groups[TRASH],
            "marks": self.marks,
        }

    @property
    def marks(self) -> dict[str, list]:
        """``{activation_id: [via, proposed]}`` for concept members placed by a suggestion, a
        proposal or a transfer, in display order (everything else a person placed)."""
        if not self._marks:
            return {}
        return {aid: list(self._marks[aid]) for aid in self._ids if aid in self._marks}

    def rejected(self, concept_id: str) -> set[str]:
        """The activations a person rejected as suggestions for ``concept_id`` (never suggested again)."""
        return set(self._rejected.get(concept_id, ()))

    @property
    def rejections(self) -> dict[str, list[str]]:
        """``{concept_id: [activation ids]}`` of every rejected suggestion, ids in display order."""
        return {cid: [a for a in self._ids if a in ids] for cid, ids in self._rejected.items() if ids}

    def placed_by(self, activation_id: str) -> tuple[str, bool]:
        """``(via, proposed)`` of an activation: ``("person", False)`` unless a suggestion, a
        proposal or a transfer placed it."""
        self.place_of(activation_id)
        return self._marks.get(activation_id, (PERSON, False))

    # --------------------------------------------------------------- operations

    def create_concept(self, name: str, members: Iterable[str] = (), via: str = PERSON) -> str:
        """Make a concept called ``name`` (optionally moving ``members`` into it); return its id.

        ``via`` says who placed the members (definitions §5): ``"person"``, or ``"suggestion"``,
        ``"proposal"``, ``"transfer"``.
        """
        name = clean_concept_name(name)
        check_new_name(name, self._names)
        via = _check_via(via)
        members = self._check_ids(members, allow_empty=True)
        concept_id = self._new_concept_id()
        moves = self._moves_to(members, concept_id)
        change = {
            "moves": moves,
            "concepts": [{"id": concept_id, "before": None, "after": {"name": name, "index": len(self._order)}}],
            **self._marks_for(moves, via),
        }
        self._record("create", _args(name=name, members=members, via=via), change)
        return concept_id

    def move(self, activation_ids: Iterable[str], target: str, via: str = PERSON) -> None:
        """Move activations to a concept id, ``"unlabeled"`` or ``"trash"`` (one undo step).

        ``via`` says who placed them: a person (the default), or a person accepting a
        ``"suggestion"``, or a ``"proposal"`` / ``"transfer"`` (proposed until confirmed).
        """
        ids = self._check_ids(activation_ids)
        target = self._check_target(target)
        via = _check_via(via)
        if via != PERSON and target in SPECIAL_PLACES:
            raise NamingError(f"Only a person puts activations in {target!r}; via={via!r} places them in concepts.")
        moves = self._moves_to(ids, target)
        change = {"moves": moves, "concepts": [], **self._marks_for(moves, via)}
        if change["moves"]:
            self._record("move", _args(ids=ids, target=target, via=via), change)

    def reject(self, concept_id: str, activation_ids: Iterable[str]) -> None:
        """Record that activations do not belong to a concept (suggestions a person turned down);
        one undo step. Ids already rejected for it are left out."""
        self._require_concept(concept_id)
        ids = [a for a in self._check_ids(activation_ids) if a not in self._rejected.get(concept_id, ())]
        if ids:
            self._record("reject", {"concept_id": concept_id, "ids": ids},
                         {"moves": [], "concepts": [], "rejects": [[concept_id, ids]]})

    def create_concepts(self, groups: Sequence[tuple[str, Iterable[str]]], via: str = PERSON) -> list[str]:
        """Make several concepts at once, ``[(name, members), ...]``, as one operation and one undo
        step (a proposed grouping of the pool, a transfer); returns their ids."""
        via = _check_via(via)
        names: dict[str, str] = dict(self._names)
        place = dict(self._place)
        concepts, moves_all, ids_out, args = [], [], [], []
        for name, members in groups:
            name = clean_concept_name(name)
            check_new_name(name, names)
            members = self._check_ids(members, allow_empty=True)
            concept_id = self._new_concept_id()
            while concept_id in names:
                concept_id = self._new_concept_id()
            names[concept_id] = name
            by_source: dict[str, list[str]] = {}
            for aid in members:
                if place[aid] != concept_id:
                    by_source.setdefault(place[aid], []).append(aid)
                    place[aid] = concept_id
            moves_all += [[ids, source, concept_id] for source, ids in by_source.items()]
            concepts.append({"id": concept_id, "before": None,
                             "after": {"name": name, "index": len(self._order) + len(concepts)}})
            ids_out.append(concept_id)
            args.append({"name": name, "members": members})
        if not concepts:
            return []
        moves_all = _collapse_moves(moves_all)
        change = {"moves": moves_all, "concepts": concepts, **self._marks_for(moves_all, via)}
        self._record("create_many", _args(concepts=args, via=via), change)
        return ids_out

    def confirm(self, activation_ids: Iterable[str]) -> None:
        """A person confirms proposed members where they are (one undo step); others are left as they are."""
        ids = self._check_ids(activation_ids)
        proposed = [aid for aid in ids if self._marks.get(aid, (PERSON, False))[1]]
        if not proposed:
            return
        marks = _grouped_marks([(aid, list(self._marks[aid]), [self._marks[aid][0], False]) for aid in proposed])
        self._record("confirm", {"ids": proposed}, {"moves": [], "concepts": [], "marks": marks})

    def rename(self, concept_id: str, name: str) -> None:
        """Give a concept a new name."""
        self._require_concept(concept_id)
        name = clean_concept_name(name)
        old = self._names[concept_id]
        if name == old:
            return
        check_new_name(name, self._names, except_id=concept_id)
        index = self._order.index(concept_id)
        change = {"moves": [], "concepts": [
            {"id": concept_id, "before": {"name": old, "index": index}, "after": {"name": name, "index": index}}
        ]}
        self._record("rename", {"concept_id": concept_id, "name": name}, change)

    def merge(self, concept_ids: Sequence[str], name: str | None = None) -> str:
        """Merge concepts into the first one (renamed to ``name`` if given); return its id."""
        if isinstance(concept_ids, str):
            raise NamingError("merge takes a list of at least two concept ids, not a single string.")
        concept_ids = [str(c) for c in concept_ids]
        if len(set(concept_ids)) != len(concept_ids):
            raise NamingError(f"merge got a concept id twice: {concept_ids!r}.")
        if len(concept_ids) < 2:
            raise NamingError("merge needs at least two concept ids.")
        for cid in concept_ids:
            self._require_concept(cid)
        keep, absorbed = concept_ids[0], concept_ids[1:]
        new_name = self._names[keep] if name is None else clean_concept_name(name)
        check_new_name(new_name, {c: n for c, n in self._names.items() if c not in concept_ids})
        groups = self.members_by_place()
        moves = [[groups[cid], cid, keep] for cid in absorbed if groups[cid]]
        keep_index = self._order.index(keep)
        concepts = [{"id": keep, "before": {"name": self._names[keep], "index": keep_index},
                     "after": {"name": new_name, "index": keep_index}}]
        concepts += [{"id": cid, "before": {"name": self._names[cid], "index": self._order.index(cid)},
                      "after": None} for cid in absorbed]
        self._record("merge", {"concept_ids": concept_ids, "name": name}, {"moves": moves, "concepts": concepts})
        return keep

    def delete_concept(self, concept_id: str) -> None:
        """Remove a concept; its members go back to the unlabeled pool."""
        self._require_concept(concept_id)
        members = self.members_by_place()[concept_id]
        moves = [[members, concept_id, UNLABELED]] if members else []
        change = {
            "moves": moves,
            "concepts": [{"id": concept_id, "before": {"name": self._names[concept_id],
                                                      "index": self._order.index(concept_id)}, "after": None}],
            **self._marks_for(moves, PERSON),
        }
        self._record("delete", {"concept_id": concept_id}, change)

    def undo(self) -> None:
        """Revert the latest operation that is not undone yet."""
        self._step_history({"op": "undo", "time": now_iso()})

    def redo(self) -> None:
        """Apply again the latest undone operation."""
        self._step_history({"op": "redo", "time": now_iso()})

    def _step_history(self, entry: dict) -> None:
        """Undo or redo (``entry["op"]``) one change between the stacks, and log ``entry``."""
        undo = entry["op"] == "undo"
        stack, other = (self._undo, self._redo) if undo else (self._redo, self._undo)
        if not stack:
            raise NamingError(f"Nothing to {entry['op']}.")
        change = stack[-1]
        self._apply(change, reverse=undo)
        other.append(stack.pop())
        self._log.append(entry)
        self._effects.append((change, undo))

    def apply_logged(self, entry: Mapping) -> None:
        """Apply a log entry read back from a journal (an operation, an undo or a redo).

        The entry's ``n`` (its index in the log, when present) must be the next one, so a
        journal with a missing or repeated record is refused instead of silently skewed.
        """
        expected = entry.get("n")
        if expected is not None and expected != len(self._log):
            raise NamingError(f"record number {expected} where {len(self._log)} was expected")
        op = entry["op"]
        entry = {k: v for k, v in entry.items() if k != "n"}
        if op in ("undo", "redo"):
            self._step_history(entry)
            return
        if op == HISTORY_RESET:
            self._undo, self._redo = [], []
            self._log.append(entry)
            self._effects.append(({"moves": [], "concepts": []}, False))
            return
        change = _validated_change(entry["change"])
        self._commit(change, entry)
        for step in change["concepts"]:
            number = concept_number(step["id"])
            if number is not None:
                self._next_number = max(self._next_number, number + 1)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run operations that are all kept, or all rolled back if the block raises."""
        # the place map is not copied (it is as large as the naming): the moves made inside are
        # journaled by _apply and undone from the journal
        saved = (list(self._order), dict(self._names), list(self._undo),
                 list(self._redo), len(self._log), self._next_number, dict(self._marks), len(self._effects),
                 {c: set(ids) for c, ids in self._rejected.items()})
        journal: list[tuple[str, str]] = []
        self._place_journals.append(journal)
        try:
            yield
        except BaseException:
            for aid, place in reversed(journal):
                self._place[aid] = place
            (self._order, self._names, self._undo, self._redo, n_log,
             self._next_number, self._marks, n_effects, self._rejected) = saved
            del self._log[n_log:]
            del self._effects[n_effects:]
            raise
        finally:  # by identity: an inner transaction's journal may equal the outer one's
            del self._place_journals[next(i for i, j in enumerate(self._place_journals) if j is journal)]

    # ---------------------------------------------------------------- restoring

    @classmethod
    def restore(cls, activation_ids: Sequence[str], concepts: Sequence[Mapping], trash: Iterable[str],
                unlabeled: Iterable[str], log: Sequence[Mapping] = (),
                marks: Mapping[str, Sequence] | None = None,
                rejected: Mapping[str, Sequence[str]] | None = None) -> tuple["NamingState", bool]:
        """Rebuild a state from a naming document's parts.

        Returns ``(state, history_restored)``. The placements must cover exactly the given
        activations. The undo/redo history is rebuilt from ``log`` when it is consistent with
        the placements; otherwise the naming is restored without history.
        """
        state = cls(activation_ids)
        known = set(state._ids)
        placed: dict[str, str] = {}
        lists = [(str(c["id"]), c["members"]) for c in concepts] + [(TRASH, trash), (UNLABELED, unlabeled)]
        for place, members in lists:
            for aid in members:
                if aid not in known:
                    raise NamingError(f"The naming places activation {aid!r}, which is not among the shown "
                                      "activations; it was made for another activation set.")
                if aid in placed:
                    raise NamingError(f"The naming places activation {aid!r} twice ({placed[aid]} and {place}).")
                placed[aid] = place
        missing = [a for a in state._ids if a not in placed]
        if missing:
            raise NamingError(f"The naming does not place {len(missing)} shown activation(s) "
                              f"({preview(missing)}); it was made for another activation set.")
        for concept in concepts:
            cid = str(concept["id"])
            if cid in SPECIAL_PLACES or cid in state._names:
                raise NamingError(f"Invalid or repeated concept id {cid!r} in the naming.")
            name = clean_concept_name(concept["name"])
            check_new_name(name, state._names)
            state._order.append(cid)
            state._names[cid] = name
        state._place = placed
        for aid, mark in (marks or {}).items():
            if placed.get(aid) in (None, *SPECIAL_PLACES):
                raise NamingError(f"The naming marks activation {aid!r}, which is not a concept member.")
            try:
                state._marks[aid] = tuple(_validated_mark(mark))
            except (TypeError, ValueError):
                raise NamingError(f"The mark {mark!r} of activation {aid!r} is not [via, proposed].") from None
        for cid, ids in (rejected or {}).items():
            unknown = [a for a in ids if a not in known]
            if unknown:
                raise NamingError(f"The naming's rejections for {cid!r} name unknown activations ({preview(unknown)}).")
            state._rejected[str(cid)] = set(ids)
        history_ok = state._restore_history(log)
        numbers = [concept_number(cid) for cid in state._all_known_concept_ids()]
        state._next_number = max((n for n in numbers if n is not None), default=0) + 1
        return state, history_ok

    def _restore_history(self, log: Sequence[Mapping]) -> bool:
        """Rebuild the undo/redo stacks from a log; start history afresh if it does not fit.

        The whole log is kept either way (it is the record of the work); when the history does
        not fit the placements, a ``history_reset`` entry marks where undo history starts again.
        """
        entries = [dict(e) for e in log if isinstance(e, Mapping)] if isinstance(log, Sequence) else []
        resets = [i for i, e in enumerate(entries) if e.get("op") == HISTORY_RESET]
        undo: list[dict] = []
        redo: list[dict] = []
        try:
            for entry in entries[resets[-1] + 1 if resets else 0:]:
                op = entry["op"]
                if op == "undo":
                    redo.append(undo.pop())
                elif op == "redo":
                    undo.append(redo.pop())
                else:
                    undo.append(_validated_change(entry["change"]))
                    redo.clear()
            probe = NamingState.__new__(NamingState)
            probe.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                                 if k in ("_ids", "_place", "_order", "_names", "_marks", "_rejected")}))
            probe._place_journals = []
            for change in reversed(undo):  # walking back to the start must fit every step
                probe._apply(change, reverse=True)
            for change in undo:
                probe._apply(change, reverse=False)
            for change in reversed(redo):
                probe._apply(change, reverse=False)
        except (KeyError, IndexError, TypeError, ValueError):
            self._log = copy.deepcopy(entries) + [{"op": HISTORY_RESET, "time": now_iso()}]
            self._effects, self._effects_start = [], len(self._log)
            return False
        self._undo, self._redo = undo, redo
        self._log = copy.deepcopy(entries)
        self._effects, self._effects_start = [], len(self._log)
        return True

    # ---------------------------------------------------------------- internals

    def _all_known_concept_ids(self) -> set[str]:
        ids = set(self._order)
        for change in self._undo + self._redo:
            ids.update(c["id"] for c in change["concepts"])
        return ids

    def _new_concept_id(self) -> str:
        # _next_number is above every numbered id the history knows (set on restore, only grows),
        # so an id is never reused and no scan of the history is needed.
        while f"c{self._next_number}" in self._names:
            self._next_number += 1
        concept_id = f"c{self._next_number}"
        self._next_number += 1
        return concept_id

    def _require_concept(self, concept_id: Any) -> None:
        if concept_id not in self._names:
            existing = ", ".join(f"{c} ({self._names[c]!r})" for c in self._order) or "none yet"
            raise NamingError(f"No concept with id {concept_id!r}. Existing concepts: {existing}.")

    def _check_ids(self, activation_ids: Iterable[str], allow_empty: bool = False) -> list[str]:
        if isinstance(activation_ids, str):
            activation_ids = [activation_ids]
        ids = list(dict.fromkeys(str(a) for a in activation_ids))
        if not ids and not allow_empty:
            raise NamingError("No activations given; select at least one.")
        unknown = [a for a in ids if a not in self._place]
        if unknown:
            raise NamingError(f"Unknown activation id(s) {preview(unknown)}; only the shown (significant) "
                              "activations of this category can be placed.")
        return ids

    def _check_target(self, target: Any) -> str:
        if target in SPECIAL_PLACES or target in self._names:
            return target
        existing = ", ".join(repr(c) for c in self._order)
        raise NamingError(f"Unknown target {target!r}: use a concept id ({existing or 'none yet'}), "
                          f"{UNLABELED!r} or {TRASH!r}.")

    def _moves_to(self, ids: Sequence[str], target: str) -> list[list]:
        """Moves of ``ids`` to ``target``, grouped by where they are now (no-ops left out)."""
        by_source: dict[str, list[str]] = {}
        for aid in ids:
            source = self._place[aid]
            if source != target:
                by_source.setdefault(source, []).append(aid)
        return [[members, source, target] for source, members in by_source.items()]

    def _marks_for(self, moves: list[list], via: str) -> dict:
        """The ``marks`` entry of a change whose ``moves`` a person or ``via`` made."""
        new = None if via == PERSON else [via, via in PROPOSING]
        steps = []
        for ids, _, target in moves:
            after = None if target in SPECIAL_PLACES else new
            for aid in ids:
                before = self._marks.get(aid)
                before = None if before is None else list(before)
                if before != after:
                    steps.append((aid, before, after))
        return {"marks": _grouped_marks(steps)} if steps else {}

    def _record(self, op: str, args: dict, change: dict) -> None:
        # the change is built fresh by the operation and never mutated, so undo and log share it
        self._commit(change, {"op": op, "time": now_iso(), "args": args, "change": change})

    def _commit(self, change: dict, entry: dict) -> None:
        """Apply a new change, make it the latest undo step and log ``entry`` for it."""
        self._apply(change, reverse=False)
        self._undo.append(change)
        self._redo.clear()
        self._log.append(entry)
        self._effects.append((change, False))

    def _apply(self, change: Mapping, reverse: bool) -> None:
        """Apply a change forwards or backwards, checking every step against the current state.

        The check runs fully before anything is modified, so a change that does not fit leaves
        the state as it was.
        """
        concept_steps = [(c["id"], c["after"], c["before"]) if reverse else (c["id"], c["before"], c["after"])
                         for c in change["concepts"]]
        moves = [(m[0], m[2], m[1]) if reverse else (m[0], m[1], m[2]) for m in change["moves"]]
        adds = sorted(((cid, new) for cid, old, new in concept_steps if old is None), key=lambda s: s[1]["index"])
        removes = sorted(((cid, old) for cid, old, new in concept_steps if new is None),
                         key=lambda s: -s[1]["index"])
        renames = [(cid, new) for cid, old, new in concept_steps if old is not None and new is not None]

        order = list(self._order)
        for cid, entry in adds:
            if cid in self._names or cid in SPECIAL_PLACES or not 0 <= entry["index"] <= len(order):
                raise NamingError(f"Change does not fit: cannot add concept {cid!r}.")
            order.insert(entry["index"], cid)
        names_after = set(order)
        for ids, source, target in moves:
            for place in (source, target):
                if place not in SPECIAL_PLACES and place not in names_after:
                    raise NamingError(f"Change does not fit: no concept {place!r}.")
            if any(self._place.get(aid) != source for aid in ids):
                raise NamingError(f"Change does not fit: activations are not in {source!r}.")
        if removes:  # (delete, merge) the places after the moves, to see that a removed concept is empty
            place_after = dict(self._place)
            for ids, source, target in moves:
                for aid in ids:
                    place_after[aid] = target
            occupied = set(place_after.values())
        for cid, entry in removes:
            if cid not in names_after or order.index(cid) != entry["index"] or cid in occupied:
                raise NamingError(f"Change does not fit: cannot remove concept {cid!r}.")
            order.remove(cid)
        for cid, entry in renames:
            if cid not in order:
                raise NamingError(f"Change does not fit: cannot rename missing concept {cid!r}.")
        names = dict(self._names)
        for cid, entry in adds + renames:
            names[cid] = entry["name"]
        for cid, _ in removes:
            del names[cid]
        marks = self._marks
        if change.get("marks"):
            marks = dict(marks)
            for ids, before, after in change["marks"]:
                old, new = (after, before) if reverse else (before, after)
                for aid in ids:
                    if (list(marks[aid]) if aid in marks else None) != old:
                        raise NamingError(f"Change does not fit: activation {aid!r} is not marked {old!r}.")
                    if new is None:
                        marks.pop(aid, None)
                    else:
                        marks[aid] = (new[0], bool(new[1]))
        rejected = self._rejected
        if change.get("rejects"):
            rejected = {c: set(ids) for c, ids in rejected.items()}
            for cid, ids in change["rejects"]:
                held = rejected.setdefault(cid, set())
                if reverse:
                    if not held.issuperset(ids):
                        raise NamingError(f"Change does not fit: {cid!r} has not rejected these activations.")
                    held.difference_update(ids)
                else:
                    if held.intersection(ids):
                        raise NamingError(f"Change does not fit: {cid!r} already rejected some of these.")
                    held.update(ids)
        # everything checked: move in place (what a transaction may have to undo is journaled)
        place = self._place
        for ids, source, target in moves:
            for journal in self._place_journals:
                journal.extend((aid, place[aid]) for aid in ids)
            for aid in ids:
                place[aid] = target
        self._order, self._names, self._marks = order, names, marks
        self._rejected = rejected


def _check_via(via: Any) -> str:
    if via not in VIA:
        raise NamingError(f"via must be one of {list(VIA)}, not {via!r}.")
    return via


def _args(**args: Any) -> dict:
    """An operation's logged arguments; ``via`` only when not a person's own (older logs have none)."""
    if args.get("via") == PERSON:
        del args["via"]
    return args


def _collapse_moves(moves: list[list]) -> list[list]:
    """Moves of one activation through several new concepts become one move from where it was."""
    first_source: dict[str, str] = {}
    last_target: dict[str, str] = {}
    for ids, source, target in moves:
        for aid in ids:
            first_source.setdefault(aid, source)
            last_target[aid] = target
    grouped: dict[tuple[str, str], list[str]] = {}
    for aid, source in first_source.items():
        if source != last_target[aid]:
            grouped.setdefault((source, last_target[aid]), []).append(aid)
    return [[ids, source, target] for (source, target), ids in grouped.items()]


def _grouped_marks(steps: list[tuple[str, Any, Any]]) -> list[list]:
    """``[[ids, before, after], ...]``: activations with the same mark change share one entry."""
    groups: dict[str, list] = {}
    for aid, before, after in steps:
        key = repr((before, after))
        if key not in groups:
            groups[key] = [[], before, after]
        groups[key][0].append(aid)
    return list(groups.values())


def _validated_change(change: Any) -> dict:
    """A change read from a file, checked for shape so that a damaged log is rejected early."""
    if not isinstance(change, Mapping):
        raise ValueError("change is not an object")
    moves = [[list(map(str, m[0])), str(m[1]), str(m[2])] for m in change["moves"]]
    concepts = []
    for c in change["concepts"]:
        sides = {}
        for side in ("before", "after"):
            value = c[side]
            sides[side] = None if value is None else {"name": str(value["name"]), "index": int(value["index"])}
        if sides["before"] is None and sides["after"] is None:
            raise ValueError("empty concept step")
        concepts.append({"id": str(c["id"]), **sides})
    marks = [[list(map(str, m[0])), _validated_mark(m[1]), _validated_mark(m[2])] for m in change.get("marks", [])]
    rejects = [[str(r[0]), list(map(str, r[1]))] for r in change.get("rejects", [])]
    return {"moves": moves, "concepts": concepts, **({"marks": marks} if marks else {}),
            **({"rejects": rejects} if rejects else {})}


def _validated_mark(mark: Any) -> list | None:
    if mark is None:
        return None
    via, proposed = mark
    if via not in VIA or via == PERSON:
        raise ValueError(f"unknown mark {mark!r}")
    return [str(via), bool(proposed)]
