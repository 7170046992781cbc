// Thumbnails: PNGs arrive once as one binary buffer plus offsets. Blob URLs are made only for
// images on screen (IntersectionObserver) and revoked when they leave, so 2,000 thumbnails cost
// a handful of live URLs, not 2,000.

/** A Uint8Array over whatever anywidget hands us for a bytes trait (DataView, ArrayBuffer, typed array). */
export function asBytes(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value.byteLength === "number" && value.buffer) return new Uint8Array(value.buffer, value.byteOffset || 0, value.byteLength);
  throw new TypeError("thumbnails must be a binary buffer (bytes trait)");
}

/**
 * Slices PNG `i` out of the blob by `offsets` and hands out reference-counted object URLs.
 * `urlApi` (default: the global URL) is injectable for tests.
 */
export class ThumbStore {
  constructor(bytes, offsets, { urlApi = globalThis.URL, BlobClass = globalThis.Blob, type = "image/png" } = {}) {
    this.bytes = asBytes(bytes);
    this.offsets = Array.isArray(offsets) ? offsets : [];
    this.urlApi = urlApi;
    this.BlobClass = BlobClass;
    this.type = type;
    this.live = new Map(); // index -> {url, refs}
  }

  /** Number of thumbnails in the blob. */
  get size() {
    return Math.max(0, this.offsets.length - 1);
  }

  /** True when index `i` names a non-empty PNG. */
  has(i) {
    return Number.isInteger(i) && i >= 0 && i < this.size && this.offsets[i + 1] > this.offsets[i];
  }

  /** The bytes of PNG `i` (a view, no copy). */
  slice(i) {
    if (!this.has(i)) return null;
    return this.bytes.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /** An object URL for PNG `i`, created on first use; pair every acquire with a release. */
  acquire(i) {
    if (!this.has(i)) return null;
    let entry = this.live.get(i);
    if (!entry) {
      const url = this.urlApi.createObjectURL(new this.BlobClass([this.slice(i)], { type: this.type }));
      entry = { url, refs: 0 };
      this.live.set(i, entry);
    }
    entry.refs += 1;
    return entry.url;
  }

  /** Give back one use of PNG `i`'s URL; the URL is revoked when nobody uses it. */
  release(i) {
    const entry = this.live.get(i);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs <= 0) {
      this.urlApi.revokeObjectURL(entry.url);
      this.live.delete(i);
    }
  }

  /** Revoke every live URL (on widget teardown or new data). */
  dispose() {
    for (const entry of this.live.values()) this.urlApi.revokeObjectURL(entry.url);
    this.live.clear();
  }
}

/**
 * Sets `img.src` only while the image is on screen. Images to watch carry the store index in
 * `data-thumb`; `observe(img, store)` starts watching. Without IntersectionObserver (old
 * browsers), images load at once.
 */
export class LazyImages {
  constructor({ Observer = globalThis.IntersectionObserver, root = null, rootMargin = "200px" } = {}) {
    this.stores = new WeakMap(); // img -> store
    this.loaded = new Map(); // img -> index currently acquired
    this.observer = Observer
      ? new Observer((entries) => this.onIntersect(entries), { root, rootMargin })
      : null;
  }

  onIntersect(entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) this.show(entry.target);
      else this.hide(entry.target);
    }
  }

  /** Start watching an image for store `store`. */
  observe(img, store) {
    this.stores.set(img, store);
    if (this.observer) this.observer.observe(img);
    else this.show(img);
  }

  /** Stop watching an image and give back its URL. */
  unobserve(img) {
    if (this.observer) this.observer.unobserve(img);
    this.hide(img);
    this.stores.delete(img);
  }

  show(img) {
    const store = this.stores.get(img);
    const index = Number(img.dataset.thumb);
    if (!store || this.loaded.has(img) || !store.has(index)) return;
    const url = store.acquire(index);
    this.loaded.set(img, index);
    img.src = url;
  }

  hide(img) {
    const index = this.loaded.get(img);
    if (index === undefined) return;
    const store = this.stores.get(img);
    this.loaded.delete(img);
    img.removeAttribute("src");
    if (store) store.release(index);
  }

  /** Number of images that currently hold a URL. */
  get liveCount() {
    return this.loaded.size;
  }

  /** Stop everything and give back all URLs. */
  disconnect() {
    if (this.observer) this.observer.disconnect();
    for (const img of [...this.loaded.keys()]) this.hide(img);
  }
}
