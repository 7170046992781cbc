// Assisted naming in the canvas (docs/widget-protocol.md, "Suggestions"): the strip of
// activations Python suggests for one concept, shown under that concept's row, and the pure
// rules behind it (which concept, what is still shown, what Accept takes, proposed members).
// The strip asks for nothing itself: the canvas sends `suggest` and the operations.

import { h } from "./dom.js";
import { HEAT, bindThumb } from "./thumbs.js";

/** How many suggestions the strip asks for at a time. */
export const SUGGEST_K = 20;

/**
 * The concept to suggest for: the focused row when it is a concept, else the concept holding
 * the first selected image; null when neither is one. `where` maps id -> row key, `conceptIds`
 * the concepts Python has confirmed (a concept being created has no suggestions yet).
 */
export function suggestionConcept({ focusRow, selected = [], where, conceptIds }) {
  const known = new Set(conceptIds.map(String));
  if (focusRow != null && known.has(String(focusRow))) return String(focusRow);
  for (const id of selected) {
    const key = where.get(id);
    if (key != null && known.has(String(key))) return String(key);
  }
  return null;
}

/** Python's suggestions, in its order, less those no longer in the unlabeled pool (`unlabeled`: a Set). */
export function shownSuggestions(ids, unlabeled) {
  return ids.filter((id) => unlabeled.has(id));
}

/** What Accept takes: the selected suggestions in strip order, or the focused one when none is selected. */
export function acceptIds(shown, selected, focused = null) {
  const picked = shown.filter((id) => selected.has(id));
  if (picked.length) return picked;
  return focused != null && shown.includes(focused) ? [focused] : [];
}

/** The index after a step of `delta` from `i` among `n` items (clamped; -1 when there are none). */
export function stepIndex(i, delta, n) {
  if (n <= 0) return -1;
  if (i < 0) return delta < 0 ? n - 1 : 0;
  return Math.max(0, Math.min(n - 1, i + delta));
}

/** Of `ids`, those a proposal or a transfer placed and no person has confirmed yet (`marks`: {id: [via, proposed]}). */
export function proposedAmong(ids, marks) {
  const m = marks || {};
  return ids.filter((id) => Boolean(m[id] && m[id][1]));
}

/** The proposed members of concept `key` in `state`, in display order. */
export function proposedMembers(state, key) {
  const concept = (state.concepts || []).find((c) => String(c.id) === String(key));
  return concept ? proposedAmong(concept.members, state.marks) : [];
}

const UNLABELED_SETS = new WeakMap(); // a state's unlabeled list -> Set, built once per list

/** The unlabeled pool of `state` as a Set (cached: states are never mutated). */
export function unlabeledSet(state) {
  const list = state.unlabeled || [];
  let set = UNLABELED_SETS.get(list);
  if (!set) {
    set = new Set(list);
    UNLABELED_SETS.set(list, set);
  }
  return set;
}

/**
 * The strip's DOM and its own small state: which concept, Python's last answer, which
 * suggestions are selected. `loader` fetches thumbnails (thumbs.js); buttons carry
 * `data-action` (sug-accept, sug-accept-all, sug-close, sug-reject) for the canvas to handle.
 */
export class SuggestionStrip {
  constructor({ doc, loader }) {
    this.doc = doc;
    this.loader = loader;
    this.concept = null;
    this.name = "";
    this.ids = []; // Python's answer, minus what was accepted or rejected here since
    this.selected = new Set();
    this.status = "idle"; // "loading" (asked, no answer yet), "ready", "error"
    this.message = "";
    this.req = 0;
    this.items = new Map(); // id -> item node
    this.shown = [];
    const d = doc;
    this.title = h(d, "span", { className: "xn-sug-title" });
    this.statusText = h(d, "span", { className: "xn-sug-status", attrs: { "aria-live": "polite" } });
    const button = (text, action, title, cls = "") => h(d, "button", {
      className: `xn-btn ${cls}`, text, attrs: { type: "button", "data-action": action, title },
    });
    this.acceptBtn = button("Accept selected", "sug-accept", "Put the selected suggestions in this concept: one step to undo (Enter or A)", "xn-sug-accept");
    this.acceptAllBtn = button("Accept all", "sug-accept-all", "Put every suggestion shown in this concept: one step to undo (Shift+A)", "xn-sug-accept-all");
    this.closeBtn = button("×", "sug-close", "Close the suggestions (Escape)", "xn-sug-close");
    this.closeBtn.setAttribute("aria-label", "Close the suggestions");
    const head = h(d, "div", { className: "xn-sug-head", children: [this.title, this.statusText, this.acceptBtn, this.acceptAllBtn, this.closeBtn] });
    this.list = h(d, "div", { className: "xn-sug-list", attrs: { role: "listbox", "aria-multiselectable": "true" } });
    this.hint = h(d, "div", {
      className: "xn-sug-hint",
      text: "Green edge: likely · amber edge: doubtful · Click or Space selects · ✕ or R rejects (never suggested again) · Enter accepts the selected · Shift+A accepts all · Escape closes",
    });
    this.node = h(d, "div", { className: "xn-suggest", attrs: { role: "group", tabindex: "-1" }, children: [head, this.list, this.hint] });
  }

  get isOpen() {
    return this.concept !== null;
  }

  /** Show the strip for concept `key` (named `name`), empty until Python answers. */
  open(key, name) {
    if (this.concept !== key) {
      this.ids = [];
      this.selected = new Set();
    }
    this.concept = key;
    this.name = name;
    this.status = "loading";
    this.message = "";
  }

  close() {
    this.concept = null;
    this.ids = [];
    this.selected = new Set();
    this.status = "idle";
    this.clearItems();
    this.node.remove();
  }

  /** Python's answer to the latest request; `scores` (same order as `ids`) may be absent. */
  receive(ids, error, scores = []) {
    this.ids = error ? [] : ids.map(String);
    this.scores = new Map(this.ids.map((id, i) => [id, Number.isFinite(scores[i]) ? scores[i] : null]));
    this.status = error ? "error" : "ready";
    this.message = error || "";
    const keep = new Set(this.ids);
    for (const id of [...this.selected]) if (!keep.has(id)) this.selected.delete(id);
  }

  /** Take ids out of the strip at once (accepted or rejected here; Python's next answer follows). */
  drop(ids) {
    const gone = new Set(ids);
    this.ids = this.ids.filter((id) => !gone.has(id));
    for (const id of ids) this.selected.delete(id);
  }

  toggle(id) {
    if (this.selected.has(id)) this.selected.delete(id);
    else this.selected.add(id);
  }

  /** The focused suggestion's id, or null. */
  focusedId() {
    const active = this.doc.activeElement;
    const item = active && this.node.contains(active) && active.closest ? active.closest(".xn-sug") : null;
    return item ? item.dataset.id : null;
  }

  /** Focus suggestion `index` of those shown (clamped); the strip itself when none is shown. */
  focusIndex(index) {
    const id = this.shown[Math.max(0, Math.min(this.shown.length - 1, index))];
    const node = id === undefined ? this.node : this.items.get(id);
    node.focus({ preventScroll: true });
    if (node.scrollIntoView) node.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  /**
   * Draw the strip for `view` (the canvas's naming): suggestions no longer unlabeled are left
   * out; nodes of suggestions still shown are kept, so their thumbnails do not flash. A focused
   * suggestion that leaves hands the focus to the one now at its place.
   */
  render(view, byId) {
    if (!this.isOpen) return;
    const focusedBefore = this.focusedId();
    const focusAt = focusedBefore ? this.shown.indexOf(focusedBefore) : -1;
    this.shown = shownSuggestions(this.ids, unlabeledSet(view));
    const n = this.shown.length;
    const picked = this.shown.filter((id) => this.selected.has(id)).length;
    this.title.textContent = `Suggested for “${this.name}”`;
    this.list.setAttribute("aria-label", `Suggested for ${this.name}`);
    this.node.dataset.concept = this.concept;
    this.node.dataset.status = this.status;
    if (this.status === "loading" && !n) this.statusText.textContent = "looking for suggestions…";
    else if (this.status === "error") this.statusText.textContent = this.message;
    else if (!n) this.statusText.textContent = "no suggestions: nothing left in the unlabeled pool to suggest";
    else this.statusText.textContent = `${n} suggestion${n === 1 ? "" : "s"}${picked ? ` · ${picked} selected` : ""}${this.status === "loading" ? " · updating…" : ""}`;
    this.acceptBtn.textContent = picked ? `Accept selected (${picked})` : "Accept selected";
    this.acceptBtn.disabled = picked === 0;
    this.acceptAllBtn.textContent = n ? `Accept all (${n})` : "Accept all";
    this.acceptAllBtn.disabled = n === 0;
    const wanted = new Set(this.shown);
    for (const [id, node] of this.items) {
      if (!wanted.has(id)) {
        this.release(node);
        node.remove();
        this.items.delete(id);
      }
    }
    let previous = null;
    for (const id of this.shown) {
      let node = this.items.get(id);
      if (!node) {
        node = this.makeItem(id, byId.get(id));
        this.items.set(id, node);
      }
      const on = this.selected.has(id);
      node.classList.toggle("xn-selected", on);
      node.setAttribute("aria-selected", on ? "true" : "false");
      node._reject.title = `Reject: not “${this.name}” (R or Delete); never suggested for it again`;
      this.paintLikelihood(node, id);
      const want = previous ? previous.nextSibling : this.list.firstChild;
      if (want !== node) this.list.insertBefore(node, want);
      previous = node;
    }
    if (focusAt >= 0 && !this.items.has(focusedBefore)) this.focusIndex(focusAt);
  }

  /**
   * Mark a suggestion likely (score above 0: closer to this concept than to any other concept
   * or rejected activation) or doubtful (at or below 0), from Python's score.
   */
  paintLikelihood(node, id) {
    const score = this.scores ? this.scores.get(id) : null;
    const known = score !== null && score !== undefined;
    node.classList.toggle("xn-sug-likely", known && score > 0);
    node.classList.toggle("xn-sug-doubtful", known && score <= 0);
    const verdict = !known ? "" : score > 0
      ? ` · likely (score ${score.toFixed(2)}: closer to “${this.name}” than to any other concept or rejected one)`
      : ` · doubtful (score ${score.toFixed(2)}: as close to another concept or a rejected one): check it`;
    node.title = `${node._about}${verdict}`;
  }

  makeItem(id, a = {}) {
    const d = this.doc;
    const node = h(d, "div", {
      className: "xn-sug",
      attrs: { role: "option", tabindex: "-1", "aria-selected": "false", "data-id": id, title: `${a.image_id ?? id} · x${a.xfeature ?? "?"}` },
    });
    const img = h(d, "img", { attrs: { alt: `x-feature ${a.xfeature ?? "?"} of ${a.image_id ?? id}`, draggable: "false", decoding: "async" } });
    const placeholder = h(d, "div", { className: "xn-placeholder", text: `x${a.xfeature ?? "?"}` });
    placeholder.hidden = true;
    const tag = h(d, "span", { className: "xn-tag", text: `x${a.xfeature ?? "?"}` });
    const reject = h(d, "button", {
      className: "xn-sug-reject", text: "✕",
      attrs: { type: "button", tabindex: "-1", "data-action": "sug-reject", "aria-label": "Reject this suggestion" },
    });
    node.append(img, placeholder, tag, reject);
    node._reject = reject;
    node._about = `${a.image_id ?? id} · x${a.xfeature ?? "?"}`;
    node._release = bindThumb(this.loader, img, HEAT, id, () => {
      img.hidden = true;
      placeholder.hidden = false;
    });
    return node;
  }

  release(node) {
    if (node._release) node._release();
    node._release = null;
  }

  clearItems() {
    for (const node of this.items.values()) {
      this.release(node);
      node.remove();
    }
    this.items.clear();
    this.shown = [];
  }
}
