import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SUGGEST_K, acceptIds, proposedAmong, proposedMembers, shownSuggestions, stepIndex, suggestionConcept, unlabeledSet,
} from "../src/suggestions.js";
import { stripKeyAction, keyAction, SHORTCUTS, STRIP_SHORTCUTS } from "../src/keyboard.js";

const ev = (key, extra = {}) => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, target: { tagName: "DIV" }, ...extra });

test("the concept to suggest for: the focused concept row, else the first selected image's concept", () => {
  const where = new Map([["a", "c1"], ["b", "unlabeled"], ["c", "c2"]]);
  const conceptIds = ["c1", "c2"];
  assert.equal(suggestionConcept({ focusRow: "c2", selected: ["a"], where, conceptIds }), "c2");
  assert.equal(suggestionConcept({ focusRow: "unlabeled", selected: ["b", "c"], where, conceptIds }), "c2");
  assert.equal(suggestionConcept({ focusRow: "trash", selected: ["b"], where, conceptIds }), null);
  // a concept Python has not confirmed yet (being created) has no suggestions
  assert.equal(suggestionConcept({ focusRow: "pending-1", selected: [], where, conceptIds }), null);
  assert.equal(SUGGEST_K, 20);
});

test("the strip shows Python's order, less what left the pool; accept takes the selection or the focused one", () => {
  const pool = unlabeledSet({ unlabeled: ["d", "b", "a"] });
  assert.equal(unlabeledSet({ unlabeled: ["d"] }).has("a"), false);
  assert.deepEqual(shownSuggestions(["a", "c", "b", "d"], pool), ["a", "b", "d"]);
  const shown = ["a", "b", "d"];
  assert.deepEqual(acceptIds(shown, new Set(["d", "a"]), "b"), ["a", "d"], "selection, in strip order");
  assert.deepEqual(acceptIds(shown, new Set(), "b"), ["b"], "nothing selected: the focused one");
  assert.deepEqual(acceptIds(shown, new Set(["zz"]), null), []);
  assert.deepEqual(acceptIds(shown, new Set(), "c"), [], "a focused id that is not shown is not accepted");
});

test("stepping in the strip stops at its ends", () => {
  assert.equal(stepIndex(0, -1, 5), 0);
  assert.equal(stepIndex(2, 1, 5), 3);
  assert.equal(stepIndex(4, 1, 5), 4);
  assert.equal(stepIndex(-1, 1, 5), 0);
  assert.equal(stepIndex(-1, -1, 5), 4);
  assert.equal(stepIndex(0, 1, 0), -1);
});

test("proposed members: marks [via, true] only; accepted suggestions count as placed by the person", () => {
  const marks = { a: ["proposal", true], b: ["suggestion", false], c: ["transfer", true], d: ["proposal", false] };
  assert.deepEqual(proposedAmong(["d", "c", "b", "a", "e"], marks), ["c", "a"]);
  assert.deepEqual(proposedAmong(["a"], undefined), []);
  const state = { concepts: [{ id: "c1", name: "x", members: ["a", "b", "c"] }], marks };
  assert.deepEqual(proposedMembers(state, "c1"), ["a", "c"]);
  assert.deepEqual(proposedMembers(state, "c9"), []);
});

test("keys in the strip: arrows, Home/End, Space selects, Enter/A accept, Shift+A all, Delete/R reject, Escape", () => {
  assert.deepEqual(stripKeyAction(ev("ArrowRight")), { type: "step", delta: 1 });
  assert.deepEqual(stripKeyAction(ev("ArrowLeft")), { type: "step", delta: -1 });
  assert.deepEqual(stripKeyAction(ev("Home")), { type: "first" });
  assert.deepEqual(stripKeyAction(ev("End")), { type: "last" });
  assert.deepEqual(stripKeyAction(ev("ArrowUp")), { type: "leave", delta: -1 });
  assert.deepEqual(stripKeyAction(ev(" ")), { type: "toggle" });
  assert.deepEqual(stripKeyAction(ev("Enter")), { type: "accept" });
  assert.deepEqual(stripKeyAction(ev("a")), { type: "accept" });
  assert.deepEqual(stripKeyAction(ev("A", { shiftKey: true })), { type: "acceptAll" });
  assert.deepEqual(stripKeyAction(ev("r")), { type: "reject" });
  assert.deepEqual(stripKeyAction(ev("Delete")), { type: "reject" });
  assert.deepEqual(stripKeyAction(ev("Escape")), { type: "close" });
  assert.equal(stripKeyAction(ev("1")), null, "other keys act as in the rows");
  assert.equal(stripKeyAction(ev("z", { ctrlKey: true })), null, "Ctrl+Z is undo, as anywhere");
  // single-key shortcuts off: A and R do nothing here, Enter and Delete still do
  assert.equal(stripKeyAction(ev("a"), { singleKey: false }), null);
  assert.equal(stripKeyAction(ev("r"), { singleKey: false }), null);
  assert.deepEqual(stripKeyAction(ev("Delete"), { singleKey: false }), { type: "reject" });
  // on one of the strip's buttons only Escape acts, so Enter and Space press the button
  assert.equal(stripKeyAction(ev("Enter", { target: { tagName: "BUTTON" } }), { onItem: false }), null);
  assert.deepEqual(stripKeyAction(ev("Escape"), { onItem: false }), { type: "close" });
});

test("S opens suggestions and Y confirms, as single keys; both are in the help", () => {
  assert.deepEqual(keyAction(ev("s")), { type: "suggest" });
  assert.deepEqual(keyAction(ev("Y", { shiftKey: true })), { type: "confirm" });
  assert.equal(keyAction(ev("s"), { singleKey: false }), null);
  assert.equal(keyAction(ev("y", { ctrlKey: true })).type, "redo", "Ctrl+Y stays redo");
  const listed = SHORTCUTS.map(([keys]) => keys);
  assert.ok(listed.includes("S") && listed.includes("Y"));
  const strip = STRIP_SHORTCUTS.map(([keys]) => keys).join(" ");
  for (const k of ["Space", "Enter", "Shift + A", "Delete, R", "Escape"]) assert.ok(strip.includes(k), k);
});
