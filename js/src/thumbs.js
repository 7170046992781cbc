// Thumbnails on demand (docs/widget-protocol.md): the canvas asks Python for the PNGs it is about
// to show, in batches, as custom messages; Python answers with one binary buffer per batch.
// Received PNGs become data: URLs in a bounded LRU cache, so browser memory does not grow with
// the size of the set; an entry that is on screen is pinned and never evicted. (data: URLs, not
// object URLs: Chromium registers every Blob URL with the browser process, which cost about
// half a millisecond per thumbnail and made scrolling stutter.)

export const HEAT = "heat"; // heatmap-over-image thumbnail of an activation (keyed by activation id)
export const IMAGE = "image"; // plain image (keyed by image id)

/** A Uint8Array over whatever anywidget hands us for a binary buffer (DataView, ArrayBuffer, typed array). */
export function asBytes(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value.byteLength === "number" && value.buffer) return new Uint8Array(value.buffer, value.byteOffset || 0, value.byteLength);
  throw new TypeError("thumbnails must arrive as a binary buffer");
}

/** A data: URL of PNG bytes. */
export function pngDataUrl(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}

/**
 * URLs of received thumbnails, least recently used evicted first once more than `capacity`
 * entries are held. `url` is null for "Python has no thumbnail" (a placeholder is drawn).
 * Pinned entries (in use on screen) are never evicted, so the cache holds at most `capacity`
 * + what is on screen.
 */
export class ThumbCache {
  constructor({ capacity = 600 } = {}) {
    this.capacity = capacity;
    this.entries = new Map(); // key -> {url, pins}; Map order is recency order
  }

  static key(kind, id) {
    return `${kind}\u0000${id}`;
  }

  has(key) {
    return this.entries.has(key);
  }

  /** The entry's URL (null: no thumbnail), or undefined when not cached; marks it recently used. */
  get(key) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.url;
  }

  /** Store PNG `bytes` (empty or null: no thumbnail) under `key`. */
  put(key, bytes) {
    if (this.entries.has(key)) return this.get(key);
    const url = bytes && bytes.length ? pngDataUrl(bytes) : null;
    this.entries.set(key, { url, pins: 0 });
    this.evict();
    return url;
  }

  pin(key) {
    const entry = this.entries.get(key);
    if (entry) entry.pins += 1;
  }

  unpin(key) {
    const entry = this.entries.get(key);
    if (entry && entry.pins > 0) entry.pins -= 1;
    this.evict();
  }

  evict() {
    if (this.entries.size <= this.capacity) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      if (entry.pins > 0) continue;
      this.entries.delete(key);
    }
  }

  /** Number of cached entries. */
  get size() {
    return this.entries.size;
  }

  dispose() {
    this.entries.clear();
  }
}

/**
 * Asks Python for thumbnails and hands them to whoever waits. `send(msg)` sends a custom
 * message; `receive(msg, buffers)` takes Python's answer. Requests made in the same task are
 * sent together (at most `batch` ids per message, at most `maxInFlight` messages unanswered);
 * a request cancelled before it is sent (its cell scrolled away) is never sent.
 */
export class ThumbLoader {
  constructor({ send, cache, batch = 128, maxInFlight = 3, schedule = (fn) => setTimeout(fn, 0),
                now = () => performance.now(), later = (fn, ms) => setTimeout(fn, ms) }) {
    this.send = send;
    this.cache = cache;
    this.batch = batch;
    this.maxInFlight = maxInFlight;
    this.schedule = schedule;
    this.waiters = new Map(); // key -> Set(callback)
    this.queued = new Map(); // key -> [kind, id], in request order
    this.sent = new Set(); // keys asked for and not yet answered
    this.inFlight = 0;
    this.seq = 0;
    this.scheduled = false;
    this.requested = 0; // ids sent to Python so far (for tests and the bench)
    this.now = now;
    this.later = later;
    this.quietUntil = 0; // no request leaves before this time (see hold)
    this.waking = false;
  }

  /**
   * Send nothing for `ms` from now (called on every scroll event). Each request to Python
   * makes the kernel busy and idle again, and JupyterLab re-lays out its toolbars on each
   * status change: while a person wheels through the pool, those layouts were the long
   * main-thread tasks. The requests made meanwhile go out together once scrolling pauses.
   */
  hold(ms) {
    this.quietUntil = Math.max(this.quietUntil, this.now() + ms);
  }

  /**
   * Call `callback(url)` with the thumbnail's URL (null: none) now if cached, else once it
   * arrives. Returns a function that cancels the wait.
   */
  request(kind, id, callback) {
    const key = ThumbCache.key(kind, id);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      callback(cached);
      return () => {};
    }
    if (!this.waiters.has(key)) this.waiters.set(key, new Set());
    this.waiters.get(key).add(callback);
    if (!this.sent.has(key) && !this.queued.has(key)) {
      this.queued.set(key, [kind, id]);
      this.kick();
    }
    return () => {
      const set = this.waiters.get(key);
      if (!set) return;
      set.delete(callback);
      if (set.size === 0) {
        this.waiters.delete(key);
        this.queued.delete(key);
      }
    };
  }

  kick() {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Send queued requests, newest first (what was scrolled to last is what the person looks at). */
  flush() {
    const wait = this.quietUntil - this.now();
    if (wait > 0 && this.queued.size) {
      if (!this.waking) {
        this.waking = true;
        this.later(() => {
          this.waking = false;
          this.flush();
        }, wait);
      }
      return;
    }
    while (this.queued.size && this.inFlight < this.maxInFlight) {
      const entries = [...this.queued].reverse();
      const byKind = new Map();
      for (const [key, [kind, id]] of entries) {
        if (!byKind.has(kind)) byKind.set(kind, []);
        const list = byKind.get(kind);
        if (list.length < this.batch) list.push([key, id]);
      }
      const [kind, list] = [...byKind][0];
      for (const [key] of list) {
        this.queued.delete(key);
        this.sent.add(key);
      }
      this.inFlight += 1;
      this.requested += list.length;
      this.send({ type: "thumbs", kind, req: ++this.seq, ids: list.map(([, id]) => id) });
    }
  }

  /** Python's answer: `{type: "thumbs", kind, ids, offsets}` and one buffer of PNGs end to end. */
  receive(msg, buffers) {
    if (!msg || msg.type !== "thumbs") return false;
    const bytes = asBytes(buffers && buffers[0]);
    const offsets = Array.isArray(msg.offsets) ? msg.offsets : [];
    (msg.ids || []).forEach((id, i) => {
      const key = ThumbCache.key(msg.kind, id);
      this.sent.delete(key);
      const a = offsets[i];
      const b = offsets[i + 1];
      const png = Number.isInteger(a) && Number.isInteger(b) && b > a ? bytes.subarray(a, b) : null;
      const url = this.cache.put(key, png);
      const set = this.waiters.get(key);
      if (set) {
        this.waiters.delete(key);
        for (const callback of set) callback(url);
      }
    });
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.flush();
    return true;
  }

  dispose() {
    this.waiters.clear();
    this.queued.clear();
  }
}

/**
 * Binds `img` to thumbnail (kind, id): shows it once it arrives and pins it in the cache while
 * shown; `release()` unpins and cancels. `onMissing()` runs when Python has no thumbnail.
 */
export function bindThumb(loader, img, kind, id, onMissing) {
  const key = ThumbCache.key(kind, id);
  let pinned = false;
  let done = false;
  const cancel = loader.request(kind, id, (url) => {
    if (done) return;
    if (url) {
      loader.cache.pin(key);
      pinned = true;
      img.src = url;
    } else if (onMissing) {
      onMissing();
    }
  });
  return () => {
    done = true;
    cancel();
    if (pinned) loader.cache.unpin(key);
    pinned = false;
  };
}
