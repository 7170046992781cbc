// Keyboard shortcuts: a pure map from a keydown event to an action, and the help list.

export const SHORTCUTS = [
  ["1 – 9", "Move the selection to concept N", true],
  ["N", "Make a new concept from the selection", true],
  ["F2", "Rename the selected (or focused) concept", false],
  ["X", "Move the selection to the trash", true],
  ["U", "Move the selection back to unlabeled", true],
  ["Space", "Preview the focused image", false],
  ["C", "Compare the selected images (up to 8)", true],
  ["S", "Suggestions for the focused concept: open them (again: close)", true],
  ["Y", "Confirm the selected proposed members", true],
  ["← / →", "Previous / next image (Shift extends the selection, Ctrl/Cmd only moves focus)", false],
  ["↑ / ↓", "Previous / next row", false],
  ["Enter", "Add the focused image to the selection, or take it out", false],
  ["Ctrl/Cmd + A", "Select all in the focused row", false],
  ["Ctrl/Cmd + Z", "Undo", false],
  ["Ctrl/Cmd + Shift + Z, Ctrl + Y", "Redo", false],
  ["Escape", "Clear the selection, close panels", false],
  ["?", "Show these shortcuts", true],
];

/** Keys with the focus on a suggestion (the strip under a concept); others act as in the rows. */
export const STRIP_SHORTCUTS = [
  ["← / →, Home / End", "Previous / next suggestion", false],
  ["Space", "Select the focused suggestion, or unselect it", false],
  ["Enter", "Accept the selected suggestions (the focused one when none is selected)", false],
  ["A", "Accept the selected suggestions, as Enter", true],
  ["Shift + A", "Accept all the suggestions shown (one undo step)", true],
  ["Delete, R", "Reject the focused suggestion: never suggested for this concept again (R: single key)", false],
  ["↑ / ↓", "To the concept's images / the next row", false],
  ["Escape", "Close the suggestions", false],
];

const TEXT_INPUTS = new Set(["", "text", "search", "email", "number", "password", "url", "tel"]);

/** True when keys go into a text field or menu (a slider or checkbox is not typing). */
function isTyping(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  if (tag === "input") return TEXT_INPUTS.has(String(target.type || "").toLowerCase());
  return tag === "textarea" || tag === "select" || Boolean(target.isContentEditable);
}

/**
 * The action for a keydown event, or null. `singleKey` false switches off the single-key
 * shortcuts (1–9, N, X, U, C, S, Y, ?), as users typing elsewhere may want. Keys typed into form
 * fields are never shortcuts.
 */
export function keyAction(event, { singleKey = true } = {}) {
  if (isTyping(event.target)) return null;
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key;
  if (!event.altKey && (key === "ArrowLeft" || key === "ArrowRight")) {
    return { type: "step", delta: key === "ArrowLeft" ? -1 : 1, extend: event.shiftKey, focusOnly: mod && !event.shiftKey };
  }
  if (!event.altKey && !mod && (key === "ArrowUp" || key === "ArrowDown")) {
    return { type: "row", delta: key === "ArrowUp" ? -1 : 1 };
  }
  if (!event.altKey && !mod && key === "Enter") return { type: "toggle" };
  if (mod && !event.altKey) {
    const k = key.toLowerCase();
    if (k === "z") return { type: event.shiftKey ? "redo" : "undo" };
    if (k === "y" && !event.shiftKey) return { type: "redo" };
    if (k === "a") return { type: "selectAll" };
    return null;
  }
  if (event.altKey) return null;
  if (key === "F2") return { type: "rename" };
  if (key === "Escape") return { type: "escape" };
  if (key === " " || key === "Spacebar") {
    const tag = event.target && event.target.tagName ? event.target.tagName.toLowerCase() : "";
    return tag === "button" ? null : { type: "preview" };
  }
  if (!singleKey) return null;
  if (/^[1-9]$/.test(key)) return { type: "moveTo", index: Number(key) - 1 };
  const k = key.length === 1 ? key.toLowerCase() : key;
  if (k === "n") return { type: "create" };
  if (k === "x") return { type: "trash" };
  if (k === "u") return { type: "unlabel" };
  if (k === "c") return { type: "compare" };
  if (k === "s") return { type: "suggest" };
  if (k === "y") return { type: "confirm" };
  if (key === "?") return { type: "help" };
  return null;
}

/**
 * The action for a keydown on a suggestion in the strip, or null (the key then acts as it does
 * in the rows). `onItem` is false when the focus is elsewhere in the strip (one of its buttons):
 * only Escape acts there, so Enter and Space press the button.
 */
export function stripKeyAction(event, { singleKey = true, onItem = true } = {}) {
  if (isTyping(event.target) || event.altKey || event.ctrlKey || event.metaKey) return null;
  const key = event.key;
  if (key === "Escape") return { type: "close" };
  if (!onItem) return null;
  if (key === "ArrowLeft" || key === "ArrowRight") return { type: "step", delta: key === "ArrowLeft" ? -1 : 1 };
  if (key === "Home" || key === "End") return { type: key === "Home" ? "first" : "last" };
  if (key === "ArrowUp" || key === "ArrowDown") return { type: "leave", delta: key === "ArrowUp" ? -1 : 1 };
  if (key === " " || key === "Spacebar") return { type: "toggle" };
  if (key === "Enter") return { type: "accept" };
  if (key === "Delete" || key === "Backspace") return { type: "reject" };
  if (!singleKey) return null;
  const k = key.length === 1 ? key.toLowerCase() : key;
  if (k === "a") return { type: event.shiftKey ? "acceptAll" : "accept" };
  if (k === "r") return { type: "reject" };
  return null;
}

/**
 * True for the few Ctrl/Cmd chords the host page keeps while focus is in the canvas: save
 * (Ctrl+S, Ctrl+Shift+S), the command palette (Ctrl+Shift+C) and the sidebar (Ctrl+B). Every
 * other key stays in the canvas, so that no notebook shortcut (M, B, A, X, C, V, Z, D D,
 * Shift+M, Enter, Escape, Shift+Enter, ...) acts on the notebook behind it.
 */
export function passesToHost(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return false;
  const k = String(event.key || "").toLowerCase();
  return k === "s" || k === "b" || (k === "c" && event.shiftKey);
}
