import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { History, NamingError, orderOf, cleanConceptName, nameKey } from "../src/naming.js";
import { applyOp } from "../src/state.js";
import { OPERATIONS, MIN_CONCEPT_SIZE, UNLABELED, TRASH } from "../src/naming_rules.generated.js";

// Written by Python's NamingState (tests/naming/parity.py); a Python test keeps it current.
const fixture = JSON.parse(readFileSync(new URL("./fixtures/naming_parity.json", import.meta.url), "utf8"));

const snapshotOf = (s) => ({ concepts: s.concepts, unlabeled: s.unlabeled, trash: s.trash, marks: s.marks || {} });

test("parity: every step of Python's random session gives the same snapshot here", () => {
  const order = orderOf(fixture.ids);
  const history = new History({ concepts: [], unlabeled: fixture.ids.slice(), trash: [], marks: {} }, order);
  assert.ok(fixture.steps.length >= 300);
  fixture.steps.forEach((step, i) => {
    let refused = false;
    try {
      history.perform(step.op, step.new_id);
    } catch (err) {
      if (!(err instanceof NamingError)) throw err;
      refused = true;
    }
    assert.equal(refused, step.refused, `step ${i} ${JSON.stringify(step.op)}: refused here ${refused}, in Python ${step.refused}`);
    assert.deepEqual(snapshotOf(history.state), step.snapshot, `step ${i} ${JSON.stringify(step.op)}`);
  });
});

test("parity: the canvas's optimistic applyOp equals Python's next state for every operation", () => {
  const order = orderOf(fixture.ids);
  let before = { concepts: [], unlabeled: fixture.ids.slice(), trash: [], marks: {} };
  fixture.steps.forEach((step, i) => {
    if (step.op.op !== "undo" && step.op.op !== "redo") {
      const shown = applyOp(before, step.op, step.new_id || "pending", order);
      assert.deepEqual(snapshotOf(shown), step.snapshot, `step ${i} ${JSON.stringify(step.op)}`);
    }
    before = step.snapshot;
  });
});

test("the browser's constants and operations are Python's", () => {
  assert.equal(MIN_CONCEPT_SIZE, 3);
  assert.deepEqual([UNLABELED, TRASH], ["unlabeled", "trash"]);
  assert.deepEqual(Object.keys(OPERATIONS).sort(), ["accept", "confirm", "create", "delete", "merge", "move", "propose", "redo", "reject", "rename", "undo"]);
  assert.deepEqual(OPERATIONS.move.required, { ids: "ids", target: "place" });
});

test("names: cleaned like Python (NFC, outer space, code points), keys ignore case and spaces", () => {
  assert.equal(cleanConceptName("  e\u0301clair \u001c"), "\u00e9clair");
  assert.equal(cleanConceptName("😀".repeat(200)).length, 400); // 200 code points are allowed
  assert.throws(() => cleanConceptName("😀".repeat(201)), NamingError);
  assert.throws(() => cleanConceptName("a\tb"), NamingError);
  assert.throws(() => cleanConceptName(" \n "), NamingError);
  assert.equal(nameKey("Toe   Cap"), nameKey("toe cap"));
  assert.notEqual(nameKey("toecap"), nameKey("toe cap"));
});
