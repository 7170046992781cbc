// Drag-and-drop rules: what a drag carries, which operation a drop means, and the
// "N images" badge shown under the pointer. The DOM wiring lives in render.js.

export const DRAG_MIME = "application/x-xnaming-ids";
export const NEW_CONCEPT = "__new__";

/** Ids a drag starting on `draggedId` carries: the whole selection if it contains it, else just it. */
export function dragIds(selectedIds, draggedId) {
  const selected = [...selectedIds];
  return selected.includes(draggedId) ? selected : [draggedId];
}

/** Put the ids on a DataTransfer (our MIME type plus plain text for other drop targets). */
export function writePayload(dataTransfer, ids) {
  dataTransfer.setData(DRAG_MIME, JSON.stringify(ids));
  dataTransfer.setData("text/plain", ids.join("\n"));
  dataTransfer.effectAllowed = "move";
}

/** Read ids from a DataTransfer; null when the drag is not ours or the payload is malformed. */
export function readPayload(dataTransfer) {
  if (!dataTransfer) return null;
  let raw = "";
  try {
    raw = dataTransfer.getData(DRAG_MIME);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const ids = JSON.parse(raw);
    return Array.isArray(ids) && ids.every((x) => typeof x === "string") ? ids : null;
  } catch {
    return null;
  }
}

/** True when a dragover carries our payload type (getData is unavailable until the drop). */
export function isOurDrag(dataTransfer) {
  return Boolean(dataTransfer && [...(dataTransfer.types || [])].includes(DRAG_MIME));
}

/**
 * The protocol message for dropping `ids` on row `targetKey` (a concept id, "unlabeled",
 * "trash" or NEW_CONCEPT); null when nothing would change. `where` maps id -> current row key.
 */
export function dropOp(ids, targetKey, where, newName = "New concept") {
  const known = ids.filter((id) => where.has(id));
  if (known.length === 0) return null;
  if (targetKey === NEW_CONCEPT) return { type: "op", op: "create", name: newName, members: known };
  const moving = known.filter((id) => where.get(id) !== String(targetKey));
  if (moving.length === 0) return null;
  return { type: "op", op: "move", ids: moving, target: String(targetKey) };
}

/** A default name for a new concept that no existing concept uses. */
export function freshConceptName(concepts, base = "Concept") {
  const used = new Set(concepts.map((c) => c.name));
  for (let k = concepts.length + 1; ; k += 1) {
    const name = `${base} ${k}`;
    if (!used.has(name)) return name;
  }
}

/** The badge text under the pointer. */
export function badgeText(n) {
  return n === 1 ? "1 image" : `${n} images`;
}

/** Build the drag badge element (caller attaches it off-screen and passes it to setDragImage). */
export function makeBadge(doc, n) {
  const badge = doc.createElement("div");
  badge.className = "xn-drag-badge";
  badge.textContent = badgeText(n);
  return badge;
}
