import { test } from "node:test";
import assert from "node:assert/strict";
import { DRAG_MIME, NEW_CONCEPT, dragIds, writePayload, readPayload, isOurDrag, dropOp, freshConceptName, badgeText } from "../src/drop.js";
import { makeWindow } from "./helpers.js";

test("a drag carries the selection when it starts on a selected thumbnail, else only that one", () => {
  assert.deepEqual(dragIds(new Set(["a", "b"]), "b"), ["a", "b"]);
  assert.deepEqual(dragIds(new Set(["a", "b"]), "c"), ["c"]);
});

test("payload round trip through a real DataTransfer; foreign or broken payloads are ignored", async () => {
  const { window } = makeWindow();
  const dt = new window.DataTransfer();
  writePayload(dt, ["x/1", "y\"2"]);
  assert.ok(isOurDrag(dt));
  assert.deepEqual(readPayload(dt), ["x/1", "y\"2"]);
  assert.equal(dt.getData("text/plain"), "x/1\ny\"2");
  const other = new window.DataTransfer();
  other.setData("text/plain", "hello");
  assert.equal(isOurDrag(other), false);
  assert.equal(readPayload(other), null);
  const bad = new window.DataTransfer();
  bad.setData(DRAG_MIME, "{not json");
  assert.equal(readPayload(bad), null);
  bad.setData(DRAG_MIME, "[1,2]");
  assert.equal(readPayload(bad), null);
  assert.equal(readPayload(null), null);
  await window.happyDOM.close();
});

test("drop ops: move only what changes place; new-concept zone creates", () => {
  const where = new Map([["a", "unlabeled"], ["b", "c1"], ["c", "c1"]]);
  assert.deepEqual(dropOp(["a", "b", "zz"], "c1", where), { type: "op", op: "move", ids: ["a"], target: "c1" });
  assert.equal(dropOp(["b", "c"], "c1", where), null);
  assert.equal(dropOp(["zz"], "trash", where), null);
  assert.deepEqual(dropOp(["a", "b"], NEW_CONCEPT, where, "Concept 2"), { type: "op", op: "create", name: "Concept 2", members: ["a", "b"] });
});

test("fresh names avoid existing ones; badge text", () => {
  assert.equal(freshConceptName([]), "Concept 1");
  assert.equal(freshConceptName([{ name: "Concept 2" }, { name: "x" }]), "Concept 3");
  assert.equal(freshConceptName([{ name: "Concept 2" }]), "Concept 3");
  assert.equal(badgeText(1), "1 image");
  assert.equal(badgeText(12), "12 images");
});
