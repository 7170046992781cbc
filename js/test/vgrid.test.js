import { test } from "node:test";
import assert from "node:assert/strict";
import { columnsFor, contentHeight, windowRange, indicesInRect, GAP, PAD, VirtualGrid } from "../src/vgrid.js";

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

test("scrolling rebinds the cells in place: no node leaves the DOM, positions follow the index", async () => {
  const { Window } = await import("happy-dom");
  const win = new Window();
  const grid = win.document.createElement("div");
  win.document.body.appendChild(grid);
  let band = [1000, 1300]; // the visible content band, px (rows above and below it overscanned)
  const removed = [];
  new win.MutationObserver((records) => records.forEach((r) => removed.push(...r.removedNodes))).observe(grid, { childList: true });
  const vg = new VirtualGrid({
    grid, cell: 96,
    make: () => win.document.createElement("div"),
    fill: (node, id) => { node.dataset.id = id; },
    release: () => {},
    measure: () => ({ width: 1000, top: band[0], bottom: band[1] }),
  });
  const ids = Array.from({ length: 500 }, (_, i) => `a${i}`);
  vg.setIds(ids);
  const before = new Set(vg.nodes.values());
  band = [2000, 2300]; // scrolled 20 rows down: every cell leaves the window
  vg.update();
  await new Promise((r) => setTimeout(r, 0)); // mutation records are delivered in a microtask
  const [start, end] = windowRange(500, 9, 96, 2000, 2300);
  const after = new Set(vg.nodes.values());
  assert.equal(after.size, before.size);
  assert.ok([...before].every((n) => after.has(n)), "the same nodes, rebound");
  assert.equal(removed.length, 0, "no cell detached and re-inserted");
  const shown = [...grid.querySelectorAll("[aria-posinset]")]
    .sort((a, b) => a.getAttribute("aria-posinset") - b.getAttribute("aria-posinset"));
  assert.deepEqual(shown.map((n) => n.dataset.id), ids.slice(start, end), "aria-posinset gives the grid's order");
  assert.ok(shown.every((n) => n.getAttribute("aria-setsize") === "500"));
  win.close();
});
