import { test } from "node:test";
import assert from "node:assert/strict";
import { asBytes, ThumbStore, LazyImages } from "../src/thumbs.js";
import { FakeObserver, countingUrlApi, packBlobs, fakePng, makeWindow } from "./helpers.js";

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

test("store slices each PNG by offsets, empty slices count as missing", () => {
  const chunks = [fakePng(1), new Uint8Array(0), fakePng(3)];
  const { bytes, offsets } = packBlobs(chunks);
  const store = new ThumbStore(new DataView(bytes.buffer), offsets, { urlApi: countingUrlApi() });
  assert.equal(store.size, 3);
  assert.deepEqual([...store.slice(0)], [...chunks[0]]);
  assert.deepEqual([...store.slice(2)], [...chunks[2]]);
  assert.equal(store.has(1), false);
  assert.equal(store.has(-1), false);
  assert.equal(store.has(3), false);
  assert.equal(store.slice(1), null);
});

test("object URLs are shared, counted and revoked when the last user leaves", async () => {
  const urlApi = countingUrlApi();
  const { bytes, offsets } = packBlobs([fakePng(1), fakePng(2)]);
  const store = new ThumbStore(bytes, offsets, { urlApi });
  const u1 = store.acquire(0);
  const u2 = store.acquire(0);
  assert.equal(u1, u2);
  assert.equal(urlApi.created, 1);
  const blob = urlApi.blobs.get(u1);
  assert.equal(blob.type, "image/png");
  assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [...fakePng(1)]);
  store.release(0);
  assert.equal(urlApi.live.size, 1);
  store.release(0);
  assert.equal(urlApi.live.size, 0);
  assert.equal(store.acquire(5), null);
  store.acquire(1);
  store.dispose();
  assert.equal(urlApi.live.size, 0);
});

test("lazy images get a URL only while on screen", async () => {
  const { window, document } = makeWindow();
  const urlApi = countingUrlApi();
  const n = 50;
  const { bytes, offsets } = packBlobs(Array.from({ length: n }, (_, i) => fakePng(i)));
  const store = new ThumbStore(bytes, offsets, { urlApi });
  const lazy = new LazyImages({ Observer: FakeObserver });
  const observer = FakeObserver.instances.at(-1);
  const imgs = Array.from({ length: n }, (_, i) => {
    const img = document.createElement("img");
    img.dataset.thumb = String(i);
    document.body.appendChild(img);
    lazy.observe(img, store);
    return img;
  });
  assert.equal(urlApi.created, 0, "nothing is decoded before it is on screen");
  observer.setVisible(imgs.slice(0, 8));
  assert.equal(lazy.liveCount, 8);
  assert.equal(urlApi.live.size, 8);
  assert.ok(imgs[3].getAttribute("src").startsWith("blob:"));
  assert.equal(imgs[20].getAttribute("src"), null);
  observer.setVisible(imgs.slice(5, 12)); // scroll: 0..4 leave, 8..11 enter
  assert.equal(urlApi.live.size, 7);
  assert.equal(imgs[0].getAttribute("src"), null);
  assert.equal(urlApi.revoked, 5);
  lazy.unobserve(imgs[6]);
  assert.equal(urlApi.live.size, 6);
  lazy.disconnect();
  assert.equal(urlApi.live.size, 0);
  await window.happyDOM.close();
});

test("without IntersectionObserver images load at once", async () => {
  const { window, document } = makeWindow();
  const { bytes, offsets } = packBlobs([fakePng(1)]);
  const store = new ThumbStore(bytes, offsets, { urlApi: countingUrlApi() });
  const lazy = new LazyImages({ Observer: null });
  const img = document.createElement("img");
  img.dataset.thumb = "0";
  lazy.observe(img, store);
  assert.ok(img.getAttribute("src"));
  await window.happyDOM.close();
});
