import { test } from "node:test";
import assert from "node:assert/strict";
import { keyAction, SHORTCUTS } from "../src/keyboard.js";

const ev = (key, extra = {}) => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, target: { tagName: "DIV" }, ...extra });

test("digits, N, X, U, C and ? map to actions", () => {
  assert.deepEqual(keyAction(ev("1")), { type: "moveTo", index: 0 });
  assert.deepEqual(keyAction(ev("9")), { type: "moveTo", index: 8 });
  assert.equal(keyAction(ev("0")), null);
  assert.deepEqual(keyAction(ev("n")), { type: "create" });
  assert.deepEqual(keyAction(ev("N", { shiftKey: true })), { type: "create" });
  assert.deepEqual(keyAction(ev("x")), { type: "trash" });
  assert.deepEqual(keyAction(ev("u")), { type: "unlabel" });
  assert.deepEqual(keyAction(ev("c")), { type: "compare" });
  assert.deepEqual(keyAction(ev("?", { shiftKey: true })), { type: "help" });
});

test("modifier shortcuts: undo, redo, select all", () => {
  assert.deepEqual(keyAction(ev("z", { ctrlKey: true })), { type: "undo" });
  assert.deepEqual(keyAction(ev("Z", { ctrlKey: true, shiftKey: true })), { type: "redo" });
  assert.deepEqual(keyAction(ev("z", { metaKey: true, shiftKey: true })), { type: "redo" });
  assert.deepEqual(keyAction(ev("y", { ctrlKey: true })), { type: "redo" });
  assert.deepEqual(keyAction(ev("a", { metaKey: true })), { type: "selectAll" });
  assert.equal(keyAction(ev("1", { ctrlKey: true })), null);
  assert.equal(keyAction(ev("x", { altKey: true })), null);
});

test("single-key shortcuts can be switched off; F2, Space, Escape, undo stay", () => {
  const off = { singleKey: false };
  for (const k of ["1", "n", "x", "u", "c", "?"]) assert.equal(keyAction(ev(k), off), null, k);
  assert.deepEqual(keyAction(ev("F2"), off), { type: "rename" });
  assert.deepEqual(keyAction(ev(" "), off), { type: "preview" });
  assert.deepEqual(keyAction(ev("Escape"), off), { type: "escape" });
  assert.deepEqual(keyAction(ev("z", { ctrlKey: true }), off), { type: "undo" });
});

test("typing in fields is never a shortcut; Space on a button clicks it", () => {
  for (const tagName of ["INPUT", "TEXTAREA", "SELECT"]) assert.equal(keyAction(ev("x", { target: { tagName } })), null);
  assert.equal(keyAction(ev("x", { target: { tagName: "INPUT", type: "text" } })), null);
  // a slider or checkbox is not a text field: shortcuts and Escape still work there
  assert.deepEqual(keyAction(ev("Escape", { target: { tagName: "INPUT", type: "range" } })), { type: "escape" });
  assert.deepEqual(keyAction(ev("x", { target: { tagName: "INPUT", type: "checkbox" } })), { type: "trash" });
  assert.equal(keyAction(ev("z", { ctrlKey: true, target: { tagName: "INPUT" } })), null);
  assert.equal(keyAction(ev("n", { target: { tagName: "DIV", isContentEditable: true } })), null);
  assert.equal(keyAction(ev(" ", { target: { tagName: "BUTTON" } })), null);
});

test("every single-key action is listed in the help", () => {
  const listed = SHORTCUTS.map(([keys]) => keys).join(" ");
  for (const k of ["1 – 9", "N", "X", "F2", "Ctrl/Cmd + Z", "?"]) assert.ok(listed.includes(k), k);
});

test("arrows step through images and rows; Enter toggles", () => {
  assert.deepEqual(keyAction(ev("ArrowRight")), { type: "step", delta: 1, extend: false, focusOnly: false });
  assert.deepEqual(keyAction(ev("ArrowLeft", { shiftKey: true })), { type: "step", delta: -1, extend: true, focusOnly: false });
  assert.deepEqual(keyAction(ev("ArrowLeft", { ctrlKey: true })), { type: "step", delta: -1, extend: false, focusOnly: true });
  assert.deepEqual(keyAction(ev("ArrowDown")), { type: "row", delta: 1 });
  assert.deepEqual(keyAction(ev("ArrowUp"), { singleKey: false }), { type: "row", delta: -1 });
  assert.deepEqual(keyAction(ev("Enter")), { type: "toggle" });
  assert.equal(keyAction(ev("ArrowRight", { target: { tagName: "INPUT", type: "text" } })), null);
});
