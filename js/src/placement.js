// Where a panel (the preview, compare, merge and help) opens: in the window, below the canvas's
// sticky top (header, toolbar, drop targets), so that it never hides a control or a drop target.
// A preview of a thumbnail opens beside that thumbnail, on whichever side has room.

export const MARGIN = 8; // px kept free around a panel
export const GAP = 12; // px between a thumbnail and its preview

const clamp = (v, lo, hi) => Math.max(lo, Math.min(v, hi));

/**
 * The rectangle of the window (viewport coordinates {left, top, right, bottom}) in which a fixed
 * panel inside `node` can be seen. A fixed element escapes its scrolling ancestors unless one of
 * them (or one below them) is a containing block for it (a transform, filter or CSS containment):
 * then every scroller from there up clips it. Paint containment (`contain: strict`, as on
 * JupyterLab's notebook) clips it by itself, whatever the element's overflow.
 */
export function clipRect(node) {
  const win = node.ownerDocument.defaultView;
  const box = { left: 0, top: 0, right: win.innerWidth, bottom: win.innerHeight };
  let contained = false;
  for (let el = node.parentElement; el && el !== node.ownerDocument.body; el = el.parentElement) {
    const style = win.getComputedStyle(el);
    const paints = /paint|strict|content/.test(style.contain || ""); // paint containment clips by itself
    contained = contained || paints || style.transform !== "none" || style.filter !== "none"
      || /layout/.test(style.contain || "");
    if (paints || (contained && (style.overflowX !== "visible" || style.overflowY !== "visible"))) {
      const r = el.getBoundingClientRect();
      box.left = Math.max(box.left, r.left);
      box.top = Math.max(box.top, r.top);
      box.right = Math.min(box.right, r.right);
      box.bottom = Math.min(box.bottom, r.bottom);
    }
  }
  return box;
}

/**
 * The top-left corner of a panel of `size` {width, height}, in viewport coordinates, and the
 * height it may take. `viewport` {width, height}; `avoid` the rectangle (viewport coordinates,
 * {top, bottom, left, right}) of what must stay visible (the canvas's top), or null; `anchor`
 * the rectangle of the thumbnail the panel is about, or null (then the panel sits at the right);
 * `clip` the rectangle of the window the host leaves visible (its scrollers), or null.
 * Returns {left, top, maxHeight}.
 */
export function placePanel({ size, viewport, avoid = null, anchor = null, clip = null }) {
  // the part of the window the panel can be seen in: a host's scroller may clip it (`clip`)
  const area = {
    left: Math.max(0, clip ? clip.left : 0), top: Math.max(0, clip ? clip.top : 0),
    right: Math.min(viewport.width, clip ? clip.right : Infinity),
    bottom: Math.min(viewport.height, clip ? clip.bottom : Infinity),
  };
  const minLeft = area.left + MARGIN;
  const minTop = Math.max(area.top + MARGIN, avoid && avoid.bottom > 0 ? avoid.bottom + MARGIN : MARGIN);
  const maxBottom = area.bottom - MARGIN;
  const maxHeight = Math.max(0, maxBottom - minTop);
  const height = Math.min(size.height, maxHeight);
  const right = area.right - MARGIN;
  let left;
  let top;
  if (anchor) {
    const after = anchor.right + GAP;
    const before = anchor.left - GAP - size.width;
    if (after + size.width <= right) left = after;
    else if (before >= minLeft) left = before;
    else left = right - size.width; // no room beside it: over the rows, never over the top
    top = anchor.top;
  } else {
    left = right - size.width;
    top = minTop;
  }
  return {
    left: clamp(left, minLeft, Math.max(minLeft, right - size.width)),
    top: clamp(top, minTop, Math.max(minTop, maxBottom - height)),
    maxHeight,
  };
}

/**
 * Place the overlay element `overlay` (position: fixed, holding the panel) per placePanel.
 * A fixed element inside a transformed or contained ancestor (as JupyterLab's notebook may
 * have) is positioned from that ancestor, not the window: its origin is measured first.
 */
export function positionOverlay(overlay, { avoid = null, anchor = null }) {
  const win = overlay.ownerDocument.defaultView;
  if (!win || !overlay.getBoundingClientRect) return;
  Object.assign(overlay.style, { left: "0px", top: "0px", right: "auto", maxHeight: "" });
  const origin = overlay.getBoundingClientRect();
  const size = { width: origin.width, height: origin.height };
  if (!size.width && !size.height) return; // no layout (tests without CSS)
  const viewport = { width: win.innerWidth, height: win.innerHeight };
  const spot = placePanel({ size, viewport, avoid, anchor, clip: clipRect(overlay) });
  Object.assign(overlay.style, {
    left: `${spot.left - origin.left}px`,
    top: `${spot.top - origin.top}px`,
    maxHeight: `${spot.maxHeight}px`,
  });
}
