// Pure functions over the synced naming state (docs/widget-protocol.md): derive the rows the
// canvas shows, apply an operation optimistically, and sort/filter the unlabeled pool.
// No DOM here, so every rule is unit-tested in Node.

import { UNLABELED, TRASH, MIN_CONCEPT_SIZE } from "./naming_rules.generated.js";
import { NamingError, applyChange, changeFor, orderOf, placesOf } from "./naming.js";

export { UNLABELED, TRASH, MIN_CONCEPT_SIZE }; // defined once, in xnaming_widget/naming/rules.py
export { placesOf }; // id -> row key (get/has), cached per state: what the hot paths use

/** An empty state, used before Python has sent one. */
export function emptyState() {
  return { version: 0, concepts: [], unlabeled: [], trash: [], can_undo: false, can_redo: false, saved_at: null };
}

/**
 * Rows in display order: the unlabeled pool, one row per concept, the trash.
 * Each row is `{key, kind, name, ids, small}`; `small` marks concepts under MIN_CONCEPT_SIZE.
 * `ids` are the state's own lists (states are never changed): read them, do not change them.
 */
export function deriveRows(state) {
  const s = state || emptyState();
  const rows = [{ key: UNLABELED, kind: "pool", name: "Unlabeled", ids: s.unlabeled, small: false }];
  s.concepts.forEach((c, index) => {
    rows.push({
      key: String(c.id),
      kind: "concept",
      index,
      name: c.name,
      ids: c.members,
      small: c.members.length < MIN_CONCEPT_SIZE,
    });
  });
  rows.push({ key: TRASH, kind: "trash", name: "Trash", ids: s.trash, small: false });
  return rows;
}

/** Counts for the progress line: named / unlabeled / trash of total. */
export function progressCounts(state) {
  const s = state || emptyState();
  const named = s.concepts.reduce((n, c) => n + c.members.length, 0);
  const unlabeled = s.unlabeled.length;
  const trash = s.trash.length;
  return { named, unlabeled, trash, total: named + unlabeled + trash };
}

/** One-line text of the progress counts. */
export function progressText(state) {
  const p = progressCounts(state);
  return `${p.named} named · ${p.unlabeled} unlabeled · ${p.trash} trash of ${p.total}`;
}

/** A row key's human label: "Unlabeled", "Trash" or the concept's name. */
export function targetLabel(state, key) {
  if (key === UNLABELED) return "Unlabeled";
  if (key === TRASH) return "Trash";
  const c = (state.concepts || []).find((x) => String(x.id) === String(key));
  return c ? `concept “${c.name}”` : `concept ${key}`;
}

/**
 * Apply one protocol operation to `state` for instant feedback, with the naming core's rules
 * (naming.js, the same as Python's): lists stay in display order (`order`: id -> position; by
 * default the state's own list order). Returns the same object when the op changes nothing or
 * Python would refuse it (Python then reports the error), and for undo/redo (Python's next
 * `state` brings them). `create` uses `pendingId` as the new concept's temporary id.
 */
export function applyOp(state, op, pendingId = "pending", order = undefined) {
  if (op.op === "undo" || op.op === "redo") return state;
  const ord = order || orderOf([...state.concepts.flatMap((c) => c.members), ...state.unlabeled, ...state.trash]);
  try {
    const change = changeFor(state, op, pendingId);
    return change ? applyChange(state, change, false, ord) : state;
  } catch (err) {
    if (err instanceof NamingError) return state;
    throw err;
  }
}

/** The pool's sort and filter options as shown in the toolbar. */
export const SORTS = {
  display: "Display order",
  xfeature: "By x-feature",
  contribution_desc: "Contribution, high first",
  contribution_asc: "Contribution, low first",
};

const SORT_VALUES = {
  xfeature: (a) => a.xfeature,
  contribution_desc: (a) => -a.contribution,
  contribution_asc: (a) => a.contribution,
};
const SORTED = new WeakMap(); // byId -> sort -> every id of byId in that order

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v + 0 : 0);

/** Every id of `byId` sorted by `sort`, ties in byId's (display) order; computed once per byId and sort. */
function sortedIds(byId, sort) {
  let bySort = SORTED.get(byId);
  if (!bySort) SORTED.set(byId, (bySort = new Map()));
  let all = bySort.get(sort);
  if (!all) {
    const value = SORT_VALUES[sort];
    const keyed = [...byId.entries()].map(([id, a], i) => [num(value(a)), i, id]);
    keyed.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    all = keyed.map((k) => k[2]);
    bySort.set(sort, all);
  }
  return all;
}

/**
 * Ids of the pool after filtering and sorting. `byId` maps id -> activation dict, in display
 * order; `opts = {sort, xfeature: null|int, outcome: "all"|"tp"|"fp"}`. Sorting is stable, so
 * ties keep display order (the pool's lists always are in display order). Display order without
 * a filter returns `ids` itself; a sort filters the set's ids sorted once, so a change to the
 * pool costs a pass over it, not a sort.
 */
export function arrangePool(ids, byId, opts = {}) {
  const { sort = "display", xfeature = null, outcome = "all" } = opts;
  const byX = xfeature !== null && xfeature !== undefined;
  const out = !byX && outcome !== "tp" && outcome !== "fp" ? ids : ids.filter((id) => {
    const a = byId.get(id);
    if (!a) return true;
    if (byX && a.xfeature !== xfeature) return false;
    if (outcome === "tp" && a.correct !== true) return false;
    if (outcome === "fp" && a.correct !== false) return false;
    return true;
  });
  const value = SORT_VALUES[sort];
  if (!value) return out;
  const keep = new Set(out);
  if (keep.size === out.length) {
    const sorted = sortedIds(byId, sort).filter((id) => keep.has(id));
    if (sorted.length === out.length) return sorted;
  }
  // ids the table does not know (or repeated): sort what is given, unknown values as 0
  const order = new Map(ids.map((id, i) => [id, i]));
  const key = (id) => num(value(byId.get(id) || {}));
  return out.slice().sort((x, y) => key(x) - key(y) || order.get(x) - order.get(y));
}

/** Sorted distinct x-feature indices among the activations (for the filter menu). */
export function xfeaturesOf(activations) {
  return [...new Set(activations.map((a) => a.xfeature))].filter((x) => Number.isInteger(x)).sort((a, b) => a - b);
}
