import { test } from "node:test";
import assert from "node:assert/strict";
import { asBytes, ThumbCache, ThumbLoader, bindThumb, pngDataUrl } from "../src/thumbs.js";
import { packBlobs, fakePng } from "./helpers.js";

test("asBytes views DataView, ArrayBuffer and typed arrays without copying", () => {
  const buf = new ArrayBuffer(10);
  new Uint8Array(buf).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const dv = new DataView(buf, 2, 5);
  assert.deepEqual([...asBytes(dv)], [2, 3, 4, 5, 6]);
  assert.equal(asBytes(dv).buffer, buf);
  assert.deepEqual([...asBytes(buf)].length, 10);
  assert.equal(asBytes(null).length, 0);
  assert.throws(() => asBytes("base64 text"), /binary buffer/);
});

test("data URLs carry the PNG's bytes", () => {
  const big = Uint8Array.from({ length: 70000 }, (_, i) => (i * 31) & 255); // more than one chunk
  for (const bytes of [fakePng(3), big]) {
    const url = pngDataUrl(bytes);
    assert.ok(url.startsWith("data:image/png;base64,"));
    assert.deepEqual([...Buffer.from(url.split(",")[1], "base64")], [...bytes]);
  }
});

test("the cache evicts the least recently used unpinned entry", () => {
  const cache = new ThumbCache({ capacity: 3 });
  for (const k of ["a", "b", "c"]) cache.put(k, fakePng(k.charCodeAt(0)));
  assert.equal(cache.get("a"), pngDataUrl(fakePng(97)));
  cache.pin("b");
  cache.put("d", fakePng(100)); // "a" was used last by get(); "b" is pinned: "c" goes
  assert.deepEqual([...cache.entries.keys()].sort(), ["a", "b", "d"]);
  cache.put("e", fakePng(101));
  cache.put("f", fakePng(102));
  assert.ok(cache.has("b"), "a pinned entry survives");
  assert.equal(cache.size, 3);
  cache.unpin("b");
  cache.put("g", fakePng(103));
  assert.equal(cache.has("b"), false);
  assert.equal(cache.put("none", new Uint8Array(0)), null, "no thumbnail: cached as null, no URL");
  assert.equal(cache.get("none"), null);
  assert.equal(cache.get("never"), undefined);
  cache.dispose();
  assert.equal(cache.size, 0);
});

test("the loader batches requests made together, skips cancelled ones and hands out the PNGs", () => {
  const cache = new ThumbCache({ capacity: 100 });
  const sent = [];
  let run = null;
  const loader = new ThumbLoader({ send: (m) => sent.push(m), cache, batch: 3, maxInFlight: 1, schedule: (fn) => { run = fn; } });
  const got = {};
  for (const id of ["a", "b", "c", "d"]) loader.request("heat", id, (url) => { got[id] = url; });
  const cancel = loader.request("heat", "e", () => assert.fail("cancelled"));
  cancel();
  loader.request("heat", "a", (url) => { got.a2 = url; }); // same key twice: asked once
  run();
  assert.equal(sent.length, 1, "at most maxInFlight messages unanswered");
  assert.equal(sent[0].ids.length, 3);
  const answer = (msg) => {
    const chunks = msg.ids.map((id) => (id === "c" ? new Uint8Array(0) : fakePng(id.charCodeAt(0))));
    const { bytes, offsets } = packBlobs(chunks);
    loader.receive({ type: "thumbs", kind: msg.kind, ids: msg.ids, offsets }, [new DataView(bytes.buffer)]);
  };
  answer(sent[0]);
  assert.equal(sent.length, 2, "the answer lets the next batch go");
  answer(sent[1]);
  assert.deepEqual(sent.flatMap((m) => m.ids).sort(), ["a", "b", "c", "d"]);
  assert.equal(got.c, null, "no PNG: null (a placeholder is drawn)");
  for (const id of ["a", "b", "d"]) assert.equal(got[id], pngDataUrl(fakePng(id.charCodeAt(0))));
  assert.equal(got.a2, got.a);
  let now = null;
  loader.request("heat", "b", (url) => { now = url; });
  assert.equal(now, got.b, "cached: answered at once, nothing sent");
  assert.equal(sent.length, 2);
});

test("while scrolling holds the loader, nothing is sent; what was asked meanwhile goes out when it pauses", () => {
  const cache = new ThumbCache({ capacity: 100 });
  const sent = [];
  let clock = 1000;
  const timers = [];
  const loader = new ThumbLoader({
    send: (m) => sent.push(m), cache, batch: 10, maxInFlight: 3, schedule: (fn) => fn(), now: () => clock,
    later: (fn, ms) => timers.push([clock + ms, fn]),
  });
  loader.hold(150); // a scroll event
  loader.request("heat", "a", () => {});
  clock += 60;
  loader.hold(150); // the wheel goes on: the quiet period moves
  loader.request("heat", "b", () => {});
  assert.equal(sent.length, 0, "nothing leaves while scrolling");
  assert.equal(timers.length, 1, "one wake-up is pending, not one per request");
  clock = timers[0][0]; // the first wake-up comes before the quiet period ends: it waits again
  timers.shift()[1]();
  assert.equal(sent.length, 0);
  assert.equal(timers.length, 1);
  assert.equal(timers[0][0], 1000 + 60 + 150);
  clock = timers[0][0];
  timers.shift()[1]();
  assert.deepEqual(sent.map((m) => m.ids), [["b", "a"]], "both in one message, newest first");
  loader.request("heat", "c", () => {}); // not scrolling: sent at once
  assert.equal(sent.length, 2);
});

test("bindThumb pins while shown and unpins on release", () => {
  const cache = new ThumbCache({ capacity: 10 });
  cache.put("heat\u0000a", fakePng(1));
  const loader = new ThumbLoader({ send: () => {}, cache, schedule: () => {} });
  const img = { src: "" };
  const release = bindThumb(loader, img, "heat", "a");
  assert.ok(img.src.startsWith("data:image/png;base64,"));
  assert.equal(cache.entries.get("heat\u0000a").pins, 1);
  release();
  assert.equal(cache.entries.get("heat\u0000a").pins, 0);
});
