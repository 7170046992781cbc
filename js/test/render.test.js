import { test } from "node:test";
import assert from "node:assert/strict";
import { mount } from "../src/render.js";
import { DRAG_MIME } from "../src/drop.js";
import { FakeModel, fakeMeasure, fakePng, makeValues, makeWindow, tick } from "./helpers.js";

const XSS = "<img src=x onerror=alert(1)>";

function setup(n = 30, opts = {}) {
  const { window, document, el } = makeWindow();
  const model = new FakeModel({ ...makeValues(n, opts), ...(opts.values || {}) }, { autoAnswer: opts.autoAnswer ?? true });
  const measure = opts.measure || fakeMeasure();
  const { canvas, cleanup } = mount({ model, el, measure, cacheSize: opts.cacheSize });
  const q = (sel) => el.querySelector(sel);
  const qa = (sel) => [...el.querySelectorAll(sel)];
  const thumb = (id) => q(`.xn-thumb[data-id="${id}"]`);
  // ids of the cells a row has in the DOM, in screen order
  const rowIds = (key) => [...q(`.xn-row[data-row="${key}"] .xn-grid`).querySelectorAll(".xn-thumb")]
    .sort((a, b) => a.getAttribute("aria-posinset") - b.getAttribute("aria-posinset")).map((c) => c.dataset.id); // grid order, not DOM order
  const key = (k, extra = {}) => {
    const active = document.activeElement;
    const target = extra.target || (active && el.contains(active) ? active : canvas.root);
    target.dispatchEvent(new window.KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));
  };
  const click = (node, extra = {}) => node.dispatchEvent(new window.MouseEvent("click", { bubbles: true, ...extra }));
  const close = async () => { cleanup(); await window.happyDOM.close(); };
  return { window, document, el, model, canvas, q, qa, thumb, rowIds, key, click, close, cleanup };
}

/** Dispatch a drag event carrying `dt` (happy-dom's DragEvent drops the dataTransfer init). */
function dragEvent(window, type, dt) {
  const e = new window.Event(type, { bubbles: true, cancelable: true });
  Object.defineProperty(e, "dataTransfer", { value: dt });
  return e;
}

/** What Python would publish after `ops`: a state with concepts built from the messages. */
function pythonState(model, mutate) {
  const s = structuredClone(model.get("base_state"));
  mutate(s);
  s.version += 1;
  return s;
}

test("renders the pool, header, progress line and one element per activation", async () => {
  const t = setup(30);
  assert.equal(t.qa(".xn-thumb").length, 30);
  assert.equal(t.rowIds("unlabeled").length, 30);
  assert.ok(t.q(".xn-row[data-row=trash]"));
  assert.equal(t.q(".xn-progress").textContent, "0 named · 30 unlabeled · 0 trash of 30");
  assert.match(t.q(".xn-title").textContent, /Sneaker.*ana/);
  assert.equal(t.q(".xn-root").getAttribute("data-lm-suppress-shortcuts"), "true");
  assert.equal(t.q(".xn-root").style.getPropertyValue("--xn-thumb"), "96px");
  await t.close();
});

test("thumbnails are asked of Python in one batch for the cells shown; missing ones draw a placeholder", async () => {
  const t = setup(30, { missing: [4], autoAnswer: false });
  assert.equal(t.qa(".xn-thumb img[src]").length, 0, "nothing before Python answers");
  await tick();
  assert.equal(t.model.thumbRequests.length, 1, "one batched request");
  assert.deepEqual(t.model.thumbRequests[0].kind, "heat");
  assert.deepEqual([...t.model.thumbRequests[0].ids].sort(), t.model.get("activations").map((a) => a.id).sort());
  t.model.answerThumbs();
  assert.equal(t.qa(".xn-thumb img[src]").length, 29, "every PNG received is shown");
  const expected = `data:image/png;base64,${Buffer.from(fakePng(0)).toString("base64")}`;
  assert.equal(t.thumb("img0/x0").querySelector("img").getAttribute("src"), expected, "the bytes Python sent");
  assert.equal(t.thumb("img1/x1").querySelector(".xn-placeholder").hidden, false);
  assert.equal(t.thumb("img1/x1").querySelector("img").hidden, true);
  t.cleanup();
  assert.equal(t.canvas.cache.size, 0, "teardown empties the cache");
  assert.equal(t.model.listenerCount(), 0, "teardown removes model listeners");
  await t.window.happyDOM.close();
});
test("concept names are shown as text, never parsed as HTML", async () => {
  const t = setup(9, {
    values: {},
  });
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "c1", name: XSS, members: s.unlabeled.splice(0, 2) });
  }));
  const name = t.q('.xn-row[data-row="c1"] .xn-name');
  assert.equal(name.textContent, XSS);
  assert.equal(name.querySelector("img"), null);
  assert.equal(t.el.querySelectorAll("img[src=x]").length, 0);
  assert.ok([...t.q(".xn-move").options].some((o) => o.textContent.endsWith(XSS)));
  assert.equal(t.q('.xn-row[data-row="c1"] .xn-warn').hidden, false, "a concept with 2 members warns");
  await t.close();
});

test("a drop sends one move and shows it at once; Python's state then wins", async () => {
  const t = setup(12);
  t.model.emit("base_state", pythonState(t.model, (s) => s.concepts.push({ id: "c1", name: "toe", members: [] })));
  const ids = ["img0/x0", "img0/x1", "img1/x0"];
  t.click(t.thumb(ids[0]));
  t.click(t.thumb(ids[1]), { ctrlKey: true });
  t.click(t.thumb(ids[2]), { ctrlKey: true });
  const dt = new t.window.DataTransfer();
  t.thumb(ids[1]).dispatchEvent(dragEvent(t.window, "dragstart", dt));
  assert.deepEqual(JSON.parse(dt.getData(DRAG_MIME)).sort(), ids.slice().sort());
  const target = t.q('.xn-row[data-row="c1"]');
  const over = dragEvent(t.window, "dragover", dt);
  target.dispatchEvent(over);
  assert.ok(over.defaultPrevented, "the row accepts our drag");
  target.dispatchEvent(dragEvent(t.window, "drop", dt));
  assert.deepEqual(t.model.sent, [{ type: "op", op: "move", ids, target: "c1" }]);
  assert.deepEqual(t.rowIds("c1"), ids, "optimistic move is on screen before Python answers");
  assert.equal(t.rowIds("unlabeled").length, 9);
  assert.match(t.q(".xn-live").textContent, /Moved 3 images to concept “toe”/);
  // Python refuses (e.g. error) and re-sends the old state: the view follows Python
  assert.equal(t.q(".xn-root").dataset.version, "2");
  t.model.emit("base_state", pythonState(t.model, () => {}));
  assert.equal(t.q(".xn-root").dataset.version, "3");
  assert.deepEqual(t.rowIds("c1"), []);
  assert.equal(t.rowIds("unlabeled").length, 12);
  await t.close();
});

test("a drag from an unselected thumbnail carries only it; a foreign drag is refused", async () => {
  const t = setup(6);
  t.click(t.thumb("img0/x0"));
  const dt = new t.window.DataTransfer();
  t.thumb("img1/x2").dispatchEvent(dragEvent(t.window, "dragstart", dt));
  assert.deepEqual(JSON.parse(dt.getData(DRAG_MIME)), ["img1/x2"]);
  const foreign = new t.window.DataTransfer();
  foreign.setData("text/plain", "x");
  const over = dragEvent(t.window, "dragover", foreign);
  t.q(".xn-row[data-row=trash]").dispatchEvent(over);
  assert.equal(over.defaultPrevented, false);
  t.q(".xn-row[data-row=trash]").dispatchEvent(dragEvent(t.window, "drop", foreign));
  assert.deepEqual(t.model.sent, []);
  await t.close();
});

test("dropping on the new-concept zone asks for the name first, then sends one create (one undo step)", async () => {
  const t = setup(9);
  const dt = new t.window.DataTransfer();
  t.click(t.thumb("img0/x0"));
  t.click(t.thumb("img0/x2"), { shiftKey: true });
  t.thumb("img0/x0").dispatchEvent(dragEvent(t.window, "dragstart", dt));
  t.q(".xn-newzone").dispatchEvent(dragEvent(t.window, "drop", dt));
  assert.deepEqual(t.model.sent, [], "nothing sent before the concept has its name");
  const input = t.q(".xn-row-draft .xn-name-input");
  assert.ok(input, "the new row shows at once with a name box");
  assert.equal(input.value, "Concept 1");
  assert.deepEqual(t.rowIds("__draft__"), ["img0/x0", "img0/x1", "img0/x2"]);
  assert.match(t.q(".xn-progress").textContent, /^3 named/);
  input.value = XSS;
  input.dispatchEvent(new t.window.KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
  assert.deepEqual(t.model.sent, [{ type: "op", op: "create", name: XSS, members: ["img0/x0", "img0/x1", "img0/x2"] }]);
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "k7", name: XSS, members: s.unlabeled.splice(0, 3) });
  }));
  assert.equal(t.q('.xn-row[data-row="k7"] .xn-name').textContent, XSS);
  assert.equal(t.q(".xn-row-draft"), null);
  assert.equal(t.el.querySelectorAll("img[src=x]").length, 0);
  // Escape in the name box makes nothing
  t.click(t.thumb("img1/x0"));
  t.key("n");
  t.q(".xn-row-draft .xn-name-input").dispatchEvent(new t.window.KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
  assert.equal(t.q(".xn-row-draft"), null);
  assert.equal(t.model.sent.length, 1);
  assert.equal(t.document.activeElement, t.canvas.root, "focus stays in the canvas");
  await t.close();
});
test("keyboard: digits move the selection, X trashes, N creates, Ctrl+Z/Ctrl+Shift+Z undo/redo", async () => {
  const t = setup(9);
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "a", name: "A", members: [] }, { id: "b", name: "B", members: [] });
  }));
  t.click(t.thumb("img1/x0"));
  t.click(t.thumb("img1/x1"), { metaKey: true });
  t.key("2");
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "move", ids: ["img1/x0", "img1/x1"], target: "b" });
  assert.deepEqual(t.rowIds("b"), ["img1/x0", "img1/x1"]);
  t.click(t.thumb("img2/x2"));
  t.key("x");
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "move", ids: ["img2/x2"], target: "trash" });
  assert.deepEqual(t.rowIds("trash"), ["img2/x2"]);
  t.key("z", { ctrlKey: true });
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "undo" });
  t.key("Z", { ctrlKey: true, shiftKey: true });
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "redo" });
  t.click(t.thumb("img0/x0"));
  t.key("n");
  t.key("Enter", { target: t.q(".xn-name-input") });
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "create", name: "Concept 3", members: ["img0/x0"] });
  const before = t.model.sent.length;
  t.key("7");
  assert.equal(t.model.sent.length, before, "no concept 7: nothing sent");
  assert.match(t.q(".xn-live").textContent, /no concept 7/);
  await t.close();
});

test("single-key shortcuts can be switched off from the toolbar", async () => {
  const t = setup(6);
  const box = t.q('.xn-keys input');
  assert.equal(box.checked, true);
  box.checked = false;
  box.dispatchEvent(new t.window.Event("change", { bubbles: true }));
  assert.equal(t.model.get("single_key_shortcuts"), false);
  assert.equal(t.model.saved, 1);
  t.click(t.thumb("img0/x0"));
  t.key("x");
  assert.deepEqual(t.model.sent, []);
  t.key("z", { ctrlKey: true });
  assert.deepEqual(t.model.sent, [{ type: "op", op: "undo" }]);
  await t.close();
});

test("row tools: select all, merge checked rows, delete, F2 rename, Escape cancels", async () => {
  const t = setup(9);
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "a", name: "A", members: s.unlabeled.splice(0, 3) }, { id: "b", name: "B", members: s.unlabeled.splice(0, 1) });
  }));
  assert.equal(t.q('.xn-row[data-row="a"] .xn-warn').hidden, true);
  assert.equal(t.q('.xn-row[data-row="b"] .xn-warn').hidden, false);
  t.click(t.q('.xn-row[data-row="a"] [data-action=selectAll]'));
  assert.equal(t.qa(".xn-thumb.xn-selected").length, 3);
  t.key("F2");
  const input = t.q('.xn-row[data-row="a"] .xn-name-input');
  assert.ok(input);
  input.value = "ignored";
  input.dispatchEvent(new t.window.KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.equal(t.model.sent.length, 0);
  assert.equal(t.q('.xn-row[data-row="a"] .xn-name').textContent, "A");
  for (const k of ["b", "a"]) {
    const box = t.q(`.xn-row[data-row="${k}"] .xn-mergebox`);
    box.checked = true;
    box.dispatchEvent(new t.window.Event("change"));
  }
  assert.equal(t.q(".xn-merge").disabled, false);
  t.q(".xn-merge").focus();
  const sentBefore = t.model.sent.length;
  t.click(t.q(".xn-merge"));
  const nameBox = t.q(".xn-merge-dialog input");
  assert.ok(nameBox, "merge asks for the name");
  assert.equal(nameBox.value, "A");
  assert.equal(t.model.sent.length, sentBefore);
  nameBox.value = "toe and heel";
  t.key("Enter", { target: nameBox });
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "merge", concept_ids: ["a", "b"], name: "toe and heel" });
  assert.equal(t.q(".xn-merge-dialog"), null);
  assert.equal(t.q('.xn-row[data-row="a"] .xn-name').textContent, "toe and heel");
  assert.equal(t.q(".xn-merge").disabled, true);
  assert.equal(t.document.activeElement, t.q(".xn-root"), "keys keep working after the button disables itself");
  assert.deepEqual(t.rowIds("a").length, 4);
  t.click(t.q('.xn-row[data-row="a"] [data-action=delete]'));
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "delete", concept_id: "a" });
  assert.equal(t.rowIds("unlabeled").length, 9);
  await t.close();
});

test("the Move to… menu moves the selection without dragging", async () => {
  const t = setup(6);
  const menu = t.q(".xn-move");
  assert.equal(menu.disabled, true);
  t.click(t.thumb("img1/x1"));
  assert.equal(menu.disabled, false);
  menu.value = "trash";
  menu.dispatchEvent(new t.window.Event("change"));
  assert.deepEqual(t.model.sent, [{ type: "op", op: "move", ids: ["img1/x1"], target: "trash" }]);
  assert.match(t.q(".xn-live").textContent, /Moved 1 image to Trash/);
  await t.close();
});

test("pool sort and filters; the selection drops hidden thumbnails", async () => {
  const t = setup(30);
  const acts = t.model.get("activations");
  t.click(t.thumb("img0/x0"));
  const xf = t.q(".xn-xfilter");
  assert.deepEqual([...xf.options].map((o) => o.value), ["", "0", "1", "2"]);
  xf.value = "1";
  xf.dispatchEvent(new t.window.Event("change"));
  assert.deepEqual(t.rowIds("unlabeled"), acts.filter((a) => a.xfeature === 1).map((a) => a.id));
  assert.equal(t.qa(".xn-thumb.xn-selected").length, 0);
  assert.match(t.q('.xn-row[data-row="unlabeled"] .xn-count').textContent, /10 shown of 30/);
  const outcome = t.q(".xn-outcome");
  outcome.value = "fp";
  outcome.dispatchEvent(new t.window.Event("change"));
  assert.deepEqual(t.rowIds("unlabeled"), acts.filter((a) => a.xfeature === 1 && a.correct === false).map((a) => a.id));
  xf.value = "";
  xf.dispatchEvent(new t.window.Event("change"));
  outcome.value = "all";
  outcome.dispatchEvent(new t.window.Event("change"));
  const sort = t.q(".xn-sort");
  sort.value = "contribution_desc";
  sort.dispatchEvent(new t.window.Event("change"));
  const shown = t.rowIds("unlabeled").map((id) => acts.find((a) => a.id === id).contribution);
  assert.deepEqual(shown, acts.map((a) => a.contribution).sort((x, y) => y - x));
  await t.close();
});

test("compare shows every x-feature's heatmap with signed, coloured contributions and toggles", async () => {
  const t = setup(9);
  t.click(t.thumb("img0/x0"));
  t.click(t.thumb("img1/x0"), { ctrlKey: true });
  t.click(t.thumb("img1/x1"), { ctrlKey: true }); // same image twice: one column
  t.key("c");
  assert.equal(t.q(".xn-compare"), null, "the panel waits for the images' x-features");
  await tick();
  assert.equal(t.model.imageRequests, 1);
  const cols = t.qa(".xn-compare-col");
  assert.deepEqual(cols.map((c) => c.dataset.image), ["img0", "img1"]);
  const cells = [...cols[0].querySelectorAll(".xn-compare-cell")];
  assert.equal(cells.length, 4, "every x-feature of the image, significant or not");
  // image 0's contributions in the table: x0 −3, x1 +4, x2 0, x3 −1.5 (not significant)
  assert.deepEqual(cells.map((c) => c.querySelector(".xn-contrib").textContent), ["x0 −3.00 ★", "x1 +4.00 ★", "x2 +0.00 ★", "x3 −1.50"]);
  assert.ok(cells[1].querySelector(".xn-contrib").classList.contains("xn-pos"));
  assert.ok(cells[3].querySelector(".xn-contrib").classList.contains("xn-neg"));
  assert.equal(cols[0].querySelector(".xn-compare-total").textContent, "Σ shown −0.50");
  const toggle = t.q('.xn-compare-toggles input[data-xfeature="3"]');
  toggle.checked = false;
  toggle.dispatchEvent(new t.window.Event("change"));
  assert.equal(cells[3].hidden, true);
  assert.equal(cols[0].querySelector(".xn-compare-total").textContent, "Σ shown +1.00");
  await tick();
  const requested = t.model.thumbRequests.flatMap((r) => r.ids.map((id) => `${r.kind}:${id}`));
  for (const key of ["image:img0", "image:img1", "heat:img0/x3", "heat:img1/x2"]) assert.ok(requested.includes(key), key);
  assert.ok(cols[0].querySelector("img.xn-compare-img").src.startsWith("data:image/png;base64,"));
  // x3 is not significant: Python has no heatmap thumbnail for it, a placeholder is drawn
  assert.ok(cells[3].querySelector(".xn-placeholder"));
  t.key("Escape");
  assert.equal(t.q(".xn-compare"), null);
  const pinned = [...t.canvas.cache.entries].filter(([k, e]) => e.pins > 0 && k.startsWith("image"));
  assert.deepEqual(pinned, [], "closing gives the panel's thumbnails back");
  await t.close();
});
test("preview: Space shows the original beside the heatmap with an opacity slider", async () => {
  const t = setup(6);
  t.click(t.thumb("img1/x2"));
  t.key(" ");
  const panel = t.q(".xn-preview");
  assert.ok(panel);
  assert.equal(panel.querySelectorAll("img").length, 3, "original, and heatmap over original");
  const slider = panel.querySelector(".xn-opacity");
  slider.value = "25";
  slider.dispatchEvent(new t.window.Event("input"));
  assert.equal(panel.querySelector(".xn-preview-heat").style.opacity, "0.25");
  assert.match(panel.querySelector(".xn-preview-caption").textContent, /img1 · x2/);
  t.key(" ");
  assert.equal(t.q(".xn-preview"), null);
  await t.close();
});

test("help lists the shortcuts in a shadow root (host CSS cannot reach it); errors show in a dismissible banner", async () => {
  const t = setup(3);
  t.thumb("img0/x0").focus();
  t.key("?");
  const help = t.q(".xn-help");
  assert.ok(help && help.shadowRoot, "help lives in a shadow root");
  const items = [...help.shadowRoot.querySelectorAll(".item")];
  assert.ok(items.length > 10);
  const undo = items.find((i) => i.querySelector(".keys").textContent === "Ctrl/Cmd + Z");
  assert.equal(undo.querySelector(".what").textContent, "Undo", "each key sits next to its own description");
  assert.equal(help.shadowRoot.querySelectorAll("dl, dt, dd").length, 0);
  help.shadowRoot.querySelector(".close").dispatchEvent(new t.window.MouseEvent("click", { bubbles: true }));
  assert.equal(t.q(".xn-help"), null);
  assert.equal(t.document.activeElement, t.thumb("img0/x0"), "focus returns to where it was");
  assert.equal(t.q(".xn-error").hidden, true);
  t.model.emit("error", `Unknown concept ${XSS}`);
  assert.equal(t.q(".xn-error").hidden, false);
  assert.equal(t.q(".xn-error-text").textContent, `Unknown concept ${XSS}`);
  assert.equal(t.el.querySelectorAll("img[src=x]").length, 0);
  t.click(t.q(".xn-error-close"));
  assert.equal(t.q(".xn-error").hidden, true);
  assert.equal(t.model.get("error"), "", "dismissing clears the trait so a repeat shows again");
  assert.equal(t.model.saved, 1);
  await t.close();
});
test("random drops keep every activation on screen exactly once", async () => {
  const t = setup(24);
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "a", name: "A", members: [] }, { id: "b", name: "B", members: [] });
  }));
  const ids = t.model.get("activations").map((a) => a.id);
  const targets = ["a", "b", "unlabeled", "trash"];
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let step = 0; step < 60; step += 1) {
    const chosen = ids.filter(() => rand() < 0.25);
    if (!chosen.length) continue;
    t.canvas.drop(chosen, targets[Math.floor(rand() * targets.length)]);
    const onScreen = t.qa(".xn-row .xn-thumb").map((n) => n.dataset.id);
    assert.equal(onScreen.length, ids.length);
    assert.deepEqual(new Set(onScreen), new Set(ids));
    const counts = ["unlabeled", "a", "b", "trash"].map((k) => t.rowIds(k).length);
    assert.equal(t.q(".xn-progress").textContent, `${counts[1] + counts[2]} named · ${counts[0]} unlabeled · ${counts[3]} trash of 24`);
  }
  await t.close();
});

test("the new-concept zone sits right under the pool, concepts and trash below", async () => {
  const t = setup(6);
  t.model.emit("base_state", pythonState(t.model, (s) => s.concepts.push({ id: "a", name: "A", members: [] })));
  const order = [...t.q(".xn-rows").children].map((n) => n.dataset.row);
  assert.deepEqual(order, ["unlabeled", "__new__", "a", "trash"]);
  await t.close();
});

test("a large pool keeps only the cells near the visible rows in the DOM, and scrolling moves the window", async () => {
  const t = setup(3000, { cacheSize: 200 });
  const grid = t.q('.xn-row[data-row="unlabeled"] .xn-grid');
  const cells = () => t.qa('.xn-row[data-row="unlabeled"] .xn-thumb');
  // 9 columns of 100 px in 1000 px; 800 px visible = 8 rows, plus 2 rows of overscan below
  assert.equal(cells().length, 90);
  assert.equal(grid.querySelector(".xn-grid-spacer").style.height, `${8 + 334 * 100 - 4}px`);
  await tick();
  assert.equal(t.model.thumbRequests.reduce((n, r) => n + r.ids.length, 0), 90, "only the rendered cells' thumbnails are asked for");
  for (let top = 0; top < 33000; top += 3000) {
    grid.scrollTop = top;
    t.canvas.rowEls.get("unlabeled").vgrid.update();
    await tick();
  }
  assert.ok(cells().length <= 130, `${cells().length} cells in the DOM`);
  assert.ok(t.canvas.cache.size <= 200 + cells().length, "the cache stays bounded");
  const first = cells()[0];
  assert.equal(first.dataset.id, t.canvas.rowEls.get("unlabeled").vgrid.ids[Number(first._index)]);
  // a drop re-renders only the window of the rows it changes
  t.model.emit("base_state", pythonState(t.model, (s) => s.concepts.push({ id: "a", name: "A", members: [] })));
  const ids = cells().slice(0, 2).map((c) => c.dataset.id);
  t.canvas.drop(ids, "a");
  assert.deepEqual(t.rowIds("a"), ids);
  assert.equal(t.q('.xn-row[data-row="unlabeled"] .xn-count').textContent, "2998");
  assert.ok(!cells().some((c) => ids.includes(c.dataset.id)));
  await t.close();
});

test("keys pressed inside the canvas never reach the host's capture-phase shortcut handlers", async () => {
  const t = setup(6);
  const seen = [];
  // JupyterLab listens on the document in the capture phase
  const host = (e) => seen.push(e.key);
  t.document.addEventListener("keydown", host, true);
  t.thumb("img0/x0").focus();
  for (const key of ["m", "b", "a", "x", "c", "v", "z", "y", "d", "M", "Enter", "Escape"]) {
    t.key(key, { shiftKey: key === "M" });
  }
  t.key("Enter", { shiftKey: true });
  assert.deepEqual(seen, [], "no key reached the host");
  t.key("s", { ctrlKey: true });
  assert.deepEqual(seen, ["s"], "Ctrl+S (save the notebook) still reaches the host");
  const outside = t.document.createElement("button");
  t.document.body.appendChild(outside);
  outside.dispatchEvent(new t.window.KeyboardEvent("keydown", { key: "m", bubbles: true }));
  assert.deepEqual(seen, ["s", "m"], "keys outside the canvas are the host's");
  t.document.removeEventListener("keydown", host, true);
  await t.close();
});

test("rubber band: dragging on a grid's background selects the thumbnails it covers", async () => {
  const t = setup(30);
  const grid = t.q('.xn-row[data-row="unlabeled"] .xn-grid');
  const mouse = (type, x, y, extra = {}) => new t.window.MouseEvent(type, { bubbles: true, cancelable: true, button: 0, clientX: x, clientY: y, ...extra });
  grid.dispatchEvent(mouse("mousedown", 2, 2));
  t.document.dispatchEvent(mouse("mousemove", 250, 150));
  assert.ok(t.q(".xn-band"), "the band is drawn");
  t.document.dispatchEvent(mouse("mouseup", 250, 150));
  assert.equal(t.q(".xn-band"), null);
  const pool = t.canvas.rowEls.get("unlabeled").vgrid.ids;
  // 9 columns: the band covers columns 0-2 of rows 0-1
  const expected = [0, 1, 2, 9, 10, 11].map((i) => pool[i]);
  assert.deepEqual([...t.canvas.sel.ids].sort(), expected.sort());
  assert.equal(t.qa(".xn-thumb.xn-selected").length, 6);
  await t.close();
});

test("drop targets above the rows: every concept, Unlabeled, Trash and New concept accept drops and clicks", async () => {
  const t = setup(9);
  t.model.emit("base_state", pythonState(t.model, (s) => s.concepts.push({ id: "a", name: "toe", members: [] })));
  const chips = t.qa(".xn-targets .xn-target");
  assert.deepEqual(chips.map((c) => c.textContent), ["Unlabeled (9)", "1 toe (0)", "Trash (0)", "+ New concept"]);
  const dt = new t.window.DataTransfer();
  t.thumb("img2/x1").dispatchEvent(dragEvent(t.window, "dragstart", dt));
  const chip = t.q('.xn-target[data-target="a"]');
  const over = dragEvent(t.window, "dragover", dt);
  chip.dispatchEvent(over);
  assert.ok(over.defaultPrevented);
  chip.dispatchEvent(dragEvent(t.window, "drop", dt));
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "move", ids: ["img2/x1"], target: "a" });
  assert.equal(t.q('.xn-target[data-target="a"]').textContent, "1 toe (1)");
  t.click(t.thumb("img0/x0"));
  t.click(t.q('.xn-target[data-target="trash"]'));
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "move", ids: ["img0/x0"], target: "trash" });
  await t.close();
});
test("an error from Python drops the optimistic change even when the state did not change", async () => {
  const t = setup(6);
  t.click(t.thumb("img0/x0"));
  t.key("x");
  assert.deepEqual(t.rowIds("trash"), ["img0/x0"]);
  // Python refuses: sets error; its state (the model's) never moved, so no change:state fires
  t.model.emit("error", "activation 'img0/x0' cannot be trashed");
  assert.deepEqual(t.rowIds("trash"), []);
  assert.equal(t.rowIds("unlabeled").length, 6);
  assert.equal(t.q(".xn-error").hidden, false);
  await t.close();
});

test("hover opens a preview that lets clicks through; leaving closes it", async () => {
  const t = setup(6);
  const node = t.thumb("img1/x0");
  node.dispatchEvent(new t.window.MouseEvent("mouseover", { bubbles: true }));
  await new Promise((resolve) => setTimeout(resolve, 600));
  const panel = t.q(".xn-preview");
  assert.ok(panel);
  assert.ok(panel.classList.contains("xn-by-hover"));
  node.dispatchEvent(new t.window.MouseEvent("mouseout", { bubbles: true, relatedTarget: t.q(".xn-toolbar") }));
  assert.equal(t.q(".xn-preview"), null);
  const pinned = [...t.canvas.cache.entries].filter(([k, e]) => e.pins > 0 && k.startsWith("image"));
  assert.deepEqual(pinned, [], "closing gives the preview's thumbnails back");
  await t.close();
});

test("keyboard only: arrows focus and select, Shift extends, Enter toggles, ↓ goes to the next row", async () => {
  const t = setup(9);
  t.model.emit("base_state", pythonState(t.model, (s) => {
    s.concepts.push({ id: "a", name: "A", members: s.unlabeled.splice(6, 3) });
  }));
  t.canvas.root.focus();
  t.key("ArrowRight");
  const pool = t.rowIds("unlabeled");
  assert.equal(t.document.activeElement.dataset.id, pool[0]);
  t.key("ArrowRight");
  t.key("ArrowRight", { shiftKey: true });
  assert.deepEqual([...t.canvas.sel.ids].sort(), [pool[1], pool[2]].sort());
  t.key("ArrowRight", { ctrlKey: true });
  assert.equal(t.document.activeElement.dataset.id, pool[3]);
  t.key("Enter");
  assert.deepEqual([...t.canvas.sel.ids].sort(), [pool[1], pool[2], pool[3]].sort());
  t.key("1");
  assert.deepEqual(t.model.sent.at(-1), { type: "op", op: "move", ids: [pool[1], pool[2], pool[3]], target: "a" });
  t.canvas.root.focus();
  t.key("ArrowRight");
  t.key("ArrowDown");
  assert.equal(t.canvas.rowKeyOf(t.document.activeElement), "a");
  await t.close();
});

test("a delta from Python applies the change with the naming rules; a delta from another version asks for the whole naming", async () => {
  const t = setup(12);
  const deliver = (msg) => { for (const fn of t.model.listeners.get("msg:custom") || []) fn(msg, []); };
  const base = t.model.get("base_state");
  const ids = base.unlabeled;
  const change = {
    moves: [[[ids[5], ids[1]], "unlabeled", "c1"]],
    concepts: [{ id: "c1", before: null, after: { name: "toe cap", index: 0 } }],
  };
  deliver({ type: "delta", base: base.version, version: base.version + 1, changes: [[change, false]], can_undo: true, can_redo: false, saved_at: "t" });
  assert.deepEqual(t.rowIds("c1"), [ids[1], ids[5]], "members in display order");
  assert.equal(t.q(".xn-root").dataset.version, String(base.version + 1));
  assert.equal(t.q(".xn-progress").textContent, "2 named · 10 unlabeled · 0 trash of 12");
  deliver({ type: "delta", base: base.version + 1, version: base.version + 2, changes: [[change, true]], can_undo: false, can_redo: true, saved_at: "t" });
  assert.equal(t.q(".xn-row[data-row=c1]"), null, "undo: the reverse change removes the concept again");
  const before = t.model.resyncs || 0;
  deliver({ type: "delta", base: base.version + 7, version: base.version + 8, changes: [], can_undo: false, can_redo: false, saved_at: "t" });
  assert.equal(t.model.resyncs, before + 1, "a gap: the view asks Python for the whole naming");
  assert.equal(t.q(".xn-root").dataset.version, String(base.version + 2), "and does not apply it");
  await t.close();
});

test("a change Python confirms as predicted keeps the naming on screen; another answer replaces it", async () => {
  const t = setup(12);
  const deliver = (msg) => { for (const fn of t.model.listeners.get("msg:custom") || []) fn(msg, []); };
  const start = pythonState(t.model, (s) => {
    s.concepts = [{ id: "c1", name: "toe", members: [] }];
  });
  t.model.set("base_state", start);
  t.canvas.receiveState();
  const ids = start.unlabeled;
  // two drops before Python answers: both shown at once
  t.canvas.drop([ids[2]], "c1");
  t.canvas.drop([ids[4]], "trash");
  const predicted = t.canvas.base;
  assert.deepEqual(t.rowIds("c1"), [ids[2]]);
  assert.deepEqual(t.rowIds("trash"), [ids[4]]);
  // Python confirms the first: the second stays on screen until its own delta comes
  const move = (id, from, to) => ({ moves: [[[id], from, to]], concepts: [] });
  deliver({ type: "delta", base: start.version, version: start.version + 1, changes: [[move(ids[2], "unlabeled", "c1"), false]], can_undo: true, can_redo: false, saved_at: "t1" });
  assert.deepEqual(t.rowIds("trash"), [ids[4]], "the later prediction is kept");
  assert.equal(t.canvas.confirmed.concepts[0].members[0], ids[2]);
  assert.deepEqual(t.canvas.confirmed.trash, [], "confirmed is Python's naming only");
  // the second confirmed exactly: the predicted naming becomes the confirmed one as it is
  deliver({ type: "delta", base: start.version + 1, version: start.version + 2, changes: [[move(ids[4], "unlabeled", "trash"), false]], can_undo: true, can_redo: false, saved_at: "t2" });
  assert.equal(t.canvas.confirmed.unlabeled, predicted.unlabeled, "no list rebuilt");
  assert.equal(t.q(".xn-root").dataset.version, String(start.version + 2));
  assert.match(t.q(".xn-saved").textContent, /t2/);
  // a drop Python answers with something else (another view moved it first): Python's wins
  t.canvas.drop([ids[6]], "c1");
  deliver({ type: "delta", base: start.version + 2, version: start.version + 3, changes: [[move(ids[6], "unlabeled", "trash"), false]], can_undo: true, can_redo: false, saved_at: "t3" });
  assert.deepEqual(t.rowIds("c1"), [ids[2]]);
  assert.deepEqual(t.rowIds("trash"), [ids[4], ids[6]]);
  assert.deepEqual(t.canvas.predicted, []);
  await t.close();
});
