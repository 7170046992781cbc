import { test } from "node:test";
import assert from "node:assert/strict";
import {
  deriveRows, progressCounts, progressText, applyOp, arrangePool, xfeaturesOf, emptyState, targetLabel,
} from "../src/state.js";
import { locate, rng } from "./helpers.js";

const base = () => ({
  version: 3,
  concepts: [
    { id: "c1", name: "toe", members: ["a", "b", "c"] },
    { id: "c2", name: "laces", members: ["d"] },
  ],
  unlabeled: ["e", "f"],
  trash: ["g"],
  can_undo: true,
  can_redo: false,
  saved_at: null,
});

test("rows: pool first, concepts in order, trash last; small concepts flagged", () => {
  const rows = deriveRows(base());
  assert.deepEqual(rows.map((r) => r.key), ["unlabeled", "c1", "c2", "trash"]);
  assert.deepEqual(rows.map((r) => r.small), [false, false, true, false]);
  assert.deepEqual(rows[2].ids, ["d"]);
});

test("progress counts each place once", () => {
  assert.deepEqual(progressCounts(base()), { named: 4, unlabeled: 2, trash: 1, total: 7 });
  assert.equal(progressText(base()), "4 named · 2 unlabeled · 1 trash of 7");
  assert.deepEqual(progressCounts(emptyState()), { named: 0, unlabeled: 0, trash: 0, total: 0 });
});

test("move puts members in display order (as Python does) and skips ids already there", () => {
  const s = applyOp(base(), { op: "move", ids: ["f", "a", "d"], target: "c2" });
  assert.deepEqual(s.concepts[1].members, ["a", "d", "f"]);
  const reversed = new Map(["g", "f", "e", "d", "c", "b", "a"].map((id, i) => [id, i]));
  assert.deepEqual(applyOp(base(), { op: "move", ids: ["a", "f"], target: "c2" }, "p", reversed).concepts[1].members, ["f", "d", "a"]);
  assert.deepEqual(s.concepts[0].members, ["b", "c"]);
  assert.deepEqual(s.unlabeled, ["e"]);
});

test("ops that change nothing return the same object", () => {
  const s = base();
  assert.equal(applyOp(s, { op: "move", ids: ["a"], target: "c1" }), s);
  assert.equal(applyOp(s, { op: "move", ids: ["zz"], target: "trash" }), s);
  assert.equal(applyOp(s, { op: "move", ids: ["a"], target: "nope" }), s);
  assert.equal(applyOp(s, { op: "undo" }), s);
  assert.equal(applyOp(s, { op: "merge", concept_ids: ["c1"] }), s);
  assert.equal(applyOp(s, { op: "rename", concept_id: "nope", name: "x" }), s);
});

test("create, rename, delete, merge", () => {
  let s = applyOp(base(), { op: "create", name: "heel", members: ["e", "g"] }, "tmp");
  assert.deepEqual(s.concepts[2], { id: "tmp", name: "heel", members: ["e", "g"] });
  assert.deepEqual(s.trash, []);
  s = applyOp(s, { op: "rename", concept_id: "tmp", name: "<b>heel</b>" });
  assert.equal(s.concepts[2].name, "<b>heel</b>");
  s = applyOp(s, { op: "merge", concept_ids: ["c2", "c1"] });
  assert.deepEqual(s.concepts.map((c) => [c.id, c.name, c.members]), [["c2", "laces", ["a", "b", "c", "d"]], ["tmp", "<b>heel</b>", ["e", "g"]]]);
  s = applyOp(s, { op: "merge", concept_ids: ["c2", "tmp"], name: "shoe" });
  assert.equal(s.concepts.length, 1);
  assert.equal(s.concepts[0].name, "shoe");
  s = applyOp(s, { op: "delete", concept_id: "c2" });
  assert.deepEqual(s.concepts, []);
  assert.deepEqual(s.unlabeled.slice().sort(), ["a", "b", "c", "d", "e", "f", "g"]);
  assert.equal(targetLabel(base(), "c1"), "concept “toe”");
  assert.equal(targetLabel(base(), "trash"), "Trash");
});

// A second, independent model of the naming: a map id -> place plus an ordered concept list.
// Like Python, an operation naming an unknown activation or concept is refused whole.
function referenceApply(ref, op, pendingId) {
  const { loc, concepts } = ref;
  const exists = (k) => k === "unlabeled" || k === "trash" || concepts.some((c) => c.id === k);
  if (op.op === "move") {
    if (!exists(op.target) || !op.ids.length || op.ids.some((id) => !loc.has(id))) return;
    for (const id of op.ids) loc.set(id, op.target);
  } else if (op.op === "create") {
    if (op.members.some((id) => !loc.has(id))) return;
    concepts.push({ id: pendingId, name: op.name });
    for (const id of op.members) loc.set(id, pendingId);
  } else if (op.op === "rename") {
    const c = concepts.find((x) => x.id === op.concept_id);
    if (c) c.name = op.name;
  } else if (op.op === "delete") {
    const i = concepts.findIndex((x) => x.id === op.concept_id);
    if (i < 0) return;
    concepts.splice(i, 1);
    for (const [id, k] of loc) if (k === op.concept_id) loc.set(id, "unlabeled");
  } else if (op.op === "merge") {
    const ids = op.concept_ids;
    if (ids.length < 2 || ids.some((k) => !concepts.some((c) => c.id === k))) return;
    const first = concepts.find((c) => c.id === ids[0]);
    if (op.name) first.name = op.name;
    for (const k of ids.slice(1)) concepts.splice(concepts.findIndex((c) => c.id === k), 1);
    for (const [id, k] of loc) if (ids.includes(k)) loc.set(id, ids[0]);
  }
}

test("random op sequences: every id in exactly one place, matching a reference model", () => {
  const ids = Array.from({ length: 40 }, (_, i) => `a${i}`);
  for (let seed = 1; seed <= 60; seed += 1) {
    const r = rng(seed);
    const pick = (xs) => xs[Math.floor(r() * xs.length)];
    const some = () => ids.filter(() => r() < 0.2).concat(r() < 0.1 ? ["ghost"] : []);
    let s = { ...emptyState(), unlabeled: ids.slice() };
    const ref = { loc: new Map(ids.map((id) => [id, "unlabeled"])), concepts: [] };
    for (let step = 0; step < 40; step += 1) {
      const keys = s.concepts.map((c) => c.id);
      const kind = pick(["move", "move", "create", "rename", "delete", "merge"]);
      let op;
      if (kind === "move") op = { op: "move", ids: some(), target: pick(keys.concat(["unlabeled", "trash", "missing"])) };
      else if (kind === "create") op = { op: "create", name: `n${step}`, members: some() };
      else if (kind === "rename") op = { op: "rename", concept_id: pick(keys.concat(["missing"])), name: `r${step}` };
      else if (kind === "delete") op = { op: "delete", concept_id: pick(keys.concat(["missing"])) };
      else op = { op: "merge", concept_ids: [pick(keys), pick(keys), pick(keys)].filter(Boolean), name: r() < 0.5 ? `m${step}` : undefined };
      if (op.op === "merge") op.concept_ids = [...new Set(op.concept_ids)];
      const pendingId = `p${seed}-${step}`;
      s = applyOp(s, op, pendingId);
      referenceApply(ref, op, pendingId);

      const all = deriveRows(s).flatMap((row) => row.ids);
      assert.equal(all.length, ids.length, `seed ${seed} step ${step}: an id is missing or duplicated`);
      assert.deepEqual(new Set(all), new Set(ids));
      assert.deepEqual(locate(s), ref.loc, `seed ${seed} step ${step}: places differ from the reference`);
      assert.deepEqual(s.concepts.map((c) => [c.id, c.name]), ref.concepts.map((c) => [c.id, c.name]));
    }
  }
});

test("arrangePool filters and sorts like a direct computation", () => {
  const r = rng(7);
  const acts = Array.from({ length: 50 }, (_, i) => ({
    id: `a${i}`, xfeature: Math.floor(r() * 4), contribution: Math.round(r() * 10) / 2 - 2, correct: r() < 0.7,
  }));
  const byId = new Map(acts.map((a) => [a.id, a]));
  const ids = acts.map((a) => a.id);
  assert.deepEqual(arrangePool(ids, byId), ids);
  const fx2 = arrangePool(ids, byId, { xfeature: 2 });
  assert.deepEqual(fx2, acts.filter((a) => a.xfeature === 2).map((a) => a.id));
  const fp = arrangePool(ids, byId, { outcome: "fp" });
  assert.deepEqual(fp, acts.filter((a) => !a.correct).map((a) => a.id));
  const desc = arrangePool(ids, byId, { sort: "contribution_desc", outcome: "tp" });
  const tp = acts.filter((a) => a.correct);
  // direct: decorate with index, sort by (-contribution, index)
  const expected = tp.map((a, i) => [a, ids.indexOf(a.id)]).sort((x, y) => y[0].contribution - x[0].contribution || x[1] - y[1]).map((x) => x[0].id);
  assert.deepEqual(desc, expected);
  const byX = arrangePool(ids, byId, { sort: "xfeature" });
  for (let i = 1; i < byX.length; i += 1) {
    const [p, q] = [byId.get(byX[i - 1]), byId.get(byX[i])];
    assert.ok(p.xfeature < q.xfeature || (p.xfeature === q.xfeature && ids.indexOf(p.id) < ids.indexOf(q.id)));
  }
  assert.deepEqual(xfeaturesOf(acts), [...new Set(acts.map((a) => a.xfeature))].sort());
});
