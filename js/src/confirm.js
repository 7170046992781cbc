// Optimistic changes and Python's confirmation of them. The canvas shows an operation's expected
// result at once (the naming core's rules, as Python's) and remembers the change it predicted.
// When Python's delta is exactly the predicted changes, in order (the usual case: a drop is one
// move), the predicted naming *is* Python's: the canvas keeps it, and confirming costs nothing
// however large the naming. Anything else (an undo, a new concept's id, another view's change)
// is applied from the delta as Python sent it.

import { NamingError, applyChange, changeFor } from "./naming.js";

/**
 * The state after `op` and the change it makes: `{state, change}` (`change` null and `state`
 * unchanged when the op changes nothing, when Python would refuse it, and for undo/redo, which
 * only Python's delta brings). `create` uses `pendingId` as the new concept's id.
 */
export function predict(state, op, pendingId, order) {
  if (op.op === "undo" || op.op === "redo") return { state, change: null };
  try {
    const change = changeFor(state, op, pendingId);
    return change ? { state: applyChange(state, change, false, order), change } : { state, change: null };
  } catch (err) {
    if (err instanceof NamingError) return { state, change: null };
    throw err;
  }
}

// JSON with object keys sorted: Python and the browser may list a change's keys in other orders
function canonical(value) {
  return JSON.stringify(value, (_key, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v));
}

function sameChange(a, b) {
  return canonical(a.moves || []) === canonical(b.moves || [])
    && canonical(a.concepts || []) === canonical(b.concepts || [])
    && canonical(a.marks || []) === canonical(b.marks || []);
}

/**
 * How many of Python's `changes` (`[[change, reversed], ...]`) are the `predicted` changes, in
 * order, from the first: all of them (`changes.length`) when the delta confirms a prefix of the
 * predictions, else -1.
 */
export function confirmedPrefix(predicted, changes) {
  if (!changes.length || changes.length > predicted.length) return -1;
  for (let i = 0; i < changes.length; i += 1) {
    const [change, reversed] = changes[i];
    if (reversed || !sameChange(change, predicted[i])) return -1;
  }
  return changes.length;
}
