import { test } from "node:test";
import assert from "node:assert/strict";

import { placePanel, MARGIN, GAP } from "../src/placement.js";

const viewport = { width: 1300, height: 900 };
const top = { left: 20, right: 1280, top: 100, bottom: 260 }; // the canvas's header, toolbar and drop targets
const size = { width: 480, height: 300 };

const box = ({ left, top: y }, s = size) => ({ left, top: y, right: left + s.width, bottom: y + s.height });
const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

test("a panel without an anchor sits at the right, just below the canvas's top", () => {
  const spot = placePanel({ size, viewport, avoid: top });
  assert.deepEqual([spot.left, spot.top], [viewport.width - MARGIN - size.width, top.bottom + MARGIN]);
  assert.equal(spot.maxHeight, viewport.height - MARGIN - (top.bottom + MARGIN));
  assert.ok(!overlaps(box(spot), top));
});

test("a preview opens beside its thumbnail, on the side with room, never over the top", () => {
  const thumb = { left: 30, right: 126, top: 300, bottom: 396 };
  const right = placePanel({ size, viewport, avoid: top, anchor: thumb });
  assert.deepEqual([right.left, right.top], [thumb.right + GAP, thumb.top]);
  const nearRightEdge = { left: 1150, right: 1246, top: 300, bottom: 396 };
  const left = placePanel({ size, viewport, avoid: top, anchor: nearRightEdge });
  assert.equal(left.left, nearRightEdge.left - GAP - size.width);
  // a thumbnail right under the top: the preview is pushed down, not over the toolbar
  const high = { left: 30, right: 126, top: 200, bottom: 296 };
  const pushed = placePanel({ size, viewport, avoid: top, anchor: high });
  assert.ok(pushed.top >= top.bottom + MARGIN && !overlaps(box(pushed), top));
  // near the bottom of the window: pulled up to fit
  const low = { left: 30, right: 126, top: 850, bottom: 946 };
  const up = placePanel({ size, viewport, avoid: top, anchor: low });
  assert.equal(up.top, viewport.height - MARGIN - size.height);
});

test("the whole random layout never covers the top, whatever the sizes", () => {
  let seed = 3;
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 500; i += 1) {
    const vp = { width: 600 + r() * 1400, height: 400 + r() * 800 };
    const avoid = { left: 0, right: vp.width, top: -100 + r() * 200, bottom: 0 };
    avoid.bottom = avoid.top + 40 + r() * 200;
    const s = { width: 100 + r() * 500, height: 80 + r() * 500 };
    const x = r() * vp.width;
    const y = avoid.bottom + r() * (vp.height - avoid.bottom);
    const anchor = r() < 0.8 ? { left: x, right: x + 96, top: y, bottom: y + 96 } : null;
    const spot = placePanel({ size: s, viewport: vp, avoid, anchor });
    const shown = box(spot, { width: s.width, height: Math.min(s.height, spot.maxHeight) });
    assert.ok(!overlaps(shown, avoid) || avoid.bottom + MARGIN > vp.height - MARGIN, JSON.stringify({ vp, avoid, s, anchor, spot }));
    assert.ok(shown.top >= MARGIN - 1e-9 && shown.bottom <= vp.height - MARGIN + 1e-9, JSON.stringify({ vp, s, spot }));
  }
});

test("a host that clips the window (a notebook scroller) keeps the panel inside what it shows", () => {
  const clip = { left: 280, top: 80, right: 1240, bottom: 880 }; // sidebars on both sides
  const thumb = { left: 820, right: 916, top: 600, bottom: 696 };
  const spot = placePanel({ size, viewport, avoid: top, anchor: thumb, clip });
  const placed = box(spot);
  assert.ok(placed.left >= clip.left + MARGIN && placed.right <= clip.right - MARGIN, JSON.stringify(placed));
  assert.ok(placed.bottom <= clip.bottom - MARGIN || spot.maxHeight <= clip.bottom - MARGIN - spot.top);
  assert.ok(!overlaps(placed, thumb), "still beside its thumbnail, not over it");
  assert.equal(placed.right, thumb.left - GAP, "no room on the right inside the clip: on the left");
});
