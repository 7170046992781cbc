// Shared test fixtures: a happy-dom window, a fake anywidget model that answers thumbnail and
// compare requests as Python does, a fake grid measure and tiny fake PNG blobs.
import { Window } from "happy-dom";
import { deriveRows } from "../src/state.js";

/** A reference for `placesOf`: activation id -> row key, built anew from the state's rows. */
export function locate(state) {
  const where = new Map();
  for (const row of deriveRows(state)) for (const id of row.ids) where.set(id, row.key);
  return where;
}

export function makeWindow() {
  const window = new Window({ url: "http://localhost/" });
  const el = window.document.createElement("div");
  window.document.body.appendChild(el);
  return { window, document: window.document, el };
}

/**
 * A model with anywidget's surface: get/set/save_changes/send/on/off, plus `sent` (operations),
 * `thumbRequests` and `emit`. It answers thumbnail requests as Python does, from `pngs`
 * (`{heat: Map, image: Map}`), after `answerThumbs()` or by itself when `autoAnswer` is set.
 */
export class FakeModel {
  constructor(values, { pngs = null, autoAnswer = true } = {}) {
    this.values = { ...values };
    this.listeners = new Map();
    this.sent = [];
    this.thumbRequests = [];
    this.pending = [];
    this.pngs = pngs || values.__pngs || { heat: new Map(), image: new Map() };
    this.autoAnswer = autoAnswer;
    this.saved = 0;
  }
  get(name) { return this.values[name]; }
  set(name, value) { this.values[name] = value; }
  save_changes() { this.saved += 1; }
  send(msg) {
    if (msg && msg.type === "image_rows") {
      // answered at once from the full table (every x-feature of every image)
      const images = {};
      const t = this.values.__fullTable;
      for (const image of msg.image_ids) {
        const rows = [];
        t.id.forEach((id, i) => {
          if (t.image_id[i] === image) rows.push({ id, xfeature: t.xfeature[i], contribution: t.contribution[i], value: t.value[i], significant: t.significant[i] });
        });
        if (rows.length) images[image] = rows;
      }
      this.imageRequests = (this.imageRequests || 0) + 1;
      queueMicrotask(() => { for (const fn of this.listeners.get("msg:custom") || []) fn({ type: "image_rows", req: msg.req, images }, []); });
      return;
    }
    if (msg && msg.type === "resync") {
      this.resyncs = (this.resyncs || 0) + 1; // a view asking Python for the whole naming
      return;
    }
    if (msg && msg.type === "thumbs") {
      this.thumbRequests.push(msg);
      this.pending.push(msg);
      if (this.autoAnswer) queueMicrotask(() => this.answerThumbs());
      return;
    }
    this.sent.push(msg);
  }
  /** Answer every pending thumbnail request (one buffer of PNGs end to end, as Python sends). */
  answerThumbs() {
    const pending = this.pending.splice(0);
    for (const msg of pending) {
      const chunks = msg.ids.map((id) => this.pngs[msg.kind].get(id) || new Uint8Array(0));
      const { bytes, offsets } = packBlobs(chunks);
      const reply = { type: "thumbs", kind: msg.kind, req: msg.req, ids: msg.ids, offsets };
      for (const fn of this.listeners.get("msg:custom") || []) fn(reply, [new DataView(bytes.buffer)]);
    }
  }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
  }
  off(event, fn) { this.listeners.get(event)?.delete(fn); }
  /** Python-side change: set the value and fire change:name. */
  emit(name, value) {
    this.values[name] = value;
    for (const fn of this.listeners.get(`change:${name}`) || []) fn();
  }
  listenerCount() { return [...this.listeners.values()].reduce((n, s) => n + s.size, 0); }
}

/** Concatenate byte chunks into one buffer plus offsets, as Python does for the thumbnails trait. */
export function packBlobs(chunks) {
  const offsets = [0];
  for (const c of chunks) offsets.push(offsets[offsets.length - 1] + c.length);
  const bytes = new Uint8Array(offsets[offsets.length - 1]);
  chunks.forEach((c, i) => bytes.set(c, offsets[i]));
  return { bytes, offsets };
}

/** Fake "PNG" i: a few distinct bytes (the canvas never decodes them in Node). */
export function fakePng(i) {
  return Uint8Array.from([137, 80, 78, 71, i & 255, (i >> 8) & 255, 7]);
}

/** Let queued tasks run (thumbnail requests go out in a task, answers come in a microtask). */
export function tick(ms = 0) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fake measure for the virtual grids: `width` px wide, `height` px visible from the scroll top. */
export function fakeMeasure({ width = 1000, height = 800 } = {}) {
  return (grid) => ({ width, top: grid.scrollTop || 0, bottom: (grid.scrollTop || 0) + height });
}

/**
 * Model values for `n` activations over images of 3 significant x-features each (ids
 * "img{k}/x{j}") plus one non-significant x-feature (x3) per image, all unlabeled, as the
 * `table` trait Python sends. `activations` (the significant records) is there for the tests'
 * convenience; `__pngs` holds the fake PNGs the fake Python answers with (none for `missing`).
 */
export function makeValues(n, { missing = [] } = {}) {
  const activations = [];
  const heat = new Map();
  for (let i = 0; i < n; i += 1) {
    const image = Math.floor(i / 3);
    const id = `img${image}/x${i % 3}`;
    activations.push({
      id,
      image_id: `img${image}`,
      xfeature: i % 3,
      value: 1 + i,
      contribution: ((i * 7) % 11) - 3,
      predicted: "Sneaker",
      label: image % 4 === 0 ? "Sandal" : "Sneaker",
      correct: image % 4 !== 0,
    });
    if (!missing.includes(i)) heat.set(id, fakePng(i));
  }
  const nImages = Math.ceil(n / 3);
  const image = new Map();
  const table = { id: [], image_id: [], xfeature: [], value: [], contribution: [], predicted: [], label: [], significant: [] };
  const push = (row, significant) => {
    for (const key of Object.keys(table)) if (key !== "significant") table[key].push(row[key]);
    table.significant.push(significant);
  };
  for (let k = 0; k < nImages; k += 1) {
    image.set(`img${k}`, fakePng(1000 + k));
    for (let x = 0; x < 4; x += 1) {
      const i = 3 * k + x;
      if (x < 3 && i < n) push(activations[i], true);
      if (x === 3) push({ id: `img${k}/x3`, image_id: `img${k}`, xfeature: 3, value: 1, contribution: -1.5, predicted: "Sneaker", label: k % 4 === 0 ? "Sandal" : "Sneaker" }, false);
    }
  }
  // compare's expected contributions: x0..x2 of image 0 are 1 + x in the tests below
  const shown = {};
  for (const key of Object.keys(table)) if (key !== "significant") shown[key] = table[key].filter((_, i) => table.significant[i]);
  const json = new TextEncoder().encode(JSON.stringify(shown));
  return {
    table: new DataView(json.buffer), // as anywidget hands over a bytes trait
    activations,
    __pngs: { heat, image },
    __fullTable: table,
    category: "Sneaker",
    annotator: "ana",
    single_key_shortcuts: true,
    error: "",
    thumb_size: 96,
    base_state: {
      version: 1,
      concepts: [],
      unlabeled: activations.map((a) => a.id),
      trash: [],
      can_undo: false,
      can_redo: false,
      saved_at: null,
    },
  };
}

/** A seeded pseudo-random generator (mulberry32) for reproducible random sequences. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
