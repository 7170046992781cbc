import { test } from "node:test";
import assert from "node:assert/strict";

import { predict, confirmedPrefix } from "../src/confirm.js";
import { orderOf, placesOf, applyChange } from "../src/naming.js";
import { locate } from "./helpers.js";

const ids = Array.from({ length: 10 }, (_, i) => `a${i}`);
const order = orderOf(ids);
const state = { version: 0, concepts: [{ id: "c1", name: "toe", members: [] }], unlabeled: ids.slice(), trash: [], marks: {} };

test("predict returns the change it shows; refused ops, undo and redo predict nothing", () => {
  const { state: next, change } = predict(state, { op: "move", ids: ["a3"], target: "c1" }, "p1", order);
  assert.deepEqual(change.moves, [[["a3"], "unlabeled", "c1"]]);
  assert.deepEqual(next.concepts[0].members, ["a3"]);
  for (const op of [{ op: "undo" }, { op: "move", ids: ["nope"], target: "c1" }, { op: "move", ids: ["a3"], target: "unlabeled" }]) {
    const p = predict(state, op, "p2", order);
    assert.equal(p.change, null, JSON.stringify(op));
    assert.equal(p.state, state);
  }
});

test("a delta confirms a prefix of the predictions only if it is the same changes, in order, forwards", () => {
  const c1 = predict(state, { op: "move", ids: ["a3"], target: "c1" }, "p1", order).change;
  const c2 = { moves: [[["a5"], "unlabeled", "trash"]], concepts: [] };
  // Python lists keys in its own order: still the same change
  const fromPython = JSON.parse('{"concepts": [], "moves": [[["a3"], "unlabeled", "c1"]]}');
  assert.equal(confirmedPrefix([c1, c2], [[fromPython, false]]), 1);
  assert.equal(confirmedPrefix([c1, c2], [[c1, false], [c2, false]]), 2);
  assert.equal(confirmedPrefix([c1, c2], [[c2, false]]), -1, "not in order");
  assert.equal(confirmedPrefix([c1], [[c1, true]]), -1, "an undo is not the prediction");
  assert.equal(confirmedPrefix([c1], [[c1, false], [c2, false]]), -1, "more than predicted");
  assert.equal(confirmedPrefix([], []), -1);
  const created = predict(state, { op: "create", name: "heel", members: ["a1"] }, "pending-1", order).change;
  const byPython = { ...created, moves: [[["a1"], "unlabeled", "c2"]], concepts: [{ id: "c2", before: null, after: { name: "heel", index: 1 } }] };
  assert.equal(confirmedPrefix([created], [[byPython, false]]), -1, "a new concept gets Python's id: applied from the delta");
});

test("places stay right over long chains of changes (overlays flattened on the way)", () => {
  let s = state;
  let seed = 11;
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const targets = ["unlabeled", "trash", "c1"];
  for (let step = 0; step < 200; step += 1) {
    const id = ids[Math.floor(r() * ids.length)];
    const target = targets[Math.floor(r() * targets.length)];
    const { state: next } = predict(s, { op: "move", ids: [id], target }, "p", order);
    s = next;
    const where = placesOf(s);
    for (const [aid, place] of locate(s)) assert.equal(where.get(aid), place, `step ${step}: ${aid}`);
  }
  // an old state keeps its own places after later changes were made from it
  const old = s;
  const before = new Map(locate(old));
  applyChange(old, { moves: [[[old.unlabeled[0] || old.trash[0] || old.concepts[0].members[0]], placesOf(old).get(old.unlabeled[0] || old.trash[0] || old.concepts[0].members[0]), "trash"]], concepts: [] }, false, order);
  for (const [aid, place] of before) assert.equal(placesOf(old).get(aid), place);
});

test("long lists are edited by binary search and stay exactly the display-ordered members", () => {
  const many = Array.from({ length: 400 }, (_, i) => `b${String(i).padStart(3, "0")}`);
  const ord = orderOf(many);
  let s = { version: 0, concepts: [{ id: "c1", name: "a", members: [] }, { id: "c2", name: "b", members: [] }], unlabeled: many.slice(), trash: [], marks: {} };
  let seed = 5;
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const places = ["unlabeled", "trash", "c1", "c2"];
  for (let step = 0; step < 300; step += 1) {
    const k = r() < 0.8 ? 1 + Math.floor(r() * 4) : 1 + Math.floor(r() * 60); // mostly a few, sometimes many
    const chosen = [...new Set(Array.from({ length: k }, () => many[Math.floor(r() * many.length)]))];
    const target = places[Math.floor(r() * places.length)];
    s = predict(s, { op: "move", ids: chosen, target }, "p", ord).state;
    const where = placesOf(s);
    const expect = (place) => many.filter((id) => where.get(id) === place);
    assert.deepEqual(s.unlabeled, expect("unlabeled"), `step ${step}`);
    assert.deepEqual(s.trash, expect("trash"), `step ${step}`);
    for (const c of s.concepts) assert.deepEqual(c.members, expect(c.id), `step ${step} ${c.id}`);
  }
});
