// Pure functions over the synced naming state (docs/widget-protocol.md): derive the rows the
// canvas shows, apply an operation optimistically, and sort/filter the unlabeled pool.
// No DOM here, so every rule is unit-tested in Node.

import { UNLABELED, TRASH, MIN_CONCEPT_SIZE } from "./naming_rules.generated.js";
import { NamingError, applyChange, changeFor, orderOf } from "./naming.js";

export { UNLABELED, TRASH, MIN_CONCEPT_SIZE }; // defined once, in xnaming_widget/naming/rules.py

/** An empty state, used before Python has sent one. */
export function emptyState() {
  return { version: 0, concepts: [], unlabeled: [], trash: [], can_undo: false, can_redo: false, saved_at: null };
}

/**
 * Rows in display order: the unlabeled pool, one row per concept, the trash.
 * Each row is `{key, kind, name, ids, small}`; `small` marks concepts under MIN_CONCEPT_SIZE.
 */
export function deriveRows(state) {
  const s = state || emptyState();
  const rows = [{ key: UNLABELED, kind: "pool", name: "Unlabeled", ids: s.unlabeled.slice(), small: false }];
  s.concepts.forEach((c, index) => {
    rows.push({
      key: String(c.id),
      kind: "concept",
      index,
      name: c.name,
      ids: c.members.slice(),
      small: c.members.length < MIN_CONCEPT_SIZE,
    });
  });
  rows.push({ key: TRASH, kind: "trash", name: "Trash", ids: s.trash.slice(), small: false });
  return rows;
}

/** Map activation id -> row key (concept id, "unlabeled" or "trash"). */
export function locate(state) {
  const where = new Map();
  for (const row of deriveRows(state)) for (const id of row.ids) where.set(id, row.key);
  return where;
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

/**
 * Ids of the pool after filtering and sorting. `byId` maps id -> activation dict;
 * `opts = {sort, xfeature: null|int, outcome: "all"|"tp"|"fp"}`. Sorting is stable, so
 * ties keep display order.
 */
export function arrangePool(ids, byId, opts = {}) {
  const { sort = "display", xfeature = null, outcome = "all" } = opts;
  let out = ids.filter((id) => {
    const a = byId.get(id);
    if (!a) return true;
    if (xfeature !== null && xfeature !== undefined && a.xfeature !== xfeature) return false;
    if (outcome === "tp" && a.correct !== true) return false;
    if (outcome === "fp" && a.correct !== false) return false;
    return true;
  });
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const order = new Map(ids.map((id, i) => [id, i]));
  const tie = (x, y) => order.get(x) - order.get(y);
  const get = (id) => byId.get(id) || {};
  if (sort === "xfeature") out = out.slice().sort((x, y) => num(get(x).xfeature) - num(get(y).xfeature) || tie(x, y));
  else if (sort === "contribution_desc") out = out.slice().sort((x, y) => num(get(y).contribution) - num(get(x).contribution) || tie(x, y));
  else if (sort === "contribution_asc") out = out.slice().sort((x, y) => num(get(x).contribution) - num(get(y).contribution) || tie(x, y));
  return out;
}

/** Sorted distinct x-feature indices among the activations (for the filter menu). */
export function xfeaturesOf(activations) {
  return [...new Set(activations.map((a) => a.xfeature))].filter((x) => Number.isInteger(x)).sort((a, b) => a - b);
}
