// Shared test fixtures: a happy-dom window, a fake anywidget model, a controllable
// IntersectionObserver, a counting URL API and tiny fake PNG blobs.
import { Window } from "happy-dom";

export function makeWindow() {
  const window = new Window({ url: "http://localhost/" });
  const el = window.document.createElement("div");
  window.document.body.appendChild(el);
  return { window, document: window.document, el };
}

/** A model with anywidget's surface: get/set/save_changes/send/on/off, plus `sent` and `emit`. */
export class FakeModel {
  constructor(values) {
    this.values = { ...values };
    this.listeners = new Map();
    this.sent = [];
    this.saved = 0;
  }
  get(name) { return this.values[name]; }
  set(name, value) { this.values[name] = value; }
  save_changes() { this.saved += 1; }
  send(msg) { this.sent.push(msg); }
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

/** An IntersectionObserver whose "on screen" set the test decides. */
export class FakeObserver {
  static instances = [];
  constructor(callback) {
    this.callback = callback;
    this.targets = new Set();
    FakeObserver.instances.push(this);
  }
  observe(t) { this.targets.add(t); }
  unobserve(t) { this.targets.delete(t); }
  disconnect() { this.targets.clear(); }
  /** Report `visible` as intersecting and every other watched target as not. */
  setVisible(visible) {
    const on = new Set(visible);
    this.callback([...this.targets].map((target) => ({ target, isIntersecting: on.has(target) })));
  }
}

/** Counts object URLs made and revoked. */
export function countingUrlApi() {
  let n = 0;
  const api = {
    live: new Set(),
    created: 0,
    revoked: 0,
    blobs: new Map(),
    createObjectURL(blob) {
      n += 1;
      const url = `blob:test/${n}`;
      api.created += 1;
      api.live.add(url);
      api.blobs.set(url, blob);
      return url;
    },
    revokeObjectURL(url) {
      if (!api.live.has(url)) throw new Error(`revoking unknown or already revoked ${url}`);
      api.revoked += 1;
      api.live.delete(url);
    },
  };
  return api;
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

/**
 * Model values for `n` activations over images of 3 x-features each (ids "img{k}/x{j}"),
 * all unlabeled, every thumbnail present except those in `missing`.
 */
export function makeValues(n, { missing = [] } = {}) {
  const activations = [];
  for (let i = 0; i < n; i += 1) {
    const image = Math.floor(i / 3);
    activations.push({
      id: `img${image}/x${i % 3}`,
      image_id: `img${image}`,
      xfeature: i % 3,
      value: 1 + i,
      contribution: ((i * 7) % 11) - 3,
      predicted: "Sneaker",
      label: image % 4 === 0 ? "Sandal" : "Sneaker",
      correct: image % 4 !== 0,
      thumb: missing.includes(i) ? -1 : i,
    });
  }
  const heat = packBlobs(activations.map((_, i) => fakePng(i)));
  const nImages = Math.ceil(n / 3);
  const images = [];
  for (let k = 0; k < nImages; k += 1) {
    images.push({
      image_id: `img${k}`,
      thumb: k,
      xfeatures: [0, 1, 2, 3].map((x) => ({
        xfeature: x,
        contribution: x === 3 ? -1.5 : 1 + x,
        value: 1,
        significant: x < 3,
        thumb: x < 3 && 3 * k + x < n ? 3 * k + x : -1,
      })),
    });
  }
  const plain = packBlobs(images.map((_, k) => fakePng(1000 + k)));
  const dataView = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  return {
    activations,
    thumbnails: dataView(heat.bytes),
    thumb_offsets: heat.offsets,
    images,
    image_thumbnails: dataView(plain.bytes),
    image_thumb_offsets: plain.offsets,
    category: "Sneaker",
    annotator: "ana",
    single_key_shortcuts: true,
    error: "",
    thumb_size: 96,
    state: {
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
