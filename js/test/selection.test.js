import { test } from "node:test";
import assert from "node:assert/strict";
import { emptySelection, clickSelect, selectAll, pruneSelection, selectedInOrder } from "../src/selection.js";

const row = ["a", "b", "c", "d", "e"];
const ids = (sel) => [...sel.ids].sort();

test("plain click selects one and sets the anchor", () => {
  let s = clickSelect(emptySelection(), row, "b");
  s = clickSelect(s, row, "d");
  assert.deepEqual(ids(s), ["d"]);
  assert.equal(s.anchor, "d");
});

test("ctrl and cmd click toggle", () => {
  let s = clickSelect(emptySelection(), row, "a");
  s = clickSelect(s, row, "c", { ctrl: true });
  s = clickSelect(s, row, "e", { meta: true });
  assert.deepEqual(ids(s), ["a", "c", "e"]);
  s = clickSelect(s, row, "c", { ctrl: true });
  assert.deepEqual(ids(s), ["a", "e"]);
});

test("shift click selects the range from the anchor, both directions", () => {
  let s = clickSelect(emptySelection(), row, "b");
  s = clickSelect(s, row, "d", { shift: true });
  assert.deepEqual(ids(s), ["b", "c", "d"]);
  s = clickSelect(s, row, "a", { shift: true });
  assert.deepEqual(ids(s), ["a", "b"]);
  assert.equal(s.anchor, "b");
  s = clickSelect(clickSelect(s, row, "e", { ctrl: true }), row, "d", { shift: true, ctrl: true });
  assert.deepEqual(ids(s), ["a", "b", "d", "e"]);
});

test("shift click with the anchor in another row acts as a plain click", () => {
  let s = clickSelect(emptySelection(), ["x", "y"], "x");
  s = clickSelect(s, row, "c", { shift: true });
  assert.deepEqual(ids(s), ["c"]);
});

test("select all, prune and order", () => {
  let s = selectAll(row);
  assert.deepEqual(ids(s), row);
  s = pruneSelection(s, ["b", "d", "z"]);
  assert.deepEqual(ids(s), ["b", "d"]);
  assert.equal(s.anchor, null);
  assert.equal(pruneSelection(s, row), s);
  assert.deepEqual(selectedInOrder(s, ["d", "q", "b"]), ["d", "b"]);
});
