// The naming canvas: builds the DOM from the model, keeps it in step with the synced state,
// and turns clicks, drags and keys into protocol operations (docs/widget-protocol.md).
// Each row is a virtual grid (vgrid.js): only the thumbnails near the visible part of the page
// are in the DOM, and their PNGs are fetched from Python on demand (thumbs.js). Keys pressed
// inside the canvas never reach the host's shortcuts (JupyterLab's notebook commands).

import { h, setText } from "./dom.js";
import { applyChange, withFields } from "./naming.js";
import {
  UNLABELED, TRASH, MIN_CONCEPT_SIZE, emptyState, deriveRows, placesOf, progressText, applyOp,
  arrangePool, SORTS, xfeaturesOf, targetLabel,
} from "./state.js";
import { emptySelection, clickSelect, selectAll, pruneSelection, selectedInOrder } from "./selection.js";
import { DRAG_MIME, NEW_CONCEPT, dragIds, writePayload, readPayload, isOurDrag, dropOp, freshConceptName, makeBadge } from "./drop.js";
import { keyAction, passesToHost, stripKeyAction, SHORTCUTS, STRIP_SHORTCUTS } from "./keyboard.js";
import { HEAT, ThumbCache, ThumbLoader, asBytes, bindThumb } from "./thumbs.js";
import { VirtualGrid, measureGrid } from "./vgrid.js";
import { buildPreview } from "./preview.js";
import { buildCompare, compareImageIds, MAX_COMPARE } from "./compare.js";
import {
  SUGGEST_K, SuggestionStrip, acceptIds, proposedAmong, proposedMembers, stepIndex, suggestionConcept,
} from "./suggestions.js";
import { predict, confirmedPrefix } from "./confirm.js";
import { positionOverlay } from "./placement.js";
import { PROPOSAL_SIZE } from "./naming_rules.generated.js";

const HOVER_DELAY_MS = 450;
const SCROLL_QUIET_MS = 150; // thumbnails are asked for once scrolling pauses this long (ThumbLoader.hold)
const DRAFT = "__draft__"; // key of a concept being named before it is sent to Python
const EDGE_PX = 40; // a drag this close to a scroller's edge scrolls it
const EDGE_STEP_PX = 24;
const NOTICE_MS = 12000; // how long a notice from Python (e.g. what a proposal made) stays up
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * The table trait (one list per column of the shown activations; UTF-8 JSON in a binary
 * buffer, or already parsed) as activation records.
 */
export function readTable(table) {
  let c = table || {};
  if (ArrayBuffer.isView(table) || table instanceof ArrayBuffer) c = JSON.parse(new TextDecoder().decode(asBytes(table)));
  const ids = c.id || [];
  const activations = new Array(ids.length);
  for (let i = 0; i < ids.length; i += 1) {
    const label = c.label ? c.label[i] : null;
    const predicted = c.predicted ? c.predicted[i] : null;
    activations[i] = {
      id: String(ids[i]),
      image_id: String(c.image_id[i]),
      xfeature: c.xfeature[i],
      value: c.value ? c.value[i] : null,
      contribution: c.contribution[i],
      predicted,
      label,
      correct: label == null || predicted == null ? null : label === predicted,
    };
  }
  return activations;
}

export class Canvas {
  /**
   * `model` is the anywidget model (get/set/save_changes/send/on/off); `el` the output element.
   * `measure` (vgrid.js measureGrid) and `cacheSize` are injectable for tests.
   */
  constructor({ model, el, measure = measureGrid, cacheSize = 600 }) {
    this.model = model;
    this.el = el;
    this.doc = el.ownerDocument;
    this.win = this.doc.defaultView || globalThis;
    this.measure = measure;
    this.cache = new ThumbCache({ capacity: cacheSize });
    this.loader = new ThumbLoader({ send: (msg) => this.model.send(msg), cache: this.cache });
    this.base = emptyState(); // Python's state plus our unconfirmed operations
    this.view = this.base; // base plus a concept being named (draft)
    this.draft = null; // {name, members} while a new concept is being named
    this.sel = emptySelection();
    this.poolOpts = { sort: "display", xfeature: null, outcome: "all" };
    this.rowEls = new Map(); // row key -> {section, grid, vgrid, ...}
    this.mergeChecked = new Set();
    this.focusRow = UNLABELED;
    this.panel = null; // {kind, close, byHover, node, returnTo}
    this.hoverTimer = null;
    this.pendingCount = 0;
    this.handlers = [];
    this.frame = null;
    this.strip = new SuggestionStrip({ doc: this.doc, loader: this.loader });
    this.strip.node._xnKeydown = (e) => this.onStripKey(e);
    this.suggestSeq = 0;
    this.build();
    this.loadData();
    this.receiveState();
  }

  // ---- model wiring -------------------------------------------------------------------

  listen(name, fn) {
    this.model.on(`change:${name}`, fn);
    this.handlers.push([`change:${name}`, fn]);
  }

  /** Read the activation table (sent once); thumbnails come later, on demand. */
  loadData() {
    const activations = readTable(this.model.get("table"));
    this.activations = activations;
    this.byId = new Map(activations.map((a) => [a.id, a]));
    this.order = new Map(activations.map((a, i) => [a.id, i])); // display order, for the naming rules
    this.imagesById = new Map(); // image id -> every x-feature of it, asked of Python for compare
    for (const parts of this.rowEls.values()) parts.vgrid.update(true);
    this.fillXfeatureFilter();
    this.renderHeader();
  }

  /** Replace the local view with Python's state (the source of truth). */
  receiveState() {
    const state = this.model.get("base_state") || emptyState();
    this.pendingCount = 0;
    this.predicted = []; // changes shown before Python confirmed them, oldest first (confirm.js)
    this.confirmed = state;
    this.base = state;
    this.root.dataset.version = String(state.version ?? 0); // which Python state is on screen
    this.refreshView();
    this.refreshSuggestions();
  }

  /**
   * Apply what Python says an operation changed (docs/widget-protocol.md) to the last confirmed
   * naming, with the naming core's rules. A delta that does not start from the naming on screen
   * (a view that missed one) asks Python for the whole naming instead.
   */
  receiveDelta(msg) {
    const confirmed = this.confirmed;
    if (!confirmed || msg.base !== confirmed.version) {
      this.model.send({ type: "resync" });
      return;
    }
    const fields = { version: msg.version, can_undo: msg.can_undo, can_redo: msg.can_redo, saved_at: msg.saved_at };
    const n = confirmedPrefix(this.predicted, msg.changes);
    if (n === this.predicted.length) {
      // exactly what is on screen: keep it (no naming-sized work)
      this.confirmed = withFields(this.base, fields);
      this.base = this.confirmed;
      this.predicted = [];
    } else {
      let next = confirmed;
      try {
        for (const [change, reverse] of msg.changes) next = applyChange(next, change, reverse, this.order);
      } catch (err) {
        this.model.send({ type: "resync" });
        return;
      }
      this.confirmed = withFields(next, fields);
      if (n > 0) {
        // the first predictions are confirmed; the later ones stay on screen until theirs come
        this.predicted = this.predicted.slice(n);
        this.base = withFields(this.base, { can_undo: msg.can_undo, can_redo: msg.can_redo, saved_at: msg.saved_at });
      } else {
        this.predicted = [];
        this.base = this.confirmed;
      }
    }
    if (!this.predicted.length) this.pendingCount = 0;
    this.root.dataset.version = String(msg.version);
    this.refreshView();
    this.refreshSuggestions();
  }

  /** The view is the base state plus the concept being named, if any. */
  refreshView() {
    this.view = this.draft
      ? applyOp(this.base, { op: "create", name: this.draft.name, members: this.draft.members }, DRAFT, this.order)
      : this.base;
    this.render();
  }

  /** Send an operation to Python and show its expected result at once. */
  sendOp(msg, announce) {
    this.model.send(msg);
    const { state: next, change } = predict(this.base, msg, `pending-${++this.pendingCount}`, this.order);
    if (change) this.predicted.push(change);
    if (next !== this.base) {
      this.base = next;
      this.refreshView();
    }
    if (announce) this.announce(announce);
  }

  // ---- static structure ---------------------------------------------------------------

  build() {
    const d = this.doc;
    this.root = h(d, "div", {
      className: "xn-root",
      attrs: { tabindex: "0", "data-lm-suppress-shortcuts": "true", "aria-label": "Naming canvas" },
    });
    this.title = h(d, "div", { className: "xn-title" });
    this.progress = h(d, "div", { className: "xn-progress", attrs: { "aria-label": "Progress" } });
    this.saved = h(d, "div", { className: "xn-saved" });
    const header = h(d, "div", { className: "xn-header", children: [this.title, this.progress, this.saved] });

    const button = (text, title, onClick, cls = "") => {
      const b = h(d, "button", { className: `xn-btn ${cls}`, text, attrs: { type: "button", title } });
      b.addEventListener("click", onClick);
      return b;
    };
    this.undoBtn = button("↶ Undo", "Undo (Ctrl+Z)", () => this.sendOp({ type: "op", op: "undo" }, "Undone"), "xn-undo");
    this.redoBtn = button("↷ Redo", "Redo (Ctrl+Shift+Z)", () => this.sendOp({ type: "op", op: "redo" }, "Redone"), "xn-redo");
    this.newBtn = button("+ New concept", "New concept from the selection (N)", () => this.createFromSelection(), "xn-new");
    this.mergeBtn = button("Merge rows", "Merge the checked concept rows", () => this.openMergeDialog(), "xn-merge");
    this.compareBtn = button("Compare", "Compare the selected images (C)", () => this.openCompare(), "xn-compare-btn");
    this.proposeBtn = button("✦ Propose concepts", "Group the unlabeled pool into proposed concepts by what the heatmaps "
      + "look at (one step to undo); confirm, rename, merge or delete them", () => this.propose(), "xn-propose");
    this.proposeSize = h(d, "input", {
      className: "xn-propose-size",
      attrs: { type: "number", min: String(MIN_CONCEPT_SIZE), step: "1", value: String(PROPOSAL_SIZE),
        title: "About how many activations each proposed concept gathers", "aria-label": "Activations per proposed concept" },
    });
    const proposeLabel = h(d, "label", {
      className: "xn-propose-label", children: [d.createTextNode("about "), this.proposeSize, d.createTextNode(" each")],
    });
    this.helpBtn = button("?", "Keyboard shortcuts (?)", () => this.toggleHelp(), "xn-help-btn");

    this.moveMenu = h(d, "select", { className: "xn-move", attrs: { "aria-label": "Move selection to" } });
    this.moveMenu.addEventListener("change", () => {
      const target = this.moveMenu.value;
      this.moveMenu.value = "";
      if (target === NEW_CONCEPT) this.createFromSelection();
      else if (target) this.moveSelection(target);
    });

    this.sortMenu = h(d, "select", { className: "xn-sort", attrs: { "aria-label": "Sort the pool" } });
    for (const [value, label] of Object.entries(SORTS)) this.sortMenu.appendChild(h(d, "option", { text: label, attrs: { value } }));
    this.sortMenu.addEventListener("change", () => this.setPoolOpts({ sort: this.sortMenu.value }));
    this.xMenu = h(d, "select", { className: "xn-xfilter", attrs: { "aria-label": "Filter the pool by x-feature" } });
    this.xMenu.addEventListener("change", () => this.setPoolOpts({ xfeature: this.xMenu.value === "" ? null : Number(this.xMenu.value) }));
    this.outcomeMenu = h(d, "select", { className: "xn-outcome", attrs: { "aria-label": "Filter the pool by outcome" } });
    for (const [value, label] of [["all", "All predictions"], ["tp", "True positives"], ["fp", "False positives"]]) {
      this.outcomeMenu.appendChild(h(d, "option", { text: label, attrs: { value } }));
    }
    this.outcomeMenu.addEventListener("change", () => this.setPoolOpts({ outcome: this.outcomeMenu.value }));

    this.keysBox = h(d, "input", { attrs: { type: "checkbox", "aria-label": "Single-key shortcuts" } });
    this.keysBox.addEventListener("change", () => {
      this.model.set("single_key_shortcuts", this.keysBox.checked);
      this.model.save_changes();
    });
    const keysLabel = h(d, "label", { className: "xn-keys", children: [this.keysBox, d.createTextNode(" single-key shortcuts")] });

    const toolbar = h(d, "div", {
      className: "xn-toolbar",
      attrs: { role: "toolbar", "aria-label": "Naming tools" },
      children: [this.undoBtn, this.redoBtn, this.moveMenu, this.newBtn, this.mergeBtn, this.compareBtn, this.proposeBtn,
        proposeLabel, this.sortMenu, this.xMenu, this.outcomeMenu, keysLabel, this.helpBtn],
    });
    // drop targets that stay in view however far the rows are scrolled
    this.targets = h(d, "div", { className: "xn-targets", attrs: { role: "group", "aria-label": "Drop targets" } });

    this.errorText = h(d, "span", { className: "xn-error-text" });
    const dismiss = button("×", "Dismiss", () => this.dismissError(), "xn-error-close");
    this.errorBox = h(d, "div", { className: "xn-error", attrs: { role: "alert" }, children: [this.errorText, dismiss] });
    this.errorBox.hidden = true;
    this.noticeText = h(d, "span", { className: "xn-notice-text" });
    const dismissNotice = button("×", "Dismiss", () => this.hideNotice(), "xn-notice-close");
    this.noticeBox = h(d, "div", { className: "xn-notice", attrs: { role: "status" }, children: [this.noticeText, dismissNotice] });
    this.noticeBox.hidden = true;
    this.noticeTimer = null;
    this.live = h(d, "div", { className: "xn-live", attrs: { "aria-live": "polite", role: "status" } });

    this.rowsBox = h(d, "div", { className: "xn-rows" });
    this.newZone = h(d, "div", {
      className: "xn-newzone",
      text: "+ Drop images here (or click) to make a new concept from the selection",
      attrs: { "data-row": NEW_CONCEPT, role: "button", tabindex: "0" },
    });
    this.newZone.addEventListener("click", () => this.createFromSelection());
    this.overlay = h(d, "div", { className: "xn-overlay" });
    const top = h(d, "div", { className: "xn-top", children: [header, toolbar, this.targets, this.errorBox, this.noticeBox] });
    this.root.append(top, this.live, this.rowsBox, this.overlay);
    this.el.appendChild(this.root);
    this.wireEvents();
  }

  wireEvents() {
    const root = this.root;
    root.addEventListener("click", (e) => this.onClick(e));
    root.addEventListener("dblclick", (e) => {
      const name = e.target.closest && e.target.closest(".xn-name");
      if (name) this.startRename(name.closest(".xn-row").dataset.row);
    });
    root.addEventListener("dragstart", (e) => this.onDragStart(e));
    root.addEventListener("dragend", () => this.clearDropHighlight());
    root.addEventListener("dragover", (e) => this.onDragOver(e));
    root.addEventListener("dragleave", (e) => {
      const zone = this.dropZoneOf(e.target);
      if (zone && !zone.contains(e.relatedTarget)) zone.classList.remove("xn-over");
    });
    root.addEventListener("drop", (e) => this.onDrop(e));
    root.addEventListener("mousedown", (e) => this.onMouseDown(e));
    root.addEventListener("mouseover", (e) => this.onHover(e));
    root.addEventListener("mouseout", (e) => {
      const t = this.thumbOf(e.target) || this.sugOf(e.target);
      if (t && !t.contains(e.relatedTarget)) {
        clearTimeout(this.hoverTimer);
        if (this.panel && this.panel.kind === "preview" && this.panel.byHover) this.closePanel();
      }
    });
    // Keys: JupyterLab (and Notebook 7) handle shortcuts in a keydown listener in the capture
    // phase on the document, before any listener in the canvas runs, so the canvas listens
    // one step earlier, on the window, and keeps every key whose target is inside it.
    this.keyGuard = (e) => this.guardKey(e);
    this.win.addEventListener("keydown", this.keyGuard, true);
    // Any scroll (a grid, the canvas's rows, the notebook, the page) may bring cells into view.
    this.onScroll = () => {
      this.loader.hold(SCROLL_QUIET_MS);
      this.schedule();
    };
    this.doc.addEventListener("scroll", this.onScroll, { capture: true, passive: true });
    this.win.addEventListener("resize", this.onScroll);
    this.resizeObserver = this.win.ResizeObserver ? new this.win.ResizeObserver(() => this.schedule()) : null;
    if (this.resizeObserver) this.resizeObserver.observe(this.rowsBox);
  }

  /** Keydown in the window's capture phase: keep keys aimed at the canvas away from the host. */
  guardKey(e) {
    const target = e.target;
    const path = typeof e.composedPath === "function" ? e.composedPath() : [];
    if (!(path.includes(this.root) || (target && target.nodeType && this.root.contains(target)))) return;
    if (passesToHost(e)) return;
    e.stopPropagation();
    // the canvas's own handlers would not see the event now: call them
    for (const node of path.length ? path : [target]) {
      if (node === this.root) break;
      if (node && typeof node._xnKeydown === "function") {
        node._xnKeydown(e);
        return;
      }
    }
    this.onKey(e);
  }

  /** Update every grid's window once per frame, however many scroll events arrive. */
  schedule() {
    if (this.frame !== null) return;
    const raf = this.win.requestAnimationFrame ? this.win.requestAnimationFrame.bind(this.win) : (fn) => setTimeout(fn, 16);
    this.frame = raf(() => {
      this.frame = null;
      if (this.destroyed) return;
      const grids = [...this.rowEls.values()].map((parts) => parts.vgrid);
      const measured = grids.map((g) => g.measure(g.grid)); // read everything, then write
      grids.forEach((g, i) => g.update(false, measured[i]));
    });
  }

  // ---- rendering ----------------------------------------------------------------------

  renderHeader() {
    const category = this.model.get("category") || "";
    const annotator = this.model.get("annotator") || "";
    this.title.textContent = `Naming “${category}”` + (annotator ? ` — ${annotator}` : "");
    const size = Number(this.model.get("thumb_size")) || 96;
    this.root.style.setProperty("--xn-thumb", `${size}px`);
    for (const parts of this.rowEls.values()) parts.vgrid.setCell(size);
    this.keysBox.checked = this.model.get("single_key_shortcuts") !== false;
    this.renderError();
  }

  get cellSize() {
    return Number(this.model.get("thumb_size")) || 96;
  }

  renderError() {
    const msg = this.model.get("error") || "";
    this.errorText.textContent = msg;
    this.errorBox.hidden = msg === "";
  }

  /**
   * Python refused an operation: drop any optimistic change and show its message. A refusal
   * comes with a newer `base_state` (adopted); an error that is no refusal (no suggestions, an
   * unreadable thumbnail) leaves the naming on screen as it is.
   */
  onError() {
    this.renderError();
    if (!this.model.get("error")) return;
    const synced = this.model.get("base_state");
    if (synced && (!this.confirmed || (synced.version ?? -1) > (this.confirmed.version ?? -1))) {
      this.receiveState();
    } else if (this.pendingCount) {
      this.pendingCount = 0;
      this.base = this.confirmed;
      this.refreshView();
    }
  }

  /** A notice from Python (what "Propose concepts" made), shown for a while in a neutral bar. */
  showNotice(text) {
    this.noticeText.textContent = String(text || "");
    this.noticeBox.hidden = !text;
    this.announce(String(text || ""));
    clearTimeout(this.noticeTimer);
    if (text) this.noticeTimer = setTimeout(() => this.hideNotice(), NOTICE_MS);
  }

  hideNotice() {
    clearTimeout(this.noticeTimer);
    this.noticeBox.hidden = true;
  }

  /** Hide the banner and clear the trait, so the same message shows again next time. */
  dismissError() {
    this.errorBox.hidden = true;
    this.model.set("error", "");
    this.model.save_changes();
  }

  fillXfeatureFilter() {
    const d = this.doc;
    this.xMenu.replaceChildren(h(d, "option", { text: "All x-features", attrs: { value: "" } }));
    for (const x of xfeaturesOf(this.activations)) this.xMenu.appendChild(h(d, "option", { text: `x-feature ${x}`, attrs: { value: String(x) } }));
  }

  setPoolOpts(patch) {
    this.poolOpts = { ...this.poolOpts, ...patch };
    this.render();
  }

  /** The ids row `key` shows, in screen order (the pool is sorted and filtered). */
  visibleIds(key) {
    const parts = this.rowEls.get(key);
    if (parts) return parts.vgrid.ids;
    const row = deriveRows(this.view).find((r) => r.key === key);
    if (!row) return [];
    return key === UNLABELED ? arrangePool(row.ids, this.byId, this.poolOpts) : row.ids;
  }

  render() {
    // moving a focused thumbnail between rows blurs it; keep keyboard focus in the canvas
    const hadFocus = this.root.contains(this.doc.activeElement);
    this.unfocusMovingThumb();
    const rows = deriveRows(this.view);
    const keep = new Set(rows.map((r) => r.key));
    for (const [key, parts] of this.rowEls) {
      if (!keep.has(key)) {
        parts.vgrid.clear();
        parts.section.remove();
        this.rowEls.delete(key);
        this.mergeChecked.delete(key);
      }
    }
    let previous = null;
    const changed = [];
    for (const row of rows) {
      const parts = this.rowEls.get(row.key) || this.makeRow(row);
      const ids = row.key === UNLABELED ? arrangePool(row.ids, this.byId, this.poolOpts) : row.ids;
      this.updateRowHeader(parts, row, ids.length);
      // keep sections in display order: pool, new-concept zone, concepts, trash
      const want = previous ? previous.nextSibling : this.rowsBox.firstChild;
      if (want !== parts.section) this.rowsBox.insertBefore(parts.section, want);
      previous = parts.section;
      if (row.key === UNLABELED) {
        if (previous.nextSibling !== this.newZone) this.rowsBox.insertBefore(this.newZone, previous.nextSibling);
        previous = this.newZone;
      }
      if (!parts.vgrid.sameIds(ids)) changed.push([parts.vgrid, ids]);
    }
    if (changed.length) {
      // No layout forced here: each grid lays its new ids out in the window it last measured,
      // and the next frame measures all of them once before painting (a grid whose height
      // changed moves the rows below it).
      const measured = changed.map(([vgrid]) => (vgrid.lastMeasure === undefined ? vgrid.measure(vgrid.grid) : vgrid.lastMeasure));
      changed.forEach(([vgrid, ids], i) => vgrid.setIds(ids, measured[i]));
      this.schedule();
    }
    if (this.sel.ids.size) {
      const shown = new Set();
      for (const parts of this.rowEls.values()) for (const id of parts.vgrid.ids) if (this.sel.ids.has(id)) shown.add(id);
      this.sel = pruneSelection(this.sel, shown);
    }
    this.paintSelection();
    this.paintMarks();
    this.renderStrip();
    this.renderTargets(rows);
    this.progress.textContent = progressText(this.view);
    const saved = this.view.saved_at;
    this.saved.textContent = saved ? `saved ${String(saved).replace("T", " ").slice(0, 19)}` : "not saved yet";
    this.undoBtn.disabled = !this.view.can_undo;
    this.redoBtn.disabled = !this.view.can_redo;
    this.mergeBtn.disabled = [...this.mergeChecked].filter((k) => keep.has(k)).length < 2;
    this.fillMoveMenu();
    const active = this.doc.activeElement;
    if (hadFocus && (!this.root.contains(active) || active.disabled)) this.root.focus({ preventScroll: true });
  }

  /**
   * A focused thumbnail whose activation now belongs to another row is about to leave the DOM:
   * give the focus to the canvas before anything is changed, while the page's styles are
   * clean (focusing after the changes would make the browser recompute them on the spot).
   */
  unfocusMovingThumb() {
    const thumb = this.thumbOf(this.doc.activeElement);
    if (thumb && this.root.contains(thumb) && placesOf(this.view).get(thumb.dataset.id) !== this.rowKeyOf(thumb)) {
      this.root.focus({ preventScroll: true });
    }
  }

  /** The compact list of drop targets above the rows: concepts, Unlabeled, Trash, New concept. */
  renderTargets(rows) {
    const items = rows.filter((r) => r.key !== DRAFT).map((r) => [r.key, r.kind === "concept" && r.index < 9 ? `${r.index + 1} ${r.name}` : r.name, r.ids.length]);
    items.push([NEW_CONCEPT, "+ New concept", null]);
    const signature = JSON.stringify(items);
    if (signature === this.targetsSignature) return;
    this.targetsSignature = signature;
    const label = ([, name, n]) => (n === null ? name : `${name} (${n})`);
    const chips = this.targets.children;
    if (chips.length === items.length && items.every(([key], i) => chips[i].dataset.target === key)) {
      items.forEach((item, i) => { if (chips[i].textContent !== label(item)) chips[i].textContent = label(item); });
      return; // the same targets, new counts: only their text changes
    }
    const d = this.doc;
    this.targets.replaceChildren(...items.map(([key, name, n]) => h(d, "button", {
      className: `xn-target${key === NEW_CONCEPT ? " xn-target-new" : ""}${key === TRASH ? " xn-target-trash" : ""}`,
      text: n === null ? name : `${name} (${n})`,
      attrs: { type: "button", "data-row": key, "data-target": key, title: key === NEW_CONCEPT ? "Drop here, or click, to make a new concept from the selection" : "Drop here, or click to move the selection here" },
    })));
  }

  makeRow(row) {
    const d = this.doc;
    const section = h(d, "section", { className: `xn-row xn-row-${row.kind}${row.key === DRAFT ? " xn-row-draft" : ""}`, attrs: { "data-row": row.key } });
    const name = h(d, "span", { className: "xn-name" });
    const count = h(d, "span", { className: "xn-count" });
    const warn = h(d, "span", { className: "xn-warn", text: `⚠ fewer than ${MIN_CONCEPT_SIZE}: dropped in analysis` });
    const selAll = h(d, "button", { className: "xn-btn xn-selall", text: "Select all", attrs: { type: "button", "data-action": "selectAll" } });
    const head = h(d, "div", { className: "xn-row-head" });
    const parts = { section, name, count, warn, head, kind: row.kind };
    if (row.kind === "concept") {
      const check = h(d, "input", { className: "xn-mergebox", attrs: { type: "checkbox", "aria-label": "Select row for merge" } });
      check.addEventListener("change", () => {
        if (check.checked) this.mergeChecked.add(row.key);
        else this.mergeChecked.delete(row.key);
        this.mergeBtn.disabled = this.mergeChecked.size < 2;
      });
      const index = h(d, "span", { className: "xn-index" });
      const rename = h(d, "button", { className: "xn-btn xn-rename", text: "✎", attrs: { type: "button", title: "Rename (F2)", "data-action": "rename" } });
      const del = h(d, "button", { className: "xn-btn xn-delete", text: "Delete", attrs: { type: "button", title: "Delete concept (members back to unlabeled)", "data-action": "delete" } });
      const proposed = h(d, "span", { className: "xn-proposed-count", attrs: { title: "Members a proposal or a transfer placed, not confirmed by a person yet (dashed)" } });
      const confirm = h(d, "button", { className: "xn-btn xn-confirm", text: "✓ Confirm all", attrs: { type: "button", "data-action": "confirm", title: "Confirm this concept's proposed members where they are: one step to undo (Y confirms the selected ones)" } });
      const suggest = h(d, "button", { className: "xn-btn xn-suggest-btn", text: "Suggest", attrs: { type: "button", "data-action": "suggest", title: "Show the unlabeled images most like this concept (S)", "aria-pressed": "false" } });
      proposed.hidden = true;
      confirm.hidden = true;
      head.append(check, index, name, rename, count, warn, proposed, confirm, suggest, selAll, del);
      Object.assign(parts, { check, index, proposed, confirm, suggest });
    } else {
      head.append(name, count, warn, selAll);
    }
    const grid = h(d, "div", {
      className: "xn-grid",
      attrs: { role: "listbox", "aria-multiselectable": "true", "aria-label": row.name },
    });
    section.append(head, grid);
    parts.grid = grid;
    parts.vgrid = new VirtualGrid({
      grid,
      cell: this.cellSize,
      make: () => this.makeCell(),
      fill: (node, id) => this.fillCell(node, id),
      release: (node) => this.releaseCell(node),
      measure: this.measure,
    });
    this.rowEls.set(row.key, parts);
    return parts;
  }

  updateRowHeader(parts, row, visible) {
    if (!parts.section.classList.contains("xn-editing")) parts.name.textContent = row.name;
    parts.grid.setAttribute("aria-label", row.name);
    parts.count.textContent = visible === row.ids.length ? `${row.ids.length}` : `${visible} shown of ${row.ids.length}`;
    parts.warn.hidden = !row.small;
    parts.section.classList.toggle("xn-small", row.small);
    if (parts.index) parts.index.textContent = row.index < 9 ? `${row.index + 1}` : "";
    if (parts.check) parts.check.checked = this.mergeChecked.has(row.key);
    if (parts.confirm) {
      const n = proposedAmong(row.ids, this.view.marks).length;
      parts.proposed.hidden = n === 0;
      parts.confirm.hidden = n === 0;
      parts.proposed.textContent = n === row.ids.length ? "proposed" : `${n} proposed`;
      parts.confirm.textContent = n === row.ids.length ? "✓ Confirm all" : `✓ Confirm ${n}`;
      parts.section.classList.toggle("xn-row-proposed", n > 0 && n === row.ids.length);
      const open = this.strip.concept === row.key;
      parts.suggest.setAttribute("aria-pressed", open ? "true" : "false");
      parts.suggest.textContent = open ? "Suggestions ▾" : "Suggest";
      parts.suggest.disabled = row.key === DRAFT || String(row.key).startsWith("pending-");
    }
  }

  // ---- cells (recycled by the virtual grids) --------------------------------------------

  makeCell() {
    const d = this.doc;
    const node = h(d, "div", { className: "xn-thumb", attrs: { draggable: "true", role: "option", tabindex: "-1", "aria-selected": "false" } });
    const img = h(d, "img", { attrs: { alt: "", draggable: "false", decoding: "async" } });
    const placeholder = h(d, "div", { className: "xn-placeholder" });
    placeholder.hidden = true;
    const tag = h(d, "span", { className: "xn-tag" });
    const badge = h(d, "span", { className: "xn-prop-badge", text: "?", attrs: { "aria-hidden": "true" } });
    badge.hidden = true;
    node.append(img, placeholder, tag, badge);
    node._badge = badge;
    node._img = img;
    node._placeholder = placeholder;
    node._tag = tag;
    return node;
  }

  /** Bind a cell to activation `id`: its text, selection mark and thumbnail (fetched on demand). */
  fillCell(node, id) {
    if (node.dataset.id === id && node._release) {
      this.paintMark(node, id);
      return;
    }
    this.releaseCell(node);
    const a = this.byId.get(id) || { id, xfeature: "?" };
    const outcome = a.correct === true ? "true positive" : a.correct === false ? "false positive" : "";
    node.dataset.id = id;
    node._title = `${a.image_id ?? id} · x${a.xfeature} · contribution ${Number(a.contribution).toFixed(2)}${outcome ? ` · ${outcome}` : ""}`;
    node._proposed = undefined; // paint the mark afresh: the node may have shown another activation
    this.paintMark(node, id);
    node.classList.toggle("xn-fp", a.correct === false);
    const selected = this.sel.ids.has(id);
    node.classList.toggle("xn-selected", selected);
    node.setAttribute("aria-selected", selected ? "true" : "false");
    setText(node._tag, `x${a.xfeature}`);
    // the cell's name is on the cell (role option); the image is decorative (alt=""), so an
    // image between thumbnails never builds alt-text fallback content that is laid out
    node.setAttribute("aria-label", `x-feature ${a.xfeature} of ${a.image_id ?? id}`);
    node._img.hidden = false;
    node._placeholder.hidden = true;
    node._release = bindThumb(this.loader, node._img, HEAT, id, () => {
      setText(node._placeholder, `x${a.xfeature}`); // only a cell without a thumbnail shows it
      node._img.hidden = true;
      node._placeholder.hidden = false;
    });
  }

  releaseCell(node) {
    if (node._release) node._release();
    node._release = null;
    node._img.removeAttribute("src");
    if (this.doc.activeElement === node) this.root.focus({ preventScroll: true }); // never drop focus to the page
  }

  /** Rendered cells of every row. */
  *renderedCells() {
    for (const parts of this.rowEls.values()) yield* parts.vgrid.nodes.entries();
  }

  cellOf(id) {
    for (const parts of this.rowEls.values()) {
      const node = parts.vgrid.nodes.get(id);
      if (node) return node;
    }
    return null;
  }

  /** A member a proposal or a transfer placed, not confirmed yet: dashed, with a "?" badge. */
  paintMark(node, id) {
    const mark = this.view.marks ? this.view.marks[id] : null;
    const proposed = mark && mark[1] ? mark[0] : null;
    if (node._proposed === proposed) return;
    node._proposed = proposed;
    node.classList.toggle("xn-proposed", Boolean(proposed));
    node._badge.hidden = !proposed;
    node.title = proposed ? `${node._title} · placed by a ${proposed}, not confirmed yet (Y confirms)` : node._title;
  }

  paintMarks() {
    for (const [id, node] of this.renderedCells()) this.paintMark(node, id);
  }

  paintSelection() {
    for (const [id, node] of this.renderedCells()) {
      const on = this.sel.ids.has(id);
      if (node.classList.contains("xn-selected") !== on) {
        node.classList.toggle("xn-selected", on);
        node.setAttribute("aria-selected", on ? "true" : "false");
      }
    }
    const n = this.sel.ids.size;
    this.compareBtn.disabled = n === 0;
    this.compareBtn.textContent = n ? `Compare (${Math.min(n, MAX_COMPARE)})` : "Compare";
  }

  fillMoveMenu() {
    const d = this.doc;
    const opts = [["", `Move ${this.sel.ids.size} selected to…`], [UNLABELED, "Unlabeled"]];
    this.view.concepts.forEach((c, i) => opts.push([String(c.id), `${i < 9 ? `${i + 1}: ` : ""}${c.name}`]));
    opts.push([TRASH, "Trash"], [NEW_CONCEPT, "New concept"]);
    const signature = JSON.stringify(opts);
    if (signature !== this.moveMenuSignature) { // rebuilt only when its options change
      this.moveMenuSignature = signature;
      this.moveMenu.replaceChildren(...opts.map(([value, text]) => h(d, "option", { text, attrs: { value } })));
    }
    this.moveMenu.value = "";
    this.moveMenu.disabled = this.sel.ids.size === 0;
  }

  // ---- selection and clicks -----------------------------------------------------------

  thumbOf(target) {
    return target && target.closest ? target.closest(".xn-thumb") : null;
  }

  /** The suggestion (in the strip) an event target is in, or null. */
  sugOf(target) {
    return target && target.closest ? target.closest(".xn-sug") : null;
  }

  rowKeyOf(node) {
    const section = node && node.closest ? node.closest(".xn-row") : null;
    return section ? section.dataset.row : null;
  }

  onClick(e) {
    const action = e.target.closest && e.target.closest("[data-action]");
    if (action) {
      const key = this.rowKeyOf(action);
      const kind = action.dataset.action;
      if (kind === "selectAll") this.selectRow(key);
      else if (kind === "rename") this.startRename(key);
      else if (kind === "suggest") this.toggleSuggestions(key);
      else if (kind === "confirm") this.confirmIds(proposedMembers(this.view, key));
      else if (kind === "sug-accept") this.acceptSuggestions(false);
      else if (kind === "sug-accept-all") this.acceptSuggestions(true);
      else if (kind === "sug-close") this.closeSuggestions(true);
      else if (kind === "sug-reject") this.rejectSuggestions([action.closest(".xn-sug").dataset.id]);
      else if (kind === "delete") this.sendOp({ type: "op", op: "delete", concept_id: key }, `Deleted ${targetLabel(this.view, key)}; its images are back in Unlabeled`);
      return;
    }
    const sug = this.sugOf(e.target);
    if (sug) {
      this.strip.toggle(sug.dataset.id);
      this.strip.render(this.view, this.byId);
      sug.focus({ preventScroll: true });
      return;
    }
    const chip = e.target.closest && e.target.closest(".xn-target");
    if (chip) {
      this.onTargetClick(chip.dataset.target);
      return;
    }
    const thumb = this.thumbOf(e.target);
    if (!thumb) return;
    const key = this.rowKeyOf(thumb);
    this.focusRow = key;
    this.sel = clickSelect(this.sel, this.visibleIds(key), thumb.dataset.id, { ctrl: e.ctrlKey, meta: e.metaKey, shift: e.shiftKey });
    this.paintSelection();
    this.fillMoveMenu();
    thumb.focus({ preventScroll: true });
  }

  /** A drop-target chip clicked: move the selection there, or show that row when nothing is selected. */
  onTargetClick(key) {
    if (key === NEW_CONCEPT) {
      this.createFromSelection();
    } else if (this.sel.ids.size) {
      this.moveSelection(key);
    } else {
      const parts = this.rowEls.get(key);
      if (parts && parts.section.scrollIntoView) parts.section.scrollIntoView({ block: "nearest" });
    }
  }

  /** Focus a thumbnail (scrolling its row so it is rendered and in view) and remember its row. */
  focusThumb(id) {
    const key = placesOf(this.view).get(id);
    const parts = key ? this.rowEls.get(key) : null;
    if (!parts) return;
    const index = parts.vgrid.ids.indexOf(id);
    if (index < 0) return;
    if (parts.section.scrollIntoView && !parts.vgrid.nodes.has(id)) parts.section.scrollIntoView({ block: "nearest" });
    parts.vgrid.scrollToIndex(index);
    const node = parts.vgrid.nodes.get(id);
    if (!node) return;
    this.focusRow = key;
    node.focus({ preventScroll: true });
    if (node.scrollIntoView) node.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  selectFocused(id, mods) {
    this.sel = clickSelect(this.sel, this.visibleIds(this.focusRow), id, mods);
    this.paintSelection();
    this.fillMoveMenu();
    this.announce(`${this.sel.ids.size} selected`);
  }

  /** Arrow left/right: focus the previous/next image of the row; select as a click would. */
  step(focused, { delta, extend, focusOnly }) {
    const key = focused ? this.rowKeyOf(focused) : this.focusRow;
    const ids = this.visibleIds(key);
    if (!ids.length) return;
    const at = focused ? ids.indexOf(focused.dataset.id) : -1;
    const next = ids[at < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, at + delta))];
    this.focusThumb(next);
    if (focusOnly) return;
    this.selectFocused(next, extend ? { shift: true } : {});
  }

  /** Arrow up/down: focus the first image of the previous/next row that shows any. */
  stepRow(focused, delta, from = null) {
    const keys = deriveRows(this.view).map((r) => r.key).filter((k) => this.visibleIds(k).length);
    if (!keys.length) return;
    const current = focused ? this.rowKeyOf(focused) : from;
    const at = keys.indexOf(current);
    const key = at < 0 ? keys[0] : keys[Math.max(0, Math.min(keys.length - 1, at + delta))];
    this.focusThumb(this.visibleIds(key)[0]);
  }

  selectRow(key) {
    if (!key) return;
    this.focusRow = key;
    this.sel = selectAll(this.visibleIds(key));
    this.paintSelection();
    this.fillMoveMenu();
    this.announce(`${this.sel.ids.size} selected`);
  }

  /** Selected ids in screen order. */
  selection() {
    if (!this.sel.ids.size) return [];
    const ordered = deriveRows(this.view).flatMap((r) => this.visibleIds(r.key));
    return selectedInOrder(this.sel, ordered);
  }

  moveSelection(target) {
    const ids = this.selection();
    if (!ids.length) {
      this.announce("Nothing selected");
      return;
    }
    const msg = dropOp(ids, target, placesOf(this.view));
    this.sel = emptySelection();
    if (!msg) {
      this.render();
      return;
    }
    this.sendOp(msg, `Moved ${msg.ids.length} image${msg.ids.length === 1 ? "" : "s"} to ${targetLabel(this.view, target)}`);
    this.fillMoveMenu();
  }

  /**
   * A new concept from the selection: its row appears at once with a name box, and Python
   * gets one `create` (name and members together) when the name is confirmed, so making and
   * naming a concept is one step to undo. Escape in the box makes nothing.
   */
  createFromSelection() {
    if (this.draft) return;
    const ids = this.selection();
    this.sel = emptySelection();
    this.draft = { name: freshConceptName(this.base.concepts), members: ids };
    this.refreshView();
    this.startRename(DRAFT);
  }

  /** Send the concept being named (or drop it). */
  finishDraft(name) {
    const draft = this.draft;
    if (!draft) return;
    this.draft = null;
    if (name === null) {
      this.refreshView();
      this.announce("No concept made");
      return;
    }
    const n = draft.members.length;
    this.sendOp({ type: "op", op: "create", name, members: draft.members }, `Created concept “${name}” with ${n} image${n === 1 ? "" : "s"}`);
  }

  /** Merge asks for the merged concept's name (the first checked concept's name to start with). */
  openMergeDialog() {
    const order = this.base.concepts.map((c) => String(c.id));
    const ids = order.filter((k) => this.mergeChecked.has(k));
    if (ids.length < 2) return;
    const d = this.doc;
    const first = this.base.concepts.find((c) => String(c.id) === ids[0]);
    const input = h(d, "input", { className: "xn-merge-name", attrs: { type: "text", "aria-label": "Name of the merged concept", maxlength: "200" } });
    input.value = first ? first.name : "";
    const ok = h(d, "button", { className: "xn-btn xn-merge-ok", text: "Merge", attrs: { type: "button" } });
    const cancel = h(d, "button", { className: "xn-btn xn-merge-cancel", text: "Cancel", attrs: { type: "button" } });
    const names = ids.map((k) => targetLabel(this.base, k)).join(", ");
    const node = h(d, "div", {
      className: "xn-dialog xn-merge-dialog",
      attrs: { role: "dialog", "aria-label": "Merge concepts" },
      children: [h(d, "div", { className: "xn-panel-title", text: `Merge ${ids.length} concepts` }),
        h(d, "p", { className: "xn-dialog-text", text: names }),
        h(d, "label", { text: "Name ", children: [input] }), h(d, "div", { className: "xn-dialog-buttons", children: [ok, cancel] })],
    });
    const merge = () => {
      const name = input.value.trim() || (first ? first.name : "");
      this.mergeChecked.clear();
      this.closePanel();
      this.sendOp({ type: "op", op: "merge", concept_ids: ids, name }, `Merged ${ids.length} concepts into “${name}”`);
    };
    ok.addEventListener("click", merge);
    cancel.addEventListener("click", () => this.closePanel());
    input._xnKeydown = (e) => {
      if (e.key === "Enter") { e.preventDefault(); merge(); }
      else if (e.key === "Escape") { e.preventDefault(); this.closePanel(); }
    };
    input.addEventListener("keydown", (e) => { if (!e.cancelBubble) input._xnKeydown(e); });
    this.showPanel("merge", { node, close: () => node.remove() });
    input.focus();
    input.select();
  }

  // ---- rename ---------------------------------------------------------------------------

  startRename(key) {
    const parts = this.rowEls.get(key);
    if (!parts || parts.kind !== "concept" || parts.section.classList.contains("xn-editing")) return;
    const concept = this.view.concepts.find((c) => String(c.id) === key);
    if (!concept) return;
    const isDraft = key === DRAFT;
    const input = h(this.doc, "input", { className: "xn-name-input", attrs: { type: "text", "aria-label": "Concept name", maxlength: "200" } });
    input.value = concept.name;
    parts.section.classList.add("xn-editing");
    parts.name.replaceChildren(input);
    let done = false;
    const finish = (commit) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      parts.section.classList.remove("xn-editing");
      parts.name.textContent = concept.name;
      if (isDraft) {
        this.finishDraft(commit ? value || concept.name : null);
      } else if (commit && value && value !== concept.name) {
        this.sendOp({ type: "op", op: "rename", concept_id: concept.id, name: value }, `Renamed to “${value}”`);
      } else {
        this.render();
      }
      this.root.focus({ preventScroll: true });
    };
    input._xnKeydown = (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    };
    // without the window guard (a host that lets the event through), the input handles it itself
    input.addEventListener("keydown", (e) => { if (!e.cancelBubble) input._xnKeydown(e); });
    input.addEventListener("blur", () => finish(true));
    input.focus();
    input.select();
  }

  // ---- drag and drop --------------------------------------------------------------------

  dropZoneOf(target) {
    if (!target || !target.closest) return null;
    return target.closest(".xn-row, .xn-newzone, .xn-target");
  }

  onDragStart(e) {
    const thumb = this.thumbOf(e.target);
    if (!thumb || !e.dataTransfer) return;
    const ids = dragIds(this.selection(), thumb.dataset.id);
    writePayload(e.dataTransfer, ids);
    const badge = makeBadge(this.doc, ids.length);
    this.root.appendChild(badge);
    if (e.dataTransfer.setDragImage) e.dataTransfer.setDragImage(badge, -8, -8);
    setTimeout(() => badge.remove(), 0);
    this.root.classList.add("xn-dragging");
    // the pressed thumbnail took the focus; it will leave its row at the drop: give the focus to
    // the canvas now, so that the drop does not wait for a change of focus
    if (this.doc.activeElement === thumb) this.root.focus({ preventScroll: true });
  }

  onDragOver(e) {
    if (!isOurDrag(e.dataTransfer)) return;
    this.autoScroll(e);
    const zone = this.dropZoneOf(e.target);
    if (!zone) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("xn-over")) {
      this.clearDropHighlight(false);
      zone.classList.add("xn-over");
    }
  }

  /** While dragging near the top or bottom edge of a grid or of the rows, scroll it. */
  autoScroll(e) {
    const y = e.clientY;
    if (typeof y !== "number") return;
    const grid = e.target && e.target.closest ? e.target.closest(".xn-grid") : null;
    for (const box of [grid, this.rowsBox]) {
      if (!box || box.scrollHeight <= box.clientHeight) continue;
      const r = box.getBoundingClientRect();
      if (y < r.top - 1 || y > r.bottom + 1) continue;
      const before = box.scrollTop;
      if (y < r.top + EDGE_PX) box.scrollTop -= EDGE_STEP_PX;
      else if (y > r.bottom - EDGE_PX) box.scrollTop += EDGE_STEP_PX;
      if (box.scrollTop !== before) {
        this.schedule();
        return;
      }
    }
  }

  clearDropHighlight(ended = true) {
    for (const node of this.root.querySelectorAll(".xn-over")) node.classList.remove("xn-over");
    if (ended) this.root.classList.remove("xn-dragging");
  }

  onDrop(e) {
    const zone = this.dropZoneOf(e.target);
    const ids = zone ? readPayload(e.dataTransfer) : null;
    if (ids) {
      e.preventDefault();
      this.drop(ids, zone.dataset.row);
    }
    this.clearDropHighlight(); // after the drop: its render starts from clean styles (unfocusMovingThumb)
  }

  /** Drop `ids` on row `key` (or NEW_CONCEPT): the same path drag-and-drop takes. */
  drop(ids, key) {
    if (key === NEW_CONCEPT) {
      this.sel = { ids: new Set(ids), anchor: null };
      this.createFromSelection();
      return;
    }
    if (key === DRAFT) return;
    const msg = dropOp(ids, key, placesOf(this.base));
    this.sel = emptySelection();
    if (!msg) {
      this.paintSelection();
      return;
    }
    this.sendOp(msg, `Moved ${msg.ids.length} image${msg.ids.length === 1 ? "" : "s"} to ${targetLabel(this.view, key)}`);
  }

  // ---- rubber-band selection ------------------------------------------------------------

  /** A press on a grid's background starts a rubber band; Ctrl/Cmd/Shift add to the selection. */
  onMouseDown(e) {
    if (e.button !== 0 || this.thumbOf(e.target)) return;
    const grid = e.target.closest ? e.target.closest(".xn-grid") : null;
    if (!grid || grid.clientWidth && e.offsetX > grid.clientWidth) return; // the scrollbar
    const key = this.rowKeyOf(grid);
    const parts = this.rowEls.get(key);
    if (!parts) return;
    e.preventDefault();
    this.root.focus({ preventScroll: true });
    const vgrid = parts.vgrid;
    const [x0, y0] = vgrid.toContent(e.clientX, e.clientY);
    const base = e.ctrlKey || e.metaKey || e.shiftKey ? new Set(this.sel.ids) : new Set();
    const band = h(this.doc, "div", { className: "xn-band" });
    grid.appendChild(band);
    const move = (ev) => {
      const [x1, y1] = vgrid.toContent(ev.clientX, ev.clientY);
      Object.assign(band.style, { left: `${Math.min(x0, x1)}px`, top: `${Math.min(y0, y1)}px`, width: `${Math.abs(x1 - x0)}px`, height: `${Math.abs(y1 - y0)}px` });
      const ids = new Set(base);
      for (const id of vgrid.idsInRect(x0, y0, x1, y1)) ids.add(id);
      this.sel = { ids, anchor: this.sel.anchor };
      this.paintSelection();
    };
    const up = (ev) => {
      move(ev);
      band.remove();
      this.doc.removeEventListener("mousemove", move, true);
      this.doc.removeEventListener("mouseup", up, true);
      this.focusRow = key;
      this.fillMoveMenu();
      this.announce(`${this.sel.ids.size} selected`);
    };
    this.doc.addEventListener("mousemove", move, true);
    this.doc.addEventListener("mouseup", up, true);
  }

  // ---- keyboard -------------------------------------------------------------------------

  onKey(e) {
    const action = keyAction(e, { singleKey: this.model.get("single_key_shortcuts") !== false });
    if (!action) return;
    const focused = this.thumbOf(this.doc.activeElement);
    if (focused) this.focusRow = this.rowKeyOf(focused) || this.focusRow;
    let handled = true;
    switch (action.type) {
      case "moveTo": {
        const c = this.base.concepts[action.index];
        if (c) this.moveSelection(String(c.id));
        else this.announce(`There is no concept ${action.index + 1}`);
        break;
      }
      case "create": this.createFromSelection(); break;
      case "trash": this.moveSelection(TRASH); break;
      case "unlabel": this.moveSelection(UNLABELED); break;
      case "undo": this.sendOp({ type: "op", op: "undo" }, "Undone"); break;
      case "redo": this.sendOp({ type: "op", op: "redo" }, "Redone"); break;
      case "selectAll": this.selectRow(this.focusRow); break;
      case "rename": {
        let key = this.focusRow;
        if (!this.view.concepts.some((c) => String(c.id) === key)) {
          const first = this.selection()[0];
          key = first ? placesOf(this.view).get(first) : null;
        }
        if (key) this.startRename(key);
        break;
      }
      case "preview": {
        const id = focused ? focused.dataset.id : this.sel.anchor;
        if (this.panel && this.panel.kind === "preview") this.closePanel();
        else if (id) this.openPreview(id, false);
        break;
      }
      case "step": this.step(focused, action); break;
      case "row": this.stepRow(focused, action.delta); break;
      case "toggle":
        if (focused) this.selectFocused(focused.dataset.id, { ctrl: true });
        else handled = false;
        break;
      case "compare": this.openCompare(); break;
      case "suggest": this.suggestKey(); break;
      case "confirm": {
        const ids = proposedAmong(this.selection(), this.view.marks);
        if (ids.length) this.confirmIds(ids);
        else this.announce(this.sel.ids.size ? "None of the selected images is proposed" : "Nothing selected");
        break;
      }
      case "help": this.toggleHelp(); break;
      case "escape":
        if (this.panel) this.closePanel();
        else { this.sel = emptySelection(); this.paintSelection(); this.fillMoveMenu(); }
        break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  }

  // ---- assisted naming: suggestions, proposals, confirmation -----------------------------

  get singleKeys() {
    return this.model.get("single_key_shortcuts") !== false;
  }

  /** Concept ids Python has confirmed (a concept being created has no suggestions yet). */
  confirmedConceptIds() {
    const shown = new Set(this.view.concepts.map((c) => String(c.id)));
    return ((this.confirmed && this.confirmed.concepts) || []).map((c) => String(c.id)).filter((id) => shown.has(id));
  }

  /** S: in the strip, close it; else open it (or go into it) for the focused concept. */
  suggestKey() {
    const strip = this.strip;
    if (strip.isOpen && strip.node.contains(this.doc.activeElement)) {
      this.closeSuggestions(true);
      return;
    }
    const key = suggestionConcept({
      focusRow: this.focusRow, selected: this.selection(), where: placesOf(this.view), conceptIds: this.confirmedConceptIds(),
    });
    if (!key) {
      this.announce("Focus an image of a concept (or select one) to see suggestions for that concept");
      this.showNotice("Suggestions are for a concept: click an image in a concept's row (or its Suggest button), then press S.");
      return;
    }
    if (strip.concept === key) this.focusStrip();
    else this.openSuggestions(key);
  }

  /** A concept row's Suggest button: open the strip there, or close it. */
  toggleSuggestions(key) {
    if (this.strip.concept === key) this.closeSuggestions(true);
    else this.openSuggestions(key);
  }

  /** Open the strip under concept `key`, ask Python for suggestions and move the focus there. */
  openSuggestions(key) {
    if (!this.confirmedConceptIds().includes(String(key))) return;
    const concept = this.view.concepts.find((c) => String(c.id) === String(key));
    this.strip.open(String(key), concept.name);
    this.strip.wantFocus = true; // the first suggestion takes the focus when they arrive
    this.focusRow = String(key);
    this.requestSuggestions();
    this.render();
    this.focusStrip();
    this.announce(`Looking for suggestions for “${concept.name}”`);
  }

  focusStrip() {
    const strip = this.strip;
    if (!strip.isOpen) return;
    if (strip.shown.length) strip.focusIndex(0);
    else strip.node.focus({ preventScroll: true });
    if (strip.node.scrollIntoView) strip.node.scrollIntoView({ block: "nearest" });
  }

  /** Close the strip; with `refocus` (or when it had the focus) the focus goes to its concept's row. */
  closeSuggestions(refocus = false) {
    const strip = this.strip;
    if (!strip.isOpen) return;
    const key = strip.concept;
    const hadFocus = strip.node.contains(this.doc.activeElement);
    strip.close();
    this.render();
    if (refocus || hadFocus) {
      const ids = this.rowEls.has(key) ? this.visibleIds(key) : [];
      if (ids.length) this.focusThumb(ids[0]);
      else this.root.focus({ preventScroll: true });
    }
  }

  requestSuggestions() {
    const strip = this.strip;
    strip.req = ++this.suggestSeq;
    strip.status = "loading";
    this.model.send({ type: "suggest", req: strip.req, concept: strip.concept, k: SUGGEST_K });
  }

  /** Python's answer to `suggest`; answers to older requests (the naming changed since) are dropped. */
  receiveSuggestions(msg) {
    const strip = this.strip;
    if (!strip.isOpen || msg.req !== strip.req || String(msg.concept) !== strip.concept) return;
    strip.receive(Array.isArray(msg.ids) ? msg.ids : [], msg.error ? String(msg.error) : "",
      Array.isArray(msg.scores) ? msg.scores : []);
    this.renderStrip();
    if (strip.wantFocus) {
      strip.wantFocus = false;
      if (this.doc.activeElement === strip.node && strip.shown.length) strip.focusIndex(0);
    }
    const n = strip.shown.length;
    this.announce(msg.error ? String(msg.error) : `${plural(n, "suggestion")} for “${strip.name}”`);
  }

  /** The naming changed (a delta or a whole state from Python): ask again, or close if the concept is gone. */
  refreshSuggestions() {
    const strip = this.strip;
    if (!strip.isOpen) return;
    if (!this.confirmedConceptIds().includes(strip.concept)) {
      this.closeSuggestions(false);
      return;
    }
    this.requestSuggestions();
    this.renderStrip();
  }

  /** Put the strip under its concept's row and draw it (closed when the row is gone). */
  renderStrip() {
    const strip = this.strip;
    if (!strip.isOpen) return;
    const parts = this.rowEls.get(strip.concept);
    const concept = this.view.concepts.find((c) => String(c.id) === strip.concept);
    if (!parts || parts.kind !== "concept" || !concept) {
      strip.close(); // its row is gone (deleted, merged, undone): nothing to suggest for
      return;
    }
    if (strip.node.parentNode !== parts.section) parts.section.appendChild(strip.node);
    strip.name = concept.name;
    strip.render(this.view, this.byId);
  }

  /** Accept the selected suggestions (or the focused one), or all of them: one `accept`, one undo step. */
  acceptSuggestions(all) {
    const strip = this.strip;
    if (!strip.isOpen) return;
    const ids = all ? strip.shown.slice() : acceptIds(strip.shown, strip.selected, strip.focusedId());
    if (!ids.length) {
      this.announce(all ? "No suggestions to accept" : "Select suggestions first (click or Space)");
      return;
    }
    this.settleSuggestions("accept", ids, `Accepted ${plural(ids.length, "suggestion")} into “${strip.name}”`);
  }

  /** Reject suggestions: recorded by Python for this concept, never suggested to it again. */
  rejectSuggestions(ids) {
    const strip = this.strip;
    if (!strip.isOpen || !ids.length || ids.some((id) => !id)) return;
    this.settleSuggestions("reject", ids, `Rejected ${plural(ids.length, "suggestion")} for “${strip.name}”`);
  }

  /** Take `ids` out of the strip, send `op` (accept or reject) for its concept, keep the focus in it. */
  settleSuggestions(op, ids, message) {
    const strip = this.strip;
    strip.drop(ids);
    this.sendOp({ type: "op", op, concept_id: strip.concept, ids }, message);
    this.renderStrip();
    if (this.doc.activeElement === this.root || !this.root.contains(this.doc.activeElement)) this.focusStrip();
  }

  /** Keys with the focus in the strip (STRIP_SHORTCUTS); any other key acts as in the rows. */
  onStripKey(e) {
    const strip = this.strip;
    const action = stripKeyAction(e, { singleKey: this.singleKeys, onItem: Boolean(this.sugOf(e.target)) });
    if (!action) {
      this.onKey(e);
      return;
    }
    e.preventDefault();
    const id = strip.focusedId();
    const at = id ? strip.shown.indexOf(id) : -1;
    switch (action.type) {
      case "close": this.closeSuggestions(true); break;
      case "step": strip.focusIndex(stepIndex(at, action.delta, strip.shown.length)); break;
      case "first": strip.focusIndex(0); break;
      case "last": strip.focusIndex(strip.shown.length - 1); break;
      case "toggle":
        if (id) {
          strip.toggle(id);
          this.renderStrip();
          this.announce(`${strip.selected.size} selected`);
        }
        break;
      case "accept": this.acceptSuggestions(false); break;
      case "acceptAll": this.acceptSuggestions(true); break;
      case "reject": if (id) this.rejectSuggestions([id]); break;
      case "leave": {
        const key = strip.concept;
        const own = this.visibleIds(key);
        if (action.delta < 0 && own.length) this.focusThumb(own[0]);
        else this.stepRow(null, action.delta < 0 ? -1 : 1, key);
        break;
      }
      default: break;
    }
  }

  /** Confirm proposed members where they are: one `confirm`, one undo step. */
  confirmIds(ids) {
    if (!ids.length) return;
    this.sendOp({ type: "op", op: "confirm", ids }, `Confirmed ${plural(ids.length, "proposed member")}`);
  }

  /**
   * "Propose concepts": Python groups the unlabeled pool into concepts of about the size in the
   * box beside the button (at least MIN_CONCEPT_SIZE), one operation; a notice says what it made.
   */
  propose() {
    const typed = Math.round(Number(this.proposeSize.value));
    const size = Number.isFinite(typed) ? Math.max(MIN_CONCEPT_SIZE, typed) : PROPOSAL_SIZE;
    this.proposeSize.value = String(size);
    this.model.send({ type: "op", op: "propose", size });
    this.announce(`Proposing concepts of about ${size}…`);
  }

  // ---- panels ---------------------------------------------------------------------------

  /** Close the open panel; focus goes back where it was when the panel opened. */
  closePanel() {
    const panel = this.panel;
    if (!panel) return;
    this.panel = null;
    panel.close();
    if (panel.byHover) return;
    const active = this.doc.activeElement;
    if (!active || active === this.doc.body || !this.root.contains(active) || panel.node.contains(active)) {
      const back = panel.returnTo && panel.returnTo.isConnected && this.root.contains(panel.returnTo) ? panel.returnTo : this.root;
      back.focus({ preventScroll: true });
    }
  }

  showPanel(kind, built, byHover = false, anchor = null) {
    const active = this.doc.activeElement;
    const returnTo = this.panel ? this.panel.returnTo : (active && this.root.contains(active) ? active : this.root);
    if (this.panel) {
      const old = this.panel;
      this.panel = null;
      old.close();
    }
    if (!built.hasClose) {
      const closeBtn = h(this.doc, "button", { className: "xn-btn xn-panel-close", text: "×", attrs: { type: "button", title: "Close (Escape)" } });
      closeBtn.addEventListener("click", () => this.closePanel());
      built.node.prepend(closeBtn);
    }
    this.overlay.appendChild(built.node);
    built.node.classList.toggle("xn-by-hover", byHover); // a hover preview never blocks clicks
    this.panel = { kind, close: built.close, byHover, node: built.node, returnTo };
    this.placePanel(anchor);
  }

  /** Put the open panel below the canvas's top (toolbar, drop targets), beside `anchor` if given. */
  placePanel(anchor = null) {
    const top = this.root.querySelector(".xn-top");
    positionOverlay(this.overlay, {
      avoid: top ? top.getBoundingClientRect() : null,
      anchor: anchor && anchor.isConnected ? anchor.getBoundingClientRect() : null,
    });
  }

  /** Fill `img` with a thumbnail fetched on demand; returns the release function. */
  bind(img, kind, key, onMissing) {
    return bindThumb(this.loader, img, kind, key, onMissing);
  }

  onHover(e) {
    const thumb = this.thumbOf(e.target) || this.sugOf(e.target);
    if (!thumb || this.root.classList.contains("xn-dragging")) return;
    if (e.target.closest("button")) { // a suggestion's ✕: no preview over the strip while aiming at it
      clearTimeout(this.hoverTimer);
      return;
    }
    clearTimeout(this.hoverTimer);
    this.hoverTimer = setTimeout(() => {
      if (thumb.isConnected && (!this.panel || this.panel.byHover)) this.openPreview(thumb.dataset.id, true, thumb);
    }, HOVER_DELAY_MS);
  }

  /** The preview of activation `id`, beside its thumbnail `anchor` (or the rendered one) if any. */
  openPreview(id, byHover, anchor = this.cellOf(id)) {
    const act = this.byId.get(id);
    if (!act) return;
    this.showPanel("preview", buildPreview(this.doc, act, (...args) => this.bind(...args)), byHover, anchor);
  }

  openCompare() {
    const imageIds = compareImageIds(this.selection(), this.byId);
    if (!imageIds.length) {
      this.announce("Select up to 8 images to compare");
      return;
    }
    const missing = imageIds.filter((id) => !this.imagesById.has(id));
    this.compareWanted = null;
    if (missing.length) {
      // every x-feature of these images, significant or not: Python sends them on request
      this.compareWanted = { req: ++this.loader.seq, imageIds };
      this.model.send({ type: "image_rows", req: this.compareWanted.req, image_ids: missing });
      return;
    }
    this.showPanel("compare", buildCompare(this.doc, imageIds, this.imagesById, (...args) => this.bind(...args)));
  }

  /** Python's answer to "image_rows": keep it, and open the compare view that waited for it. */
  receiveImageRows(msg) {
    for (const [imageId, xfeatures] of Object.entries(msg.images || {})) {
      this.imagesById.set(imageId, { image_id: imageId, xfeatures });
    }
    const wanted = this.compareWanted;
    if (!wanted || wanted.req !== msg.req) return; // a later compare is waiting for its own answer
    this.compareWanted = null;
    for (const id of wanted.imageIds) if (!this.imagesById.has(id)) this.imagesById.set(id, { image_id: id, xfeatures: [] });
    this.showPanel("compare", buildCompare(this.doc, wanted.imageIds, this.imagesById, (...args) => this.bind(...args)));
  }

  /**
   * The shortcut list lives in a shadow root with its own reset styles, so a host's CSS (e.g.
   * JupyterLab's rules for dl/dt) cannot misalign keys and descriptions.
   */
  toggleHelp() {
    if (this.panel && this.panel.kind === "help") {
      this.closePanel();
      return;
    }
    const d = this.doc;
    const node = h(d, "div", { className: "xn-help", attrs: { role: "dialog", "aria-label": "Keyboard shortcuts" } });
    const shadow = node.attachShadow ? node.attachShadow({ mode: "open" }) : node;
    const style = h(d, "style", { text: HELP_CSS });
    const singleOn = this.model.get("single_key_shortcuts") !== false;
    const table = h(d, "div", { className: "list", attrs: { role: "table" } });
    for (const [keys, what, single] of SHORTCUTS) {
      const off = single && !singleOn;
      table.appendChild(h(d, "div", {
        className: `item${off ? " off" : ""}`,
        attrs: { role: "row" },
        children: [h(d, "span", { className: "keys", text: keys, attrs: { role: "cell" } }),
          h(d, "span", { className: "what", text: what + (off ? " (off)" : ""), attrs: { role: "cell" } })],
      }));
    }
    const close = h(d, "button", { className: "close", text: "×", attrs: { type: "button", title: "Close (Escape)", "aria-label": "Close" } });
    close.addEventListener("click", () => this.closePanel());
    // the strip's keys in the same grid, under a heading of their own, so both lists share their columns
    table.appendChild(h(d, "div", { className: "title sub", text: "With the focus on a suggestion (S opens them)", attrs: { role: "row" } }));
    for (const [keys, what, single] of STRIP_SHORTCUTS) {
      const off = single && !singleOn;
      table.appendChild(h(d, "div", {
        className: `item${off ? " off" : ""}`,
        attrs: { role: "row" },
        children: [h(d, "span", { className: "keys", text: keys, attrs: { role: "cell" } }),
          h(d, "span", { className: "what", text: what + (off ? " (off)" : ""), attrs: { role: "cell" } })],
      }));
    }
    shadow.append(style, close, h(d, "div", { className: "title", text: "Keyboard shortcuts" }), table,
      h(d, "p", { className: "note", text: "Drag thumbnails onto a row or onto a target above the rows, or use “Move to…”. Click selects, Ctrl/Cmd-click adds, Shift-click selects a range; drag on the background between thumbnails to select with a rubber band." }));
    this.showPanel("help", { node, close: () => node.remove(), hasClose: true });
  }

  announce(text) {
    this.live.textContent = text;
  }

  destroy() {
    this.destroyed = true;
    for (const [event, fn] of this.handlers) this.model.off(event, fn);
    this.win.removeEventListener("keydown", this.keyGuard, true);
    this.doc.removeEventListener("scroll", this.onScroll, { capture: true });
    this.win.removeEventListener("resize", this.onScroll);
    if (this.resizeObserver) this.resizeObserver.disconnect();
    clearTimeout(this.hoverTimer);
    clearTimeout(this.noticeTimer);
    this.closePanel();
    this.strip.close();
    for (const parts of this.rowEls.values()) parts.vgrid.clear();
    this.loader.dispose();
    this.cache.dispose();
    this.root.remove();
  }
}

// Styles of the help panel's shadow root: everything reset, nothing inherited from the host.
const HELP_CSS = `
:host { all: initial; display: block; position: relative; box-sizing: border-box; font: 13px/1.4 system-ui, sans-serif;
  color: var(--xn-fg, #222); background: var(--xn-bg, #fff); border: 1px solid var(--xn-border, #ccc); border-radius: 6px;
  padding: 30px 12px 10px; box-shadow: 0 4px 16px rgba(0, 0, 0, 0.25); max-width: 640px; }
* { box-sizing: border-box; margin: 0; padding: 0; }
.title { font-weight: 600; margin-bottom: 6px; }
.title.sub { grid-column: 1 / -1; margin: 8px 0 2px; }
.list { display: grid; grid-template-columns: max-content 1fr; column-gap: 14px; row-gap: 3px; }
.item { display: contents; }
.keys { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
.off .keys { text-decoration: line-through; }
.note { margin-top: 8px; color: var(--xn-muted, #666); }
.close { position: absolute; right: 6px; top: 6px; font: inherit; padding: 0 8px; border: 1px solid var(--xn-border, #ccc);
  border-radius: 3px; background: var(--xn-bg2, #f3f3f3); color: inherit; cursor: pointer; }
`;

/** Create the canvas in `el` and subscribe it to the model; returns the cleanup function. */
export function mount({ model, el, measure, cacheSize }) {
  const canvas = new Canvas({ model, el, measure, cacheSize });
  canvas.listen("base_state", () => canvas.receiveState());
  canvas.listen("error", () => canvas.onError());
  canvas.listen("single_key_shortcuts", () => { canvas.keysBox.checked = canvas.model.get("single_key_shortcuts") !== false; });
  canvas.listen("thumb_size", () => canvas.renderHeader());
  canvas.listen("category", () => canvas.renderHeader());
  canvas.listen("annotator", () => canvas.renderHeader());
  canvas.listen("table", () => { canvas.loadData(); canvas.render(); });
  const onCustom = (msg, buffers) => {
    if (msg && msg.type === "delta") canvas.receiveDelta(msg);
    else if (msg && msg.type === "image_rows") canvas.receiveImageRows(msg);
    else if (msg && msg.type === "suggestions") canvas.receiveSuggestions(msg);
    else if (msg && msg.type === "notice") canvas.showNotice(msg.text);
    else canvas.loader.receive(msg, buffers);
  };
  model.on("msg:custom", onCustom);
  canvas.handlers.push(["msg:custom", onCustom]);
  // The synced base_state may predate changes sent as deltas before this view existed.
  model.send({ type: "resync", version: canvas.confirmed ? canvas.confirmed.version : -1 });
  return { canvas, cleanup: () => canvas.destroy() };
}

export { DRAG_MIME, DRAFT };
