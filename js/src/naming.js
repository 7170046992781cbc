// The naming's operations in the browser, following xnaming_widget/naming/state.py rule for rule,
// so the optimistic view equals what Python publishes next (tests/naming/test_parity.py writes a
// fixture of random operations that test/naming.test.js replays here, snapshot by snapshot).
// Constants and the operation table come from the generated naming_rules.generated.js.
//
// A state is {concepts: [{id, name, members}], unlabeled: [...], trash: [...], marks: {id: [via,
// proposed]}} with every list of activation ids in display order; `order` maps an id to its
// display position. A *change* is Python's record: {moves: [[ids, from, to]], concepts: [{id,
// before: {name, index}|null, after: {name, index}|null}], marks?: [[ids, before, after]]}.
// Functions return new objects and never mutate their arguments.

import { UNLABELED, TRASH, MAX_NAME_LENGTH, PERSON, VIA, PROPOSING } from "./naming_rules.generated.js";

/** An operation that breaks the naming rules (Python raises NamingError for the same ones). */
export class NamingError extends Error {}

// Python's str.strip() and re's \s: Unicode white space, including \x1c-\x1f.
const WS = "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const OUTER_WS = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
const WS_RUNS = new RegExp(`[${WS}]+`, "g");
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** clean_concept_name: NFC, outer white space stripped, non-empty, at most MAX_NAME_LENGTH code points, one line. */
export function cleanConceptName(name) {
  if (typeof name !== "string") throw new NamingError("A concept name must be a string.");
  const cleaned = name.normalize("NFC").replace(OUTER_WS, "");
  if (!cleaned) throw new NamingError("A concept name cannot be empty; type a few words that describe the concept.");
  if ([...cleaned].length > MAX_NAME_LENGTH) throw new NamingError(`A concept name can have at most ${MAX_NAME_LENGTH} characters.`);
  if (CONTROL.test(cleaned)) throw new NamingError("A concept name must be a single line without control characters.");
  return cleaned;
}

/** name_key: case and runs of white space do not make two names different (toLowerCase for casefold). */
export function nameKey(name) {
  return name.normalize("NFC").replace(WS_RUNS, " ").replace(OUTER_WS, "").toLowerCase();
}

function checkNewName(state, name, except = []) {
  const key = nameKey(name);
  const clash = state.concepts.find((c) => !except.includes(String(c.id)) && nameKey(c.name) === key);
  if (clash) throw new NamingError(`A concept is already called ${JSON.stringify(clash.name)} (${clash.id}).`);
}

/** Map id -> display position, from the activations in display order. */
export function orderOf(ids) {
  return new Map(ids.map((id, i) => [String(id), i]));
}

const MAX_OVERLAYS = 32; // a chain of Places this long is flattened into one Map

/**
 * id -> place (concept id, "unlabeled" or "trash"): one full Map with the moves of later changes
 * as small overlays on top, so a change costs what it moves, not the size of the naming. The
 * chain is flattened every MAX_OVERLAYS changes. Read-only outside this module (get/has).
 */
class Places {
  constructor(parent = null, own = new Map()) {
    this.parent = parent;
    this.own = own;
    this.depth = parent ? parent.depth + 1 : 0;
  }

  get(id) {
    for (let p = this; p; p = p.parent) {
      const place = p.own.get(id);
      if (place !== undefined) return place;
    }
    return undefined;
  }

  has(id) {
    return this.get(id) !== undefined;
  }

  /** A child to record one change's moves in. */
  derive() {
    return this.depth >= MAX_OVERLAYS ? new Places(null, this.toMap()) : new Places(this);
  }

  /** Every id -> place as one new Map. */
  toMap() {
    const layers = [];
    for (let p = this; p; p = p.parent) layers.push(p.own);
    const out = new Map(layers.pop());
    while (layers.length) for (const [id, place] of layers.pop()) out.set(id, place);
    return out;
  }
}

// id -> place of a state, computed once per state object (states are never mutated); a state
// made by applyChange inherits its predecessor's places with the moves applied.
const PLACES = new WeakMap();

/** The places of `state` (get/has; cached per state object, so cheap to ask again). */
export function placesOf(state) {
  let where = PLACES.get(state);
  if (!where) {
    where = new Places();
    for (const c of state.concepts) for (const id of c.members) where.own.set(id, String(c.id));
    for (const id of state.unlabeled) where.own.set(id, UNLABELED);
    for (const id of state.trash) where.own.set(id, TRASH);
    PLACES.set(state, where);
  }
  return where;
}

/** `state` with some other fields (version, can_undo...), keeping what is known about its places. */
export function withFields(state, fields) {
  const next = { ...state, ...fields };
  const where = PLACES.get(state);
  if (where) PLACES.set(next, where);
  return next;
}

const FEW = 32; // a change of at most list length / FEW ids edits a list by binary search

/** Where `id` is (or would go) in `list`, a list in display order: binary search by `order`. */
function positionIn(list, id, order) {
  const target = order.get(id);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order.get(list[mid]) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `list` (in display order) without the ids in the Set `gone`; a few are found by binary search. */
function withoutIds(list, gone, order) {
  if (gone.size * FEW <= list.length) {
    const at = [];
    for (const id of gone) {
      const p = positionIn(list, id, order);
      if (list[p] !== id) return list.filter((x) => !gone.has(x)); // not in display order: the plain way
      at.push(p);
    }
    at.sort((a, b) => a - b);
    const parts = [];
    let from = 0;
    for (const p of at) {
      parts.push(list.slice(from, p));
      from = p + 1;
    }
    parts.push(list.slice(from));
    return [].concat(...parts); // block copies, not one push per id
  }
  return list.filter((id) => !gone.has(id));
}

/** `kept` (in display order) with `added` merged in, in display order: linear, no full sort. */
function mergeInOrder(kept, added, order) {
  if (!added.length) return kept;
  const incoming = sortedByOrder(added, order);
  if (incoming.length * FEW <= kept.length) {
    const parts = [];
    let from = 0;
    for (const id of incoming) {
      const p = positionIn(kept, id, order);
      parts.push(kept.slice(from, p), [id]);
      from = p;
    }
    parts.push(kept.slice(from));
    return [].concat(...parts);
  }
  const out = new Array(kept.length + incoming.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < kept.length && j < incoming.length) {
    out[k++] = order.get(kept[i]) < order.get(incoming[j]) ? kept[i++] : incoming[j++];
  }
  while (i < kept.length) out[k++] = kept[i++];
  while (j < incoming.length) out[k++] = incoming[j++];
  return out;
}

function checkIds(where, ids, allowEmpty = false) {
  if (typeof ids === "string") ids = [ids];
  const unique = [...new Set((ids || []).map(String))];
  if (!unique.length && !allowEmpty) throw new NamingError("No activations given; select at least one.");
  const unknown = unique.filter((id) => !where.has(id));
  if (unknown.length) throw new NamingError(`Unknown activation id(s) ${unknown.slice(0, 5).join(", ")}.`);
  return unique;
}

function conceptIndex(state, id) {
  return state.concepts.findIndex((c) => String(c.id) === String(id));
}

function requireConcept(state, id) {
  const index = conceptIndex(state, id);
  if (index < 0) throw new NamingError(`No concept with id ${JSON.stringify(id)}.`);
  return index;
}

function checkVia(via) {
  const v = via == null ? PERSON : via;
  if (!VIA.includes(v)) throw new NamingError(`via must be one of ${VIA.join(", ")}.`);
  return v;
}

const sameMark = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** _grouped_marks: [[ids, before, after]], activations with the same mark change together, first-seen order. */
function groupedMarks(steps) {
  const groups = new Map();
  for (const [id, before, after] of steps) {
    const key = JSON.stringify([before, after]);
    if (!groups.has(key)) groups.set(key, [[], before, after]);
    groups.get(key)[0].push(id);
  }
  return [...groups.values()];
}

/** _marks_for: the marks entry of a change whose moves a person or `via` made ({} when none change). */
function marksFor(state, moves, via) {
  const marks = state.marks || {};
  const fresh = via === PERSON ? null : [via, PROPOSING.includes(via)];
  const steps = [];
  for (const [ids, , target] of moves) {
    const after = target === UNLABELED || target === TRASH ? null : fresh;
    for (const id of ids) {
      const before = marks[id] ? marks[id].slice() : null;
      if (!sameMark(before, after)) steps.push([id, before, after]);
    }
  }
  return steps.length ? { marks: groupedMarks(steps) } : {};
}

/** _moves_to: the ids grouped by where they are now, sources in order of first appearance; no-ops dropped. */
function movesTo(where, ids, target) {
  const bySource = new Map();
  for (const id of ids) {
    const source = where.get(id);
    if (source === target) continue;
    if (!bySource.has(source)) bySource.set(source, []);
    bySource.get(source).push(id);
  }
  return [...bySource].map(([source, members]) => [members, source, target]);
}

/**
 * The change an operation makes (Python's NamingState methods), or null when it changes nothing.
 * `newId` is the id a new concept gets (Python's when replaying, a pending one in the canvas).
 * Throws NamingError where Python refuses. undo/redo are not changes: see History.
 */
export function changeFor(state, op, newId = "pending") {
  const where = placesOf(state);
  switch (op.op) {
    case "create": {
      const name = cleanConceptName(op.name);
      checkNewName(state, name);
      const via = checkVia(op.via);
      const members = checkIds(where, op.members || [], true);
      const moves = movesTo(where, members, String(newId));
      return {
        moves,
        concepts: [{ id: String(newId), before: null, after: { name, index: state.concepts.length } }],
        ...marksFor(state, moves, via),
      };
    }
    case "move": {
      const ids = checkIds(where, op.ids);
      const target = String(op.target);
      if (target !== UNLABELED && target !== TRASH && conceptIndex(state, target) < 0) {
        throw new NamingError(`Unknown target ${JSON.stringify(op.target)}.`);
      }
      const via = checkVia(op.via);
      if (via !== PERSON && (target === UNLABELED || target === TRASH)) {
        throw new NamingError(`Only a person puts activations in ${target}.`);
      }
      const moves = movesTo(where, ids, target);
      return moves.length ? { moves, concepts: [], ...marksFor(state, moves, via) } : null;
    }
    case "accept":
      // NamingWidget.accept: a move into the concept that a suggestion proposed, accepted by a person
      return changeFor(state, { op: "move", ids: op.ids, target: op.concept_id, via: "suggestion" }, newId);
    case "reject": {
      requireConcept(state, op.concept_id);
      checkIds(where, op.ids);
      return null; // rejections do not change what the canvas shows; Python keeps them
    }
    case "propose":
      return null; // Python groups the pool by descriptors the browser does not have; its delta follows
    case "confirm": {
      const ids = checkIds(where, op.ids);
      const marks = state.marks || {};
      const proposed = ids.filter((id) => marks[id] && marks[id][1]);
      if (!proposed.length) return null;
      return { moves: [], concepts: [], marks: groupedMarks(proposed.map((id) => [id, marks[id].slice(), [marks[id][0], false]])) };
    }
    case "rename": {
      const index = requireConcept(state, op.concept_id);
      const old = state.concepts[index].name;
      const name = cleanConceptName(op.name);
      if (name === old) return null;
      checkNewName(state, name, [String(op.concept_id)]);
      return { moves: [], concepts: [{ id: String(op.concept_id), before: { name: old, index }, after: { name, index } }] };
    }
    case "merge": {
      if (typeof op.concept_ids === "string") throw new NamingError("merge takes a list of concept ids.");
      const ids = (op.concept_ids || []).map(String);
      if (new Set(ids).size !== ids.length) throw new NamingError("merge got a concept id twice.");
      if (ids.length < 2) throw new NamingError("merge needs at least two concept ids.");
      const indices = ids.map((id) => requireConcept(state, id));
      const keep = state.concepts[indices[0]];
      const name = op.name == null ? keep.name : cleanConceptName(op.name);
      if (op.name != null) checkNewName(state, name, ids);
      const moves = [];
      const concepts = [{ id: ids[0], before: { name: keep.name, index: indices[0] }, after: { name, index: indices[0] } }];
      ids.slice(1).forEach((id, k) => {
        const c = state.concepts[indices[k + 1]];
        if (c.members.length) moves.push([c.members.slice(), id, ids[0]]);
        concepts.push({ id, before: { name: c.name, index: indices[k + 1] }, after: null });
      });
      return { moves, concepts };
    }
    case "delete": {
      const index = requireConcept(state, op.concept_id);
      const c = state.concepts[index];
      const moves = c.members.length ? [[c.members.slice(), String(c.id), UNLABELED]] : [];
      return {
        moves,
        concepts: [{ id: String(c.id), before: { name: c.name, index }, after: null }],
        ...marksFor(state, moves, PERSON),
      };
    }
    default:
      throw new NamingError(`Unknown operation ${JSON.stringify(op.op)}.`);
  }
}

function sortedByOrder(ids, order) {
  return ids.slice().sort((a, b) => order.get(a) - order.get(b));
}

/**
 * Apply a change forwards (or backwards with `reverse`), checking it fits first, as Python's
 * NamingState._apply does; every list stays in display order (`order`). Throws NamingError
 * when the change does not fit.
 */
export function applyChange(state, change, reverse, order) {
  const steps = change.concepts.map((c) => (reverse ? [String(c.id), c.after, c.before] : [String(c.id), c.before, c.after]));
  const moves = change.moves.map((m) => (reverse ? [m[0], String(m[2]), String(m[1])] : [m[0], String(m[1]), String(m[2])]));
  const adds = steps.filter(([, old]) => old === null).sort((x, y) => x[2].index - y[2].index);
  const removes = steps.filter(([, , next]) => next === null).sort((x, y) => y[1].index - x[1].index);
  const renames = steps.filter(([, old, next]) => old !== null && next !== null);

  const concepts = state.concepts.map((c) => ({ id: String(c.id), name: c.name, members: c.members }));
  for (const [id, , entry] of adds) {
    if (concepts.some((c) => c.id === id) || id === UNLABELED || id === TRASH || entry.index < 0 || entry.index > concepts.length) {
      throw new NamingError(`Change does not fit: cannot add concept ${id}.`);
    }
    concepts.splice(entry.index, 0, { id, name: entry.name, members: [] });
  }
  const lists = new Map(concepts.map((c) => [c.id, c.members]));
  lists.set(UNLABELED, state.unlabeled);
  lists.set(TRASH, state.trash);
  const before = placesOf(state);
  for (const [ids, source, target] of moves) {
    if (!lists.has(source) || !lists.has(target)) throw new NamingError("Change does not fit: no such concept.");
    if (ids.some((id) => before.get(id) !== source)) throw new NamingError(`Change does not fit: activations are not in ${source}.`);
  }
  const where = moves.length ? before.derive() : before;
  const leaving = new Map();
  const arriving = new Map();
  for (const [ids, source, target] of moves) {
    for (const id of ids) where.own.set(id, target);
    if (!leaving.has(source)) leaving.set(source, new Set());
    if (!arriving.has(target)) arriving.set(target, []);
    for (const id of ids) leaving.get(source).add(id);
    arriving.get(target).push(...ids);
  }
  for (const key of new Set([...leaving.keys(), ...arriving.keys()])) {
    const gone = leaving.get(key);
    const kept = gone ? withoutIds(lists.get(key), gone, order) : lists.get(key);
    lists.set(key, mergeInOrder(kept, (arriving.get(key) || []).filter((id) => where.get(id) === key), order));
  }
  let next = concepts.map((c) => ({ ...c, members: lists.get(c.id) }));
  for (const [id, old] of removes) {
    const index = next.findIndex((c) => c.id === id);
    if (index < 0 || index !== old.index || next[index].members.length) {
      throw new NamingError(`Change does not fit: cannot remove concept ${id}.`);
    }
    next = next.filter((c) => c.id !== id);
  }
  for (const [id, , entry] of renames) {
    const index = next.findIndex((c) => c.id === id);
    if (index < 0) throw new NamingError(`Change does not fit: cannot rename missing concept ${id}.`);
    next[index] = { ...next[index], name: entry.name };
  }
  let marks = state.marks || {};
  if (change.marks && change.marks.length) {
    const updated = new Map(Object.entries(marks));
    for (const [ids, before, after] of change.marks) {
      const [old, fresh] = reverse ? [after, before] : [before, after];
      for (const id of ids) {
        if (!sameMark(updated.get(id) || null, old)) throw new NamingError(`Change does not fit: ${id} is not marked so.`);
        if (fresh === null) updated.delete(id);
        else updated.set(id, [fresh[0], Boolean(fresh[1])]);
      }
    }
    marks = Object.fromEntries([...updated].sort((x, y) => order.get(x[0]) - order.get(y[0])));
  }
  const result = { ...state, concepts: next, unlabeled: lists.get(UNLABELED), trash: lists.get(TRASH), marks };
  PLACES.set(result, where);
  return result;
}

/** A naming with undo and redo, as Python's NamingState keeps it (used by the parity test). */
export class History {
  constructor(state, order) {
    this.state = state;
    this.order = order;
    this.undoStack = [];
    this.redoStack = [];
  }

  /** Apply an operation (create needs `newId`); returns whether the naming changed. */
  perform(op, newId) {
    if (op.op === "undo" || op.op === "redo") {
      const [from, to] = op.op === "undo" ? [this.undoStack, this.redoStack] : [this.redoStack, this.undoStack];
      if (!from.length) throw new NamingError(`Nothing to ${op.op}.`);
      this.state = applyChange(this.state, from[from.length - 1], op.op === "undo", this.order);
      to.push(from.pop());
      return true;
    }
    const change = changeFor(this.state, op, newId);
    if (!change) return false;
    this.state = applyChange(this.state, change, false, this.order);
    this.undoStack.push(change);
    this.redoStack = [];
    return true;
  }
}
