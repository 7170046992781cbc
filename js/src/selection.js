// Pure selection logic: plain click, Ctrl/Cmd-click toggle, Shift-click range within a row,
// select-all in a row. A selection is `{ids: Set, anchor: id|null}`; functions return new ones.

/** An empty selection. */
export function emptySelection() {
  return { ids: new Set(), anchor: null };
}

/**
 * The selection after clicking `id` in a row whose visible ids are `rowIds` (in screen order).
 * `mods = {ctrl, meta, shift}`: Shift selects the range from the anchor (if it is in the same
 * row) to `id`, adding to the selection when Ctrl/Cmd is also held; Ctrl/Cmd toggles `id`;
 * a plain click selects only `id`.
 */
export function clickSelect(sel, rowIds, id, mods = {}) {
  const toggle = Boolean(mods.ctrl || mods.meta);
  if (mods.shift && sel.anchor !== null && rowIds.includes(sel.anchor) && rowIds.includes(id)) {
    const a = rowIds.indexOf(sel.anchor);
    const b = rowIds.indexOf(id);
    const range = rowIds.slice(Math.min(a, b), Math.max(a, b) + 1);
    const ids = toggle ? new Set([...sel.ids, ...range]) : new Set(range);
    return { ids, anchor: sel.anchor };
  }
  if (toggle) {
    const ids = new Set(sel.ids);
    if (ids.has(id)) ids.delete(id);
    else ids.add(id);
    return { ids, anchor: id };
  }
  return { ids: new Set([id]), anchor: id };
}

/** Select every visible id of a row (replacing the selection). */
export function selectAll(rowIds) {
  return { ids: new Set(rowIds), anchor: rowIds.length ? rowIds[0] : null };
}

/** Drop ids that are no longer shown (e.g. filtered out) from the selection. */
export function pruneSelection(sel, visibleIds) {
  const keep = visibleIds instanceof Set ? visibleIds : new Set(visibleIds);
  const ids = new Set([...sel.ids].filter((id) => keep.has(id)));
  if (ids.size === sel.ids.size && (sel.anchor === null || keep.has(sel.anchor))) return sel;
  return { ids, anchor: sel.anchor !== null && keep.has(sel.anchor) ? sel.anchor : null };
}

/** The selected ids in the order given by `orderedIds` (screen order across rows). */
export function selectedInOrder(sel, orderedIds) {
  return orderedIds.filter((id) => sel.ids.has(id));
}
