// A virtual grid: one row of the canvas (the pool, a concept, the trash) lays out any number of
// thumbnails as fixed-size cells, but only the cells near the visible part of the page are in
// the DOM. Cells are positioned absolutely from their index, so scrolling costs only the cells
// that enter or leave the window, never a re-layout of the whole row. Cells are rebound in
// place, so their DOM order is not the grid's order (`aria-posinset` is).

export const GAP = 4; // px between cells
export const PAD = 4; // px around the cells (room to start a rubber-band selection)
const OVERSCAN_ROWS = 2; // rows kept rendered above and below what is visible
const FALLBACK_COLS = 12; // without layout (a DOM without CSS, e.g. tests): assume this many columns
const FALLBACK_ROWS = 20; // ... and this many visible rows

/** Columns that fit in `width` px for cells of `cell` px. */
export function columnsFor(width, cell) {
  return Math.max(1, Math.floor((width - 2 * PAD + GAP) / (cell + GAP)));
}

/** Content height (px) of `n` cells in `cols` columns. */
export function contentHeight(n, cols, cell) {
  const rows = Math.ceil(n / cols);
  return rows === 0 ? 0 : 2 * PAD + rows * (cell + GAP) - GAP;
}

/**
 * The index range [start, end) of the cells whose rows meet the content band [top, bottom)
 * (px from the grid's content top), widened by OVERSCAN_ROWS rows each way.
 */
export function windowRange(n, cols, cell, top, bottom) {
  if (n === 0 || bottom <= top) return [0, 0];
  const pitch = cell + GAP;
  const rows = Math.ceil(n / cols);
  const first = Math.max(0, Math.floor((top - PAD) / pitch) - OVERSCAN_ROWS);
  const last = Math.min(rows, Math.ceil((bottom - PAD) / pitch) + OVERSCAN_ROWS);
  return first >= last ? [0, 0] : [first * cols, Math.min(n, last * cols)];
}

/** The cell indices inside the content rectangle (x0, y0)-(x1, y1), for rubber-band selection. */
export function indicesInRect(n, cols, cell, x0, y0, x1, y1) {
  const pitch = cell + GAP;
  const [left, right] = [Math.min(x0, x1), Math.max(x0, x1)];
  const [top, bottom] = [Math.min(y0, y1), Math.max(y0, y1)];
  // a cell is hit when the rectangle overlaps its box (gaps between cells hit nothing)
  const c0 = Math.max(0, Math.floor((left - PAD) / pitch));
  const c1 = Math.min(cols - 1, Math.floor((right - PAD) / pitch));
  const r0 = Math.max(0, Math.floor((top - PAD) / pitch));
  const r1 = Math.floor((bottom - PAD) / pitch);
  const out = [];
  for (let r = r0; r <= r1; r += 1) {
    for (let c = c0; c <= c1; c += 1) {
      const i = r * cols + c;
      if (i >= n) break;
      const cx = PAD + c * pitch;
      const cy = PAD + r * pitch;
      if (cx + cell > left && cx < right && cy + cell > top && cy < bottom) out.push(i);
    }
  }
  return out;
}

const clipCache = new WeakMap(); // grid -> its scrolling ancestors (layout of the host rarely changes)

function clippingAncestors(grid) {
  let list = clipCache.get(grid);
  if (list && list.every((n) => n.isConnected)) return list;
  const win = grid.ownerDocument.defaultView;
  list = [];
  const doc = grid.ownerDocument;
  // the body's and the root's overflow belong to the viewport, which the window clip covers
  for (let node = grid.parentElement; node && node !== doc.body && node !== doc.documentElement; node = node.parentElement) {
    const style = win.getComputedStyle(node);
    if (style.overflowY !== "visible" || style.overflowX !== "visible") list.push(node);
  }
  clipCache.set(grid, list);
  return list;
}

/**
 * Where the visible part of `grid` lies, in its content coordinates, or null without layout.
 * Clipped by the window and by every scrolling ancestor up to `stop` (the canvas's scroller
 * and the notebook's), so a row scrolled out of sight renders nothing.
 */
export function measureGrid(grid) {
  const width = grid.clientWidth;
  if (!width) return null;
  const win = grid.ownerDocument.defaultView;
  const rect = grid.getBoundingClientRect();
  let top = Math.max(rect.top + grid.clientTop, 0);
  let bottom = Math.min(rect.top + grid.clientTop + grid.clientHeight, win.innerHeight);
  for (const node of clippingAncestors(grid)) {
    if (bottom <= top) break;
    const r = node.getBoundingClientRect();
    top = Math.max(top, r.top);
    bottom = Math.min(bottom, r.bottom);
  }
  const base = rect.top + grid.clientTop - grid.scrollTop;
  return { width, top: top - base, bottom: bottom - base };
}

/**
 * One virtual grid in the scroll element `grid`. `cell` is the cell size in px; `make(id)`
 * builds a cell node, `fill(node, id, index)` (re)binds one, `release(node, id)` runs when a
 * node leaves the DOM (give back its thumbnail). `measure(grid)` is injectable for tests.
 */
export class VirtualGrid {
  constructor({ grid, cell, make, fill, release, measure = measureGrid }) {
    this.grid = grid;
    this.cell = cell;
    this.make = make;
    this.fill = fill;
    this.release = release;
    this.measure = measure;
    this.ids = [];
    this.cols = FALLBACK_COLS;
    this.range = [0, 0];
    this.nodes = new Map(); // id -> node in the DOM
    this.spare = []; // detached nodes to reuse
    const doc = grid.ownerDocument;
    this.spacer = doc.createElement("div");
    this.spacer.className = "xn-grid-spacer";
    this.spacer.setAttribute("aria-hidden", "true");
    grid.appendChild(this.spacer);
  }

  /** Whether the grid shows exactly `ids` already. */
  sameIds(ids) {
    return ids === this.ids || (ids.length === this.ids.length && ids.every((id, i) => id === this.ids[i]));
  }

  /**
   * Show `ids` (in order); cheap when nothing changed. `m`: a measurement taken beforehand
   * (see update), so a caller changing several grids lays the page out once.
   */
  setIds(ids, m = undefined) {
    if (this.sameIds(ids)) return false;
    this.ids = ids;
    if (m === undefined) this.update(true);
    else this.update(true, m);
    return true;
  }

  setCell(cell) {
    if (cell === this.cell) return;
    this.cell = cell;
    this.update(true);
  }

  /**
   * Recompute the window from the current scroll position and render what changed. `m` is a
   * measurement taken beforehand (callers updating several grids measure all of them first, so
   * the browser lays the page out once per frame, not once per grid).
   */
  update(force = false, m = this.measure(this.grid)) {
    this.lastMeasure = m;
    const cols = m ? columnsFor(m.width, this.cell) : FALLBACK_COLS;
    const height = contentHeight(this.ids.length, cols, this.cell);
    if (force || cols !== this.cols || this.spacer._h !== height) {
      this.spacer.style.height = `${height}px`;
      this.spacer._h = height;
    }
    const layoutChanged = cols !== this.cols;
    this.cols = cols;
    const [top, bottom] = m ? [m.top, m.bottom] : [0, FALLBACK_ROWS * (this.cell + GAP)];
    const range = windowRange(this.ids.length, cols, this.cell, top, bottom);
    if (!force && !layoutChanged && range[0] === this.range[0] && range[1] === this.range[1]) return;
    this.range = range;
    this.render(force || layoutChanged);
  }

  /**
   * Bind the cells of the current window. A cell that leaves the window is rebound in place to
   * one that enters it, never detached and re-inserted: a node that stays in the DOM keeps its
   * computed style, so a scroll frame restyles only what changed on it (its transform), not
   * every recycled cell against the host page's thousands of rules (JupyterLab's). DOM order is
   * therefore not the grid's order: each cell carries its position in `aria-posinset`.
   */
  render(rebind) {
    const [start, end] = this.range;
    const wanted = new Set(this.ids.slice(start, end));
    const leaving = [];
    for (const [id, node] of this.nodes) {
      if (!wanted.has(id)) {
        this.nodes.delete(id);
        this.release(node, id);
        leaving.push(node);
      }
    }
    const pitch = this.cell + GAP;
    const size = String(this.ids.length);
    for (let i = start; i < end; i += 1) {
      const id = this.ids[i];
      let node = this.nodes.get(id);
      const fresh = !node;
      if (fresh) {
        node = leaving.pop() || this.spare.pop() || this.make();
        this.nodes.set(id, node);
        if (node.parentNode !== this.grid) this.grid.appendChild(node);
      }
      if (fresh || rebind || node._index !== i) {
        node._index = i;
        node.style.transform = `translate(${PAD + (i % this.cols) * pitch}px, ${PAD + Math.floor(i / this.cols) * pitch}px)`;
        node.setAttribute("aria-posinset", String(i + 1));
        node.setAttribute("aria-setsize", size);
        this.fill(node, id, i);
      }
    }
    for (const node of leaving) {
      node.remove();
      this.spare.push(node);
    }
    if (this.spare.length > 64) this.spare.length = 64;
  }

  /** Scroll the grid (only the grid) so that cell `i` is in its visible box. */
  scrollToIndex(i) {
    if (i < 0 || i >= this.ids.length) return;
    const pitch = this.cell + GAP;
    const y = PAD + Math.floor(i / this.cols) * pitch;
    const g = this.grid;
    if (y < g.scrollTop) g.scrollTop = y - PAD;
    else if (y + this.cell > g.scrollTop + g.clientHeight) g.scrollTop = y + this.cell + PAD - g.clientHeight;
    this.update();
  }

  /** Content coordinates of a viewport point. */
  toContent(clientX, clientY) {
    const rect = this.grid.getBoundingClientRect();
    return [clientX - rect.left - this.grid.clientLeft + this.grid.scrollLeft,
      clientY - rect.top - this.grid.clientTop + this.grid.scrollTop];
  }

  /** Ids inside a content rectangle. */
  idsInRect(x0, y0, x1, y1) {
    return indicesInRect(this.ids.length, this.cols, this.cell, x0, y0, x1, y1).map((i) => this.ids[i]);
  }

  /** Forget every node (teardown). */
  clear() {
    for (const [id, node] of this.nodes) {
      this.release(node, id);
      node.remove();
    }
    this.nodes.clear();
    this.spare.length = 0;
  }
}
