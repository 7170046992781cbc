import { test } from "node:test";
import assert from "node:assert/strict";
import { columnsFor, contentHeight, windowRange, indicesInRect, GAP, PAD } from "../src/vgrid.js";

test("columns, height and the rendered window follow the cell pitch", () => {
  assert.equal(columnsFor(1000, 96), 9); // (1000 - 8 + 4) / 100
  assert.equal(columnsFor(50, 96), 1);
  assert.equal(contentHeight(0, 9, 96), 0);
  assert.equal(contentHeight(10, 9, 96), 2 * PAD + 2 * (96 + GAP) - GAP);
  assert.deepEqual(windowRange(1000, 9, 96, 1000, 1800), [7 * 9, 20 * 9]); // rows 9-17 meet the band
  assert.deepEqual(windowRange(1000, 9, 96, 0, 0), [0, 0], "nothing visible: nothing rendered");
  assert.deepEqual(windowRange(20, 9, 96, 0, 5000), [0, 20]);
});

test("indicesInRect hits the cells a rectangle overlaps, in either drag direction", () => {
  assert.deepEqual(indicesInRect(30, 9, 96, 2, 2, 250, 150), [0, 1, 2, 9, 10, 11]);
  assert.deepEqual(indicesInRect(30, 9, 96, 250, 150, 2, 2), [0, 1, 2, 9, 10, 11]);
  assert.deepEqual(indicesInRect(30, 9, 96, 101, 1, 102, 3), [], "a gap between cells hits nothing");
  assert.deepEqual(indicesInRect(12, 9, 96, 0, 0, 2000, 2000).length, 12, "never past the last cell");
});
