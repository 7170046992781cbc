// A tiny element builder. Text goes in with textContent only: concept names and ids are
// untrusted and must never be parsed as HTML.

/**
 * Create `<tag>` in `doc` with optional `className`, `text` (set as textContent), `attrs`
 * (setAttribute, values stringified; null/false skipped) and `children`.
 */
export function h(doc, tag, { className, text, attrs, children } = {}) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  if (children) for (const child of children) if (child) node.appendChild(child);
  return node;
}

/** Format a number for display with a sign, e.g. "+1.23" / "−0.40". */
export function signed(x, digits = 2) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  const s = Math.abs(x).toFixed(digits);
  return x < 0 ? `−${s}` : `+${s}`;
}

/**
 * Set `el`'s text by changing its one text node's data in place: no node is inserted or
 * removed (each insertion restyles and re-lays out around it, and is checked against the
 * host page's `:has()` rules), and nothing happens when the text is unchanged.
 */
export function setText(el, text) {
  const first = el.firstChild;
  if (first && first.nodeType === 3 && first === el.lastChild) {
    if (first.data !== text) first.data = text;
  } else {
    el.textContent = text;
  }
}
