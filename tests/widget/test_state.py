"""NamingState: operations checked by hand, errors, and random sequences against a reference model.

The reference model below is a second, deliberately naive implementation: it keeps a full copy
of the naming for every undo step, while NamingState records changes and applies them
backwards. Both must agree after any sequence of operations, undos and redos.
"""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from xnaming_widget.naming import MAX_NAME_LENGTH, NamingError, NamingState

IDS = [f"Sneaker/img{i:03d}/x{k}" for i in range(4) for k in range(3)]  # 12 activations


def places(state: NamingState) -> dict[str, str]:
    return {aid: state.place_of(aid) for aid in IDS}


def test_new_state_has_everything_unlabeled_in_display_order():
    state = NamingState(IDS)
    assert state.unlabeled == IDS and state.trash == [] and state.concepts == []
    assert not state.can_undo and not state.can_redo and state.version == 0


def test_create_move_rename_merge_delete_by_hand():
    state = NamingState(IDS)
    wheel = state.create_concept("  wheel ", [IDS[5], IDS[0]])
    assert state.concepts == [{"id": wheel, "name": "wheel", "members": [IDS[0], IDS[5]]}]  # display order
    sole = state.create_concept("sole")
    assert sole != wheel and state.concept_name(sole) == "sole"
    state.move([IDS[1], IDS[5]], sole)  # IDS[5] leaves wheel
    state.move([IDS[2]], "trash")
    assert places(state)[IDS[5]] == sole and state.trash == [IDS[2]]
    state.rename(wheel, "round wheel")
    merged = state.merge([sole, wheel], name="bottom")
    assert merged == sole
    assert state.concepts == [{"id": sole, "name": "bottom", "members": [IDS[0], IDS[1], IDS[5]]}]
    state.delete_concept(sole)
    assert state.concepts == [] and state.trash == [IDS[2]]
    assert state.unlabeled == [a for a in IDS if a != IDS[2]]
    assert [e["op"] for e in state.log] == ["create", "create", "move", "move", "rename", "merge", "delete"]


def test_merge_keeps_the_first_concepts_position_and_name_by_default():
    state = NamingState(IDS)
    a = state.create_concept("a", [IDS[0]])
    b = state.create_concept("b", [IDS[1]])
    c = state.create_concept("c", [IDS[2]])
    assert state.merge([b, a]) == b
    assert [(x["id"], x["name"], x["members"]) for x in state.concepts] == [(b, "b", IDS[:2]), (c, "c", [IDS[2]])]


def test_undo_and_redo_walk_the_history_and_a_new_operation_clears_redo():
    state = NamingState(IDS)
    snapshots = [state.snapshot()]
    c = state.create_concept("wheel", IDS[:3])
    snapshots.append(state.snapshot())
    state.move(IDS[2:6], "trash")
    snapshots.append(state.snapshot())
    state.merge([c, state.create_concept("lace", IDS[6:8])])
    snapshots.append(state.snapshot())
    for expected in reversed(snapshots[:-1]):
        before = [copy.deepcopy(state.snapshot())]
        state.undo()
        if state.snapshot() != expected:  # the merge was two operations: create then merge
            state.undo()
        assert state.snapshot() == expected, before
    assert not state.can_undo
    with pytest.raises(NamingError, match="Nothing to undo"):
        state.undo()
    state.redo()
    assert state.snapshot() == snapshots[1] and state.can_redo
    state.rename(c, "rim")
    assert not state.can_redo
    with pytest.raises(NamingError, match="Nothing to redo"):
        state.redo()


def test_undone_create_then_new_create_does_not_reuse_the_id():
    state = NamingState(IDS)
    first = state.create_concept("a")
    state.undo()
    assert state.create_concept("b") != first


def test_no_op_operations_are_not_recorded():
    state = NamingState(IDS)
    c = state.create_concept("a", IDS[:2])
    version = state.version
    state.move(IDS[:2], c)
    state.rename(c, " a ")
    assert state.version == version


@pytest.mark.parametrize("name, message", [
    ("", "cannot be empty"), ("   ", "cannot be empty"), (None, "must be a string"),
    ("x" * (MAX_NAME_LENGTH + 1), "at most"), ("two\nlines", "single line"),
])
def test_bad_concept_names_are_refused(name, message):
    state = NamingState(IDS)
    with pytest.raises(NamingError, match=message):
        state.create_concept(name)
    assert state.version == 0


def test_names_are_kept_as_text_even_when_they_look_like_html():
    state = NamingState(IDS)
    c = state.create_concept("<img src=x onerror=alert(1)>")
    assert state.concept_name(c) == "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize("operation, message", [
    (lambda s, c: s.move(["nope"], "trash"), "Unknown activation"),
    (lambda s, c: s.move([], "trash"), "No activations"),
    (lambda s, c: s.move(IDS[:1], "c99"), "Unknown target"),
    (lambda s, c: s.create_concept("x", ["nope"]), "Unknown activation"),
    (lambda s, c: s.rename("c99", "x"), "No concept with id 'c99'"),
    (lambda s, c: s.delete_concept("unlabeled"), "No concept"),
    (lambda s, c: s.merge([c]), "at least two"),
    (lambda s, c: s.merge([c, c]), "twice"),
    (lambda s, c: s.merge(c), "not a single string"),
    (lambda s, c: s.merge([c, "c99"]), "No concept"),
])
def test_invalid_operations_raise_and_leave_the_state_unchanged(operation, message):
    state = NamingState(IDS)
    c = state.create_concept("wheel", IDS[:2])
    before, version = state.snapshot(), state.version
    with pytest.raises(NamingError, match=message):
        operation(state, c)
    assert state.snapshot() == before and state.version == version


def test_duplicate_activation_ids_are_refused():
    with pytest.raises(NamingError, match="unique"):
        NamingState(["a", "b", "a"])


def test_transaction_rolls_back_everything_on_error():
    state = NamingState(IDS)
    state.create_concept("a", IDS[:2])
    before, log = state.snapshot(), state.log
    with pytest.raises(RuntimeError):
        with state.transaction():
            state.move(IDS[:5], "trash")
            state.undo()
            state.create_concept("b")
            raise RuntimeError("disk full")
    assert state.snapshot() == before and state.log == log and state.can_undo and not state.can_redo


def test_nested_transactions_roll_back_their_own_moves_only():
    """The place map is not copied per transaction: its moves are journaled and undone."""
    state = NamingState(IDS)
    c = state.create_concept("a", IDS[:2])
    with state.transaction():
        state.move(IDS[2:4], c)
        inner = state.snapshot()
        with pytest.raises(RuntimeError):
            with state.transaction():
                state.move(IDS[:6], "trash")
                state.delete_concept(c)
                raise RuntimeError("disk full")
        assert state.snapshot() == inner
        with pytest.raises(RuntimeError):
            with state.transaction():
                with state.transaction():
                    state.move(IDS[4:8], "trash")
                raise RuntimeError("a kept inner transaction is undone with its outer one")
        assert state.snapshot() == inner
    assert state.concepts[0]["members"] == IDS[:4] and state._place_journals == []


def test_restore_rebuilds_naming_and_history():
    state = NamingState(IDS)
    a = state.create_concept("a", IDS[:3])
    state.move(IDS[3:5], "trash")
    state.create_concept("b", IDS[5:7])
    state.undo()
    snap = state.snapshot()
    restored, ok = NamingState.restore(IDS, snap["concepts"], snap["trash"], snap["unlabeled"], state.log)
    assert ok and restored.snapshot() == snap
    assert restored.can_undo and restored.can_redo
    restored.redo()
    state.redo()
    assert restored.snapshot() == state.snapshot()
    restored.undo(), restored.undo(), restored.undo()
    assert restored.unlabeled == IDS and a not in {c["id"] for c in restored.concepts}


def test_restore_without_a_matching_log_keeps_the_naming_but_no_history():
    state = NamingState(IDS)
    state.create_concept("a", IDS[:3])
    snap = state.snapshot()
    bad_log = state.log + [{"op": "undo", "time": "t"}, {"op": "undo", "time": "t"}]
    restored, ok = NamingState.restore(IDS, snap["concepts"], snap["trash"], snap["unlabeled"], bad_log)
    assert not ok and restored.snapshot() == snap and not restored.can_undo
    edited = copy.deepcopy(snap)
    edited["concepts"][0]["members"].remove(IDS[0])
    edited["trash"].append(IDS[0])  # moved by hand; undoing the logged create would not fit
    restored, ok = NamingState.restore(IDS, edited["concepts"], edited["trash"], edited["unlabeled"], state.log)
    assert not ok and restored.trash == [IDS[0]] and not restored.can_undo
    assert restored.log[:-1] == state.log and restored.log[-1]["op"] == "history_reset"  # record kept
    restored.move(IDS[5:6], "trash")
    again, ok = NamingState.restore(IDS, **{k: restored.snapshot()[k] for k in ("concepts", "trash", "unlabeled")},
                                    log=restored.log)
    assert ok and again.can_undo  # history after the reset fits
    again.undo()
    assert not again.can_undo and again.trash == [IDS[0]]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["unlabeled"].append("other/img/x0"), "not among the shown"),
    (lambda d: d["unlabeled"].remove(IDS[-1]), "does not place 1"),
    (lambda d: d["trash"].append(IDS[-1]), "twice"),
])
def test_restore_refuses_placements_that_do_not_fit(edit, message):
    snap = NamingState(IDS).snapshot()
    edit(snap)
    with pytest.raises(NamingError, match=message):
        NamingState.restore(IDS, snap["concepts"], snap["trash"], snap["unlabeled"])


class ReferenceNaming:
    """Naive second implementation: full copies for undo, lists searched linearly.

    ``mark[a]`` is [via, proposed] for a concept member a suggestion, proposal or transfer placed.
    """

    def __init__(self, ids):
        self.ids = list(ids)
        self.where = dict.fromkeys(ids, "unlabeled")
        self.mark: dict = {}
        self.concepts: list[list] = []  # [id, name] in display order
        self.past, self.future = [], []

    def name_taken(self, name, except_ids=()):
        """Names that differ only in case or white space are the same name."""
        key = " ".join(name.split()).lower()
        return any(" ".join(n.split()).lower() == key for cid, n in self.concepts if cid not in except_ids)

    def _save(self):
        self.past.append(copy.deepcopy((self.where, self.concepts, self.mark)))
        self.future = []

    def _place(self, a, target, via):
        if self.where[a] == target:
            return
        self.where[a] = target
        self.mark.pop(a, None)
        if via != "person" and target not in ("unlabeled", "trash"):
            self.mark[a] = [via, via in ("proposal", "transfer")]

    def create(self, cid, name, members, via="person"):
        self._save()
        self.concepts.append([cid, name.strip()])
        for m in members:
            self._place(m, cid, via)

    def move(self, ids, target, via="person"):
        if all(self.where[a] == target for a in ids):
            return
        self._save()
        for a in ids:
            self._place(a, target, via)

    def confirm(self, ids):
        proposed = [a for a in ids if self.mark.get(a, [None, False])[1]]
        if not proposed:
            return
        self._save()
        for a in proposed:
            self.mark[a] = [self.mark[a][0], False]

    def merge(self, cids, name):
        self._save()
        for a, p in self.where.items():
            if p in cids[1:]:
                self.where[a] = cids[0]
        self.concepts = [c for c in self.concepts if c[0] not in cids[1:]]
        if name is not None:
            next(c for c in self.concepts if c[0] == cids[0])[1] = name.strip()

    def delete(self, cid):
        self._save()
        self.concepts = [c for c in self.concepts if c[0] != cid]
        for a, p in self.where.items():
            if p == cid:
                self.where[a] = "unlabeled"
                self.mark.pop(a, None)

    def undo(self):
        self.future.append(copy.deepcopy((self.where, self.concepts, self.mark)))
        self.where, self.concepts, self.mark = self.past.pop()

    def redo(self):
        self.past.append(copy.deepcopy((self.where, self.concepts, self.mark)))
        self.where, self.concepts, self.mark = self.future.pop()

    def snapshot(self):
        return {
            "concepts": [{"id": c, "name": n, "members": [a for a in self.ids if self.where[a] == c]}
                         for c, n in self.concepts],
            "unlabeled": [a for a in self.ids if self.where[a] == "unlabeled"],
            "trash": [a for a in self.ids if self.where[a] == "trash"],
            "marks": {a: self.mark[a] for a in self.ids if a in self.mark},
        }


names = st.sampled_from(["wheel", " sole", "lace ", "<b>x</b>", "logo", "Wheel", "lace  "])
subsets = st.lists(st.sampled_from(IDS), max_size=6, unique=True)


class NamingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.state = NamingState(IDS)
        self.model = ReferenceNaming(IDS)

    def concept_ids(self):
        return [c[0] for c in self.model.concepts]

    @rule(name=names, members=subsets)
    def create(self, name, members):
        if self.model.name_taken(name):
            with pytest.raises(NamingError, match="already called"):
                self.state.create_concept(name, members)
            return
        cid = self.state.create_concept(name, members)
        self.model.create(cid, name, members)

    @rule(ids=subsets.filter(bool), target_index=st.integers(0, 6), special=st.sampled_from(["unlabeled", "trash"]))
    def move(self, ids, target_index, special):
        cids = self.concept_ids()
        target = cids[target_index] if target_index < len(cids) else special
        self.state.move(ids, target)
        self.model.move(ids, target)

    @precondition(lambda self: self.model.concepts)
    @rule(ids=subsets.filter(bool), target_index=st.integers(0, 6),
          via=st.sampled_from(["suggestion", "proposal", "transfer"]), as_new=st.booleans())
    def place_by_the_tool(self, ids, target_index, via, as_new):
        if as_new:
            name = f"proposal {len(self.model.past)}"
            if self.model.name_taken(name):
                return
            cid = self.state.create_concept(name, ids, via=via)
            self.model.create(cid, name, ids, via)
            return
        cids = self.concept_ids()
        target = cids[target_index % len(cids)]
        self.state.move(ids, target, via=via)
        self.model.move(ids, target, via)

    @rule(ids=subsets.filter(bool))
    def confirm(self, ids):
        self.state.confirm(ids)
        self.model.confirm(ids)

    @precondition(lambda self: len(self.model.concepts) >= 2)
    @rule(data=st.data(), name=st.none() | names)
    def merge(self, data, name):
        cids = data.draw(st.lists(st.sampled_from(self.concept_ids()), min_size=2, max_size=3, unique=True))
        if name is not None and self.model.name_taken(name, except_ids=cids):
            with pytest.raises(NamingError, match="already called"):
                self.state.merge(cids, name)
            return
        assert self.state.merge(cids, name) == cids[0]
        self.model.merge(cids, name)

    @precondition(lambda self: self.model.concepts)
    @rule(data=st.data())
    def delete(self, data):
        cid = data.draw(st.sampled_from(self.concept_ids()))
        self.state.delete_concept(cid)
        self.model.delete(cid)

    @rule()
    def undo(self):
        assert self.state.can_undo == bool(self.model.past)
        if self.model.past:
            self.state.undo()
            self.model.undo()

    @rule()
    def redo(self):
        assert self.state.can_redo == bool(self.model.future)
        if self.model.future:
            self.state.redo()
            self.model.redo()

    @rule()
    def restore_from_saved_parts(self):
        snap = self.state.snapshot()
        restored, ok = NamingState.restore(IDS, snap["concepts"], snap["trash"], snap["unlabeled"],
                                           self.state.log, marks=snap["marks"])
        assert ok and restored.snapshot() == snap
        assert (restored.can_undo, restored.can_redo) == (self.state.can_undo, self.state.can_redo)
        self.state = restored

    @invariant()
    def every_activation_in_exactly_one_place(self):
        snap = self.state.snapshot()
        placed = [a for c in snap["concepts"] for a in c["members"]] + snap["unlabeled"] + snap["trash"]
        assert sorted(placed) == sorted(IDS)

    @invariant()
    def agrees_with_the_reference(self):
        assert self.state.snapshot() == self.model.snapshot()


NamingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
test_random_operation_sequences = NamingMachine.TestCase
