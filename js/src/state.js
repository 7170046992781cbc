// Pure functions over the synced naming state (docs/widget-protocol.md): derive the rows the
// canvas shows, apply an operation optimistically, and sort/filter the unlabeled pool.
// No DOM here, so every rule is unit-tested in Node.

export const UNLABELED = "unlabeled";
export const TRASH = "trash";
export const MIN_CONCEPT_SIZE = 3; // the papers dissolve smaller concepts before analysis

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

function withoutIds(list, drop) {
  return list.filter((id) => !drop.has(id));
}

/** A row key's human label: "Unlabeled", "Trash" or the concept's name. */
export function targetLabel(state, key) {
  if (key === UNLABELED) return "Unlabeled";
  if (key === TRASH) return "Trash";
  const c = (state.concepts || []).find((x) => String(x.id) === String(key));
  return c ? `concept “${c.name}”` : `concept ${key}`;
}

/**
 * Apply one protocol operation to a copy of `state` for instant feedback; Python's next
 * `state` replaces the result anyway. Returns the same object when the op changes nothing
 * or cannot be applied locally (undo/redo, unknown ids), so callers can skip a re-render.
 * `create` uses `pendingId` as the new concept's temporary id.
 */
export function applyOp(state, op, pendingId = "pending") {
  const s = state;
  switch (op.op) {
    case "move": {
      const ids = new Set(op.ids);
      const where = locate(s);
      const known = [...ids].filter((id) => where.has(id));
      if (known.length === 0) return s;
      const target = String(op.target);
      if (target !== UNLABELED && target !== TRASH && !s.concepts.some((c) => String(c.id) === target)) return s;
      if (known.every((id) => where.get(id) === target)) return s;
      const moving = known.filter((id) => where.get(id) !== target);
      const movingSet = new Set(moving);
      const next = {
        ...s,
        unlabeled: withoutIds(s.unlabeled, movingSet),
        trash: withoutIds(s.trash, movingSet),
        concepts: s.concepts.map((c) => ({ ...c, members: withoutIds(c.members, movingSet) })),
      };
      if (target === UNLABELED) next.unlabeled = next.unlabeled.concat(moving);
      else if (target === TRASH) next.trash = next.trash.concat(moving);
      else next.concepts = next.concepts.map((c) => (String(c.id) === target ? { ...c, members: c.members.concat(moving) } : c));
      return next;
    }
    case "create": {
      const withPending = { ...s, concepts: s.concepts.concat([{ id: pendingId, name: op.name, members: [] }]) };
      return applyOp(withPending, { op: "move", ids: op.members || [], target: pendingId });
    }
    case "rename": {
      const key = String(op.concept_id);
      if (!s.concepts.some((c) => String(c.id) === key)) return s;
      return { ...s, concepts: s.concepts.map((c) => (String(c.id) === key ? { ...c, name: op.name } : c)) };
    }
    case "delete": {
      const key = String(op.concept_id);
      const c = s.concepts.find((x) => String(x.id) === key);
      if (!c) return s;
      return { ...s, concepts: s.concepts.filter((x) => x !== c), unlabeled: s.unlabeled.concat(c.members) };
    }
    case "merge": {
      const keys = (op.concept_ids || []).map(String);
      const merging = keys.map((k) => s.concepts.find((c) => String(c.id) === k)).filter(Boolean);
      if (merging.length < 2) return s;
      const first = merging[0];
      const rest = new Set(merging.slice(1));
      const members = merging.flatMap((c) => c.members);
      const name = op.name == null || op.name === "" ? first.name : op.name;
      return {
        ...s,
        concepts: s.concepts.filter((c) => !rest.has(c)).map((c) => (c === first ? { ...c, name, members } : c)),
      };
    }
    default:
      return s;
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
