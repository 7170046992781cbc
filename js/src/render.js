// The naming canvas: builds the DOM from the model, keeps it in step with the synced state,
// and turns clicks, drags and keys into protocol operations (docs/widget-protocol.md).
// Thumbnail elements are created once per activation and moved between rows, so a state
// change touches only the rows that changed.

import { h } from "./dom.js";
import {
  UNLABELED, TRASH, MIN_CONCEPT_SIZE, emptyState, deriveRows, locate, progressText, applyOp,
  arrangePool, SORTS, xfeaturesOf, targetLabel,
} from "./state.js";
import { emptySelection, clickSelect, selectAll, pruneSelection, selectedInOrder } from "./selection.js";
import { DRAG_MIME, NEW_CONCEPT, dragIds, writePayload, readPayload, isOurDrag, dropOp, freshConceptName, makeBadge } from "./drop.js";
import { keyAction, SHORTCUTS } from "./keyboard.js";
import { ThumbStore, LazyImages } from "./thumbs.js";
import { buildPreview } from "./preview.js";
import { buildCompare, compareImageIds, MAX_COMPARE } from "./compare.js";

const HOVER_DELAY_MS = 450;

export class Canvas {
  /**
   * `model` is the anywidget model (get/set/save_changes/send/on/off); `el` the output element.
   * `Observer` and `urlApi` are injectable for tests.
   */
  constructor({ model, el, Observer = globalThis.IntersectionObserver, urlApi = globalThis.URL }) {
    this.model = model;
    this.el = el;
    this.doc = el.ownerDocument;
    this.urlApi = urlApi;
    this.lazy = new LazyImages({ Observer });
    this.view = emptyState();
    this.sel = emptySelection();
    this.poolOpts = { sort: "display", xfeature: null, outcome: "all" };
    this.rowEls = new Map(); // row key -> {section, grid, ...}
    this.rowIds = new Map(); // row key -> ids currently laid out
    this.thumbEls = new Map(); // activation id -> element
    this.mergeChecked = new Set();
    this.focusRow = UNLABELED;
    this.knownConcepts = new Set();
    this.renameNextNew = false;
    this.panel = null; // {kind, close}
    this.hoverTimer = null;
    this.pendingCount = 0;
    this.handlers = [];
    this.build();
    this.loadData();
    this.receiveState();
  }

  // ---- model wiring -------------------------------------------------------------------

  listen(name, fn) {
    this.model.on(`change:${name}`, fn);
    this.handlers.push([`change:${name}`, fn]);
  }

  /** Read the activations and thumbnails (sent once) and build one element per activation. */
  loadData() {
    if (this.heatStore) this.heatStore.dispose();
    if (this.imageStore) this.imageStore.dispose();
    for (const node of this.thumbEls.values()) this.detachThumb(node);
    this.thumbEls.clear();
    this.rowIds.clear();
    const opts = { urlApi: this.urlApi };
    this.heatStore = new ThumbStore(this.model.get("thumbnails"), this.model.get("thumb_offsets") || [], opts);
    this.imageStore = new ThumbStore(this.model.get("image_thumbnails"), this.model.get("image_thumb_offsets") || [], opts);
    this.activations = this.model.get("activations") || [];
    this.byId = new Map(this.activations.map((a) => [String(a.id), a]));
    this.order = new Map(this.activations.map((a, i) => [String(a.id), i]));
    this.imagesById = new Map((this.model.get("images") || []).map((im) => [String(im.image_id), im]));
    this.fillXfeatureFilter();
    this.renderHeader();
  }

  /** Replace the local view with Python's state (the source of truth). */
  receiveState() {
    const state = this.model.get("state") || emptyState();
    this.pendingCount = 0;
    const before = this.knownConcepts;
    this.view = state;
    this.root.dataset.version = String(state.version ?? 0); // which Python state is on screen
    this.knownConcepts = new Set(state.concepts.map((c) => String(c.id)));
    this.render();
    if (this.renameNextNew) {
      const fresh = state.concepts.filter((c) => !before.has(String(c.id)));
      if (fresh.length) {
        this.renameNextNew = false;
        this.startRename(String(fresh[fresh.length - 1].id));
      }
    }
  }

  /** Send an operation to Python and show its expected result at once. */
  sendOp(msg, announce) {
    this.model.send(msg);
    const next = applyOp(this.view, msg, `pending-${++this.pendingCount}`, this.order);
    if (next !== this.view) {
      this.view = next;
      this.render();
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
    this.mergeBtn = button("Merge rows", "Merge the checked concept rows", () => this.mergeChecked_(), "xn-merge");
    this.compareBtn = button("Compare", "Compare the selected images (C)", () => this.openCompare(), "xn-compare-btn");
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
      children: [this.undoBtn, this.redoBtn, this.moveMenu, this.newBtn, this.mergeBtn, this.compareBtn,
        this.sortMenu, this.xMenu, this.outcomeMenu, keysLabel, this.helpBtn],
    });

    this.errorText = h(d, "span", { className: "xn-error-text" });
    const dismiss = button("×", "Dismiss", () => this.dismissError(), "xn-error-close");
    this.errorBox = h(d, "div", { className: "xn-error", attrs: { role: "alert" }, children: [this.errorText, dismiss] });
    this.errorBox.hidden = true;
    this.live = h(d, "div", { className: "xn-live", attrs: { "aria-live": "polite", role: "status" } });

    this.rowsBox = h(d, "div", { className: "xn-rows" });
    this.newZone = h(d, "div", {
      className: "xn-newzone",
      text: "+ Drop images here (or click) to make a new concept from the selection",
      attrs: { "data-row": NEW_CONCEPT, role: "button", tabindex: "0" },
    });
    this.newZone.addEventListener("click", () => this.createFromSelection());
    this.overlay = h(d, "div", { className: "xn-overlay" });
    this.root.append(header, toolbar, this.errorBox, this.live, this.rowsBox, this.overlay);
    this.el.appendChild(this.root);
    this.wireEvents();
  }

  wireEvents() {
    const rows = this.root;
    rows.addEventListener("click", (e) => this.onClick(e));
    rows.addEventListener("dblclick", (e) => {
      const name = e.target.closest && e.target.closest(".xn-name");
      if (name) this.startRename(name.closest(".xn-row").dataset.row);
    });
    rows.addEventListener("dragstart", (e) => this.onDragStart(e));
    rows.addEventListener("dragend", () => this.clearDropHighlight());
    rows.addEventListener("dragover", (e) => this.onDragOver(e));
    rows.addEventListener("dragleave", (e) => {
      const zone = this.dropZoneOf(e.target);
      if (zone && !zone.contains(e.relatedTarget)) zone.classList.remove("xn-over");
    });
    rows.addEventListener("drop", (e) => this.onDrop(e));
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    rows.addEventListener("mouseover", (e) => this.onHover(e));
    rows.addEventListener("mouseout", (e) => {
      const t = this.thumbOf(e.target);
      if (t && !t.contains(e.relatedTarget)) {
        clearTimeout(this.hoverTimer);
        if (this.panel && this.panel.kind === "preview" && this.panel.byHover) this.closePanel();
      }
    });
  }

  // ---- rendering ----------------------------------------------------------------------

  renderHeader() {
    const category = this.model.get("category") || "";
    const annotator = this.model.get("annotator") || "";
    this.title.textContent = `Naming “${category}”` + (annotator ? ` — ${annotator}` : "");
    this.root.style.setProperty("--xn-thumb", `${Number(this.model.get("thumb_size")) || 96}px`);
    this.keysBox.checked = this.model.get("single_key_shortcuts") !== false;
    this.renderError();
  }

  renderError() {
    const msg = this.model.get("error") || "";
    this.errorText.textContent = msg;
    this.errorBox.hidden = msg === "";
  }

  /** Python refused an operation: drop any optimistic change and show its message. */
  onError() {
    this.renderError();
    if (this.model.get("error")) this.receiveState();
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
    const row = deriveRows(this.view).find((r) => r.key === key);
    if (!row) return [];
    return key === UNLABELED ? arrangePool(row.ids, this.byId, this.poolOpts) : row.ids;
  }

  render() {
    // moving a focused thumbnail between rows blurs it; keep keyboard focus in the canvas
    const hadFocus = this.root.contains(this.doc.activeElement);
    const rows = deriveRows(this.view);
    const keep = new Set(rows.map((r) => r.key));
    for (const [key, parts] of this.rowEls) {
      if (!keep.has(key)) {
        parts.section.remove();
        this.rowEls.delete(key);
        this.rowIds.delete(key);
        this.mergeChecked.delete(key);
      }
    }
    const shown = new Set();
    let previous = null;
    for (const row of rows) {
      const parts = this.rowEls.get(row.key) || this.makeRow(row);
      this.updateRowHeader(parts, row);
      const ids = row.key === UNLABELED ? arrangePool(row.ids, this.byId, this.poolOpts) : row.ids;
      for (const id of ids) shown.add(id);
      this.layoutRow(row.key, parts.grid, ids);
      // keep sections in display order: pool, concepts, trash
      const want = previous ? previous.nextSibling : this.rowsBox.firstChild;
      if (want !== parts.section) this.rowsBox.insertBefore(parts.section, want);
      previous = parts.section;
      // the new-concept drop zone sits right under the pool: the shortest drag
      if (row.key === UNLABELED) {
        if (previous.nextSibling !== this.newZone) this.rowsBox.insertBefore(this.newZone, previous.nextSibling);
        previous = this.newZone;
      }
    }
    // thumbnails no longer in any shown row (filtered out) leave the DOM and give back URLs
    for (const [id, node] of this.thumbEls) {
      if (!shown.has(id) && (node.parentNode || node._observed)) this.detachThumb(node);
    }
    this.sel = pruneSelection(this.sel, shown);
    this.paintSelection();
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

  makeRow(row) {
    const d = this.doc;
    const section = h(d, "section", { className: `xn-row xn-row-${row.kind}`, attrs: { "data-row": row.key } });
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
      head.append(check, index, name, rename, count, warn, selAll, del);
      Object.assign(parts, { check, index });
    } else {
      head.append(name, count, warn, selAll);
    }
    const grid = h(d, "div", {
      className: "xn-grid",
      attrs: { role: "listbox", "aria-multiselectable": "true", "aria-label": row.name },
    });
    section.append(head, grid);
    parts.grid = grid;
    this.rowEls.set(row.key, parts);
    return parts;
  }

  updateRowHeader(parts, row) {
    if (!parts.section.classList.contains("xn-editing")) parts.name.textContent = row.name;
    parts.grid.setAttribute("aria-label", row.name);
    const visible = row.key === UNLABELED ? arrangePool(row.ids, this.byId, this.poolOpts).length : row.ids.length;
    parts.count.textContent = visible === row.ids.length ? `${row.ids.length}` : `${visible} shown of ${row.ids.length}`;
    parts.warn.hidden = !row.small;
    parts.section.classList.toggle("xn-small", row.small);
    if (parts.index) parts.index.textContent = row.index < 9 ? `${row.index + 1}` : "";
    if (parts.check) parts.check.checked = this.mergeChecked.has(row.key);
  }

  /**
   * Put the thumbnails of `ids` into `grid` in order, touching as few nodes as possible: a row
   * that only lost or gained thumbnails at the end keeps every other node in place (no
   * re-layout of 2,000 nodes, no lost object URLs); any other change rebuilds the row.
   */
  layoutRow(key, grid, ids) {
    const old = this.rowIds.get(key);
    if (old && old.length === ids.length && old.every((id, i) => id === ids[i])) return;
    this.rowIds.set(key, ids);
    const nodes = ids.map((id) => this.thumbFor(id));
    const wanted = new Set(nodes);
    const current = [...grid.children];
    let j = 0;
    let inOrder = true;
    for (const child of current) {
      if (j < nodes.length && child === nodes[j]) j += 1;
      else if (wanted.has(child)) { inOrder = false; break; }
    }
    if (inOrder) {
      for (const child of current) if (!wanted.has(child)) child.remove();
      if (j < nodes.length) {
        const frag = this.doc.createDocumentFragment();
        for (let i = j; i < nodes.length; i += 1) frag.appendChild(nodes[i]);
        grid.appendChild(frag);
      }
      return;
    }
    const frag = this.doc.createDocumentFragment();
    for (const node of nodes) frag.appendChild(node);
    grid.replaceChildren(frag);
  }

  /** The element for activation `id`, created on first use. */
  thumbFor(id) {
    let node = this.thumbEls.get(id);
    if (node) {
      if (!node.isConnected || !node.parentNode) this.attachImage(node);
      return node;
    }
    const d = this.doc;
    const a = this.byId.get(id) || { id, xfeature: "?", thumb: -1 };
    const outcome = a.correct === true ? "true positive" : a.correct === false ? "false positive" : "";
    node = h(d, "div", {
      className: `xn-thumb${a.correct === false ? " xn-fp" : ""}`,
      attrs: {
        draggable: "true",
        role: "option",
        tabindex: "-1",
        "aria-selected": "false",
        "data-id": id,
        title: `${a.image_id ?? id} · x${a.xfeature} · contribution ${Number(a.contribution).toFixed(2)}${outcome ? ` · ${outcome}` : ""}`,
      },
    });
    if (this.heatStore.has(a.thumb)) {
      const img = h(d, "img", { attrs: { alt: `x-feature ${a.xfeature} of ${a.image_id ?? id}`, draggable: "false", "data-thumb": a.thumb, decoding: "async" } });
      node.appendChild(img);
    } else {
      node.appendChild(h(d, "div", { className: "xn-placeholder", text: `x${a.xfeature}` }));
    }
    node.appendChild(h(d, "span", { className: "xn-tag", text: `x${a.xfeature}` }));
    this.thumbEls.set(id, node);
    this.attachImage(node);
    return node;
  }

  attachImage(node) {
    const img = node.querySelector("img");
    if (img && !node._observed) {
      node._observed = true;
      this.lazy.observe(img, this.heatStore);
    }
  }

  detachThumb(node) {
    const img = node.querySelector("img");
    if (img && node._observed) {
      node._observed = false;
      this.lazy.unobserve(img);
    }
    node.remove();
  }

  paintSelection() {
    const prev = this.painted || new Set();
    for (const id of prev) {
      if (!this.sel.ids.has(id)) {
        const node = this.thumbEls.get(id);
        if (node) { node.classList.remove("xn-selected"); node.setAttribute("aria-selected", "false"); }
      }
    }
    for (const id of this.sel.ids) {
      if (!prev.has(id)) {
        const node = this.thumbEls.get(id);
        if (node) { node.classList.add("xn-selected"); node.setAttribute("aria-selected", "true"); }
      }
    }
    this.painted = new Set(this.sel.ids);
    const n = this.sel.ids.size;
    this.compareBtn.disabled = n === 0;
    this.compareBtn.textContent = n ? `Compare (${Math.min(n, MAX_COMPARE)})` : "Compare";
  }

  fillMoveMenu() {
    const d = this.doc;
    const opts = [["", `Move ${this.sel.ids.size} selected to…`], [UNLABELED, "Unlabeled"]];
    this.view.concepts.forEach((c, i) => opts.push([String(c.id), `${i < 9 ? `${i + 1}: ` : ""}${c.name}`]));
    opts.push([TRASH, "Trash"], [NEW_CONCEPT, "New concept"]);
    this.moveMenu.replaceChildren(...opts.map(([value, text]) => h(d, "option", { text, attrs: { value } })));
    this.moveMenu.value = "";
    this.moveMenu.disabled = this.sel.ids.size === 0;
  }

  // ---- selection and clicks -----------------------------------------------------------

  thumbOf(target) {
    return target && target.closest ? target.closest(".xn-thumb") : null;
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
      else if (kind === "delete") this.sendOp({ type: "op", op: "delete", concept_id: key }, `Deleted ${targetLabel(this.view, key)}; its images are back in Unlabeled`);
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

  /** Focus a thumbnail (scrolling it into view) and remember its row. */
  focusThumb(id) {
    const node = this.thumbEls.get(id);
    if (!node || !node.isConnected) return;
    this.focusRow = this.rowKeyOf(node) || this.focusRow;
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
  stepRow(focused, delta) {
    const keys = deriveRows(this.view).map((r) => r.key).filter((k) => this.visibleIds(k).length);
    if (!keys.length) return;
    const current = focused ? this.rowKeyOf(focused) : null;
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
    const ordered = deriveRows(this.view).flatMap((r) => (r.key === UNLABELED ? this.visibleIds(UNLABELED) : r.ids));
    return selectedInOrder(this.sel, ordered);
  }

  moveSelection(target) {
    const ids = this.selection();
    if (!ids.length) {
      this.announce("Nothing selected");
      return;
    }
    const msg = dropOp(ids, target, locate(this.view));
    this.sel = emptySelection();
    if (!msg) {
      this.render();
      return;
    }
    this.sendOp(msg, `Moved ${msg.ids.length} image${msg.ids.length === 1 ? "" : "s"} to ${targetLabel(this.view, target)}`);
    this.fillMoveMenu();
  }

  createFromSelection() {
    const ids = this.selection();
    const name = freshConceptName(this.view.concepts);
    this.sel = emptySelection();
    this.renameNextNew = true;
    this.sendOp({ type: "op", op: "create", name, members: ids }, `Created concept “${name}” with ${ids.length} image${ids.length === 1 ? "" : "s"}`);
  }

  mergeChecked_() {
    const order = this.view.concepts.map((c) => String(c.id));
    const ids = order.filter((k) => this.mergeChecked.has(k));
    if (ids.length < 2) return;
    this.mergeChecked.clear();
    this.sendOp({ type: "op", op: "merge", concept_ids: ids }, `Merged ${ids.length} concepts`);
  }

  // ---- rename ---------------------------------------------------------------------------

  startRename(key) {
    const parts = this.rowEls.get(key);
    if (!parts || parts.kind !== "concept" || parts.section.classList.contains("xn-editing")) return;
    const concept = this.view.concepts.find((c) => String(c.id) === key);
    if (!concept) return;
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
      if (commit && value && value !== concept.name) {
        this.sendOp({ type: "op", op: "rename", concept_id: concept.id, name: value }, `Renamed to “${value}”`);
      } else {
        this.render();
      }
      this.root.focus({ preventScroll: true });
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    input.focus();
    input.select();
  }

  // ---- drag and drop --------------------------------------------------------------------

  dropZoneOf(target) {
    if (!target || !target.closest) return null;
    return target.closest(".xn-row, .xn-newzone");
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
  }

  onDragOver(e) {
    const zone = this.dropZoneOf(e.target);
    if (!zone || !isOurDrag(e.dataTransfer)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("xn-over")) {
      this.clearDropHighlight();
      zone.classList.add("xn-over");
    }
  }

  clearDropHighlight() {
    for (const node of this.root.querySelectorAll(".xn-over")) node.classList.remove("xn-over");
    this.root.classList.remove("xn-dragging");
  }

  onDrop(e) {
    const zone = this.dropZoneOf(e.target);
    this.clearDropHighlight();
    if (!zone) return;
    const ids = readPayload(e.dataTransfer);
    if (!ids) return;
    e.preventDefault();
    this.drop(ids, zone.dataset.row);
  }

  /** Drop `ids` on row `key` (or NEW_CONCEPT): the same path drag-and-drop takes. */
  drop(ids, key) {
    if (key === NEW_CONCEPT) {
      this.sel = { ids: new Set(ids), anchor: null };
      this.createFromSelection();
      return;
    }
    const msg = dropOp(ids, key, locate(this.view));
    this.sel = emptySelection();
    if (!msg) {
      this.paintSelection();
      return;
    }
    this.sendOp(msg, `Moved ${msg.ids.length} image${msg.ids.length === 1 ? "" : "s"} to ${targetLabel(this.view, key)}`);
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
        const c = this.view.concepts[action.index];
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
          key = first ? locate(this.view).get(first) : null;
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
      case "help": this.toggleHelp(); break;
      case "escape":
        if (this.panel) this.closePanel();
        else { this.sel = emptySelection(); this.paintSelection(); this.fillMoveMenu(); }
        break;
      default: handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  // ---- panels ---------------------------------------------------------------------------

  closePanel() {
    if (this.panel) this.panel.close();
    this.panel = null;
  }

  showPanel(kind, built, byHover = false) {
    this.closePanel();
    const closeBtn = h(this.doc, "button", { className: "xn-btn xn-panel-close", text: "×", attrs: { type: "button", title: "Close (Escape)" } });
    closeBtn.addEventListener("click", () => this.closePanel());
    built.node.prepend(closeBtn);
    this.overlay.appendChild(built.node);
    built.node.classList.toggle("xn-by-hover", byHover); // a hover preview never blocks clicks
    this.panel = { kind, close: built.close, byHover, node: built.node };
  }

  onHover(e) {
    const thumb = this.thumbOf(e.target);
    if (!thumb || this.root.classList.contains("xn-dragging")) return;
    clearTimeout(this.hoverTimer);
    this.hoverTimer = setTimeout(() => {
      if (!this.panel || this.panel.byHover) this.openPreview(thumb.dataset.id, true);
    }, HOVER_DELAY_MS);
  }

  openPreview(id, byHover) {
    const act = this.byId.get(id);
    if (!act) return;
    const image = this.imagesById.get(String(act.image_id)) || null;
    this.showPanel("preview", buildPreview(this.doc, act, image, this.heatStore, this.imageStore), byHover);
  }

  openCompare() {
    const imageIds = compareImageIds(this.selection(), this.byId);
    if (!imageIds.length) {
      this.announce("Select up to 8 images to compare");
      return;
    }
    this.showPanel("compare", buildCompare(this.doc, imageIds, this.imagesById, this.heatStore, this.imageStore));
  }

  toggleHelp() {
    if (this.panel && this.panel.kind === "help") {
      this.closePanel();
      return;
    }
    const d = this.doc;
    const list = h(d, "dl", { className: "xn-help-list" });
    const singleOn = this.model.get("single_key_shortcuts") !== false;
    for (const [keys, what, single] of SHORTCUTS) {
      list.append(h(d, "dt", { text: keys, className: single && !singleOn ? "xn-off" : "" }), h(d, "dd", { text: what + (single && !singleOn ? " (off)" : "") }));
    }
    const node = h(d, "div", {
      className: "xn-help",
      attrs: { role: "dialog", "aria-label": "Keyboard shortcuts" },
      children: [h(d, "div", { className: "xn-panel-title", text: "Keyboard shortcuts" }), list,
        h(d, "p", { text: "Drag thumbnails onto a row, or use “Move to…”. Click selects, Ctrl/Cmd-click adds, Shift-click selects a range." })],
    });
    this.showPanel("help", { node, close: () => node.remove() });
  }

  announce(text) {
    this.live.textContent = text;
  }

  destroy() {
    for (const [event, fn] of this.handlers) this.model.off(event, fn);
    clearTimeout(this.hoverTimer);
    this.closePanel();
    this.lazy.disconnect();
    this.heatStore.dispose();
    this.imageStore.dispose();
    this.root.remove();
  }
}

/** Create the canvas in `el` and subscribe it to the model; returns the cleanup function. */
export function mount({ model, el, Observer, urlApi }) {
  const canvas = new Canvas({ model, el, Observer, urlApi });
  canvas.listen("state", () => canvas.receiveState());
  canvas.listen("error", () => canvas.onError());
  canvas.listen("single_key_shortcuts", () => { canvas.keysBox.checked = canvas.model.get("single_key_shortcuts") !== false; });
  canvas.listen("thumb_size", () => canvas.renderHeader());
  canvas.listen("category", () => canvas.renderHeader());
  canvas.listen("annotator", () => canvas.renderHeader());
  for (const name of ["activations", "thumbnails", "thumb_offsets", "images", "image_thumbnails", "image_thumb_offsets"]) {
    canvas.listen(name, () => { canvas.loadData(); canvas.render(); });
  }
  return { canvas, cleanup: () => canvas.destroy() };
}

export { DRAG_MIME };
