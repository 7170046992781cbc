// The canvas's assisted naming: the suggestions strip, accept / reject, proposed members, confirm, propose.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mount } from "../src/render.js";
import { FakeModel, fakeMeasure, makeValues, makeWindow, tick } from "./helpers.js";
import { MIN_CONCEPT_SIZE, PROPOSAL_SIZE } from "../src/naming_rules.generated.js";

const XSS = "<img src=x onerror=alert(1)>";

/** 30 activations; concept c1 ("heel") holds img0/x0..img0/x2; `marks` as Python sends them. */
function setup({ marks = {}, name = "heel", n = 30 } = {}) {
  const { window, document, el } = makeWindow();
  const values = makeValues(n);
  const members = values.activations.slice(0, 3).map((a) => a.id);
  values.base_state = {
    ...values.base_state,
    concepts: [{ id: "c1", name, members }],
    unlabeled: values.activations.slice(3).map((a) => a.id),
    marks,
  };
  const model = new FakeModel(values);
  const { canvas, cleanup } = mount({ model, el, measure: fakeMeasure() });
  const q = (sel) => el.querySelector(sel);
  const qa = (sel) => [...el.querySelectorAll(sel)];
  const key = (k, extra = {}) => {
    const active = document.activeElement;
    const target = extra.target || (active && el.contains(active) ? active : canvas.root);
    target.dispatchEvent(new window.KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));
  };
  const click = (node, extra = {}) => node.dispatchEvent(new window.MouseEvent("click", { bubbles: true, ...extra }));
  const custom = (msg) => { for (const fn of model.listeners.get("msg:custom") || []) fn(msg, []); };
  const suggestRequests = () => model.sent.filter((m) => m.type === "suggest");
  const ops = () => model.sent.filter((m) => m.type === "op");
  const stripIds = () => qa(".xn-suggest .xn-sug").map((s) => s.dataset.id);
  const rowIds = (k) => [...q(`.xn-row[data-row="${k}"] .xn-grid`).querySelectorAll(".xn-thumb")]
    .sort((a, b) => a.getAttribute("aria-posinset") - b.getAttribute("aria-posinset")).map((c) => c.dataset.id); // grid order, not DOM order
  /** Python answers the latest suggest request with `ids`. */
  const answer = (ids, extra = {}) => {
    const req = suggestRequests().at(-1);
    custom({ type: "suggestions", req: req.req, concept: req.concept, version: 1, ids, ...extra });
  };
  /** Python publishes a new naming (as after an operation) with `mutate` applied. */
  const publish = (mutate) => {
    const s = structuredClone(model.get("base_state"));
    mutate(s);
    s.version += 1;
    model.emit("base_state", s);
  };
  const close = async () => { cleanup(); await window.happyDOM.close(); };
  return { window, document, el, model, canvas, q, qa, key, click, custom, suggestRequests, ops, stripIds, rowIds, answer, publish, close, members, values };
}

const POOL = (t) => t.values.base_state.unlabeled;

test("S on a concept's image asks Python for suggestions and shows them in its order under that row", async () => {
  const t = setup();
  t.click(t.q('.xn-thumb[data-id="img0/x1"]'));
  t.key("s");
  assert.deepEqual(t.suggestRequests(), [{ type: "suggest", req: 1, concept: "c1", k: 20 }]);
  const strip = t.q('.xn-row[data-row="c1"] .xn-suggest');
  assert.ok(strip, "the strip sits in the concept's row");
  assert.match(strip.textContent, /Suggested for “heel”/);
  assert.match(t.q(".xn-sug-status").textContent, /looking/);
  assert.equal(t.document.activeElement, strip, "the strip has the focus while Python answers");
  const ids = [POOL(t)[7], POOL(t)[2], POOL(t)[11]];
  t.answer(ids);
  assert.deepEqual(t.stripIds(), ids, "exactly Python's ids, in its order");
  assert.equal(t.document.activeElement.dataset.id, ids[0], "then the first suggestion");
  await tick();
  assert.ok(t.qa(".xn-sug img[src^='data:image/png']").length === 3, "thumbnails come through the on-demand path");
  assert.equal(t.q('.xn-row[data-row="c1"] .xn-suggest-btn').getAttribute("aria-pressed"), "true");
  await t.close();
});

test("Python's scores mark each suggestion likely (above 0) or doubtful (at or below 0)", async () => {
  const t = setup();
  t.click(t.q('.xn-thumb[data-id="img0/x1"]'));
  t.key("s");
  const ids = [POOL(t)[7], POOL(t)[2], POOL(t)[11]];
  t.answer(ids, { scores: [0.31, 0, -0.2] });
  const item = (id) => t.q(`.xn-sug[data-id="${id}"]`);
  assert.deepEqual(ids.map((id) => [item(id).classList.contains("xn-sug-likely"), item(id).classList.contains("xn-sug-doubtful")]),
    [[true, false], [false, true], [false, true]]);
  assert.match(item(ids[0]).title, /likely \(score 0\.31/);
  assert.match(item(ids[2]).title, /doubtful \(score -0\.20/);
  t.answer([ids[1]]); // an answer without scores (an older kernel) marks nothing
  assert.equal(t.qa(".xn-sug-likely, .xn-sug-doubtful").length, 0);
  await t.close();
});

test("keyboard in the strip: arrows and Space select, Enter accepts the selection as one op; the strip refreshes", async () => {
  const t = setup();
  t.click(t.q('.xn-thumb[data-id="img0/x0"]'));
  t.key("s");
  const ids = POOL(t).slice(0, 5);
  t.answer(ids);
  t.key(" ");
  t.key("ArrowRight");
  t.key("ArrowRight");
  t.key(" ");
  assert.equal(t.qa(".xn-sug.xn-selected").length, 2);
  assert.match(t.q(".xn-sug-accept").textContent, /Accept selected \(2\)/);
  t.key("Enter");
  assert.deepEqual(t.ops(), [{ type: "op", op: "accept", concept_id: "c1", ids: [ids[0], ids[2]] }]);
  // shown at once: in the concept's row, out of the strip
  assert.deepEqual(t.rowIds("c1"), [...t.members, ids[0], ids[2]]);
  assert.deepEqual(t.stripIds(), [ids[1], ids[3], ids[4]]);
  assert.ok(t.q(".xn-suggest").contains(t.document.activeElement), "the focus stays in the strip");
  // Python confirms: a new naming, and the strip asks again
  t.publish((s) => {
    s.concepts[0].members.push(ids[0], ids[2]);
    s.unlabeled = s.unlabeled.filter((id) => id !== ids[0] && id !== ids[2]);
    s.marks = { [ids[0]]: ["suggestion", false], [ids[2]]: ["suggestion", false] };
  });
  assert.equal(t.suggestRequests().length, 2);
  assert.match(t.q(".xn-sug-status").textContent, /updating/);
  const fresh = [ids[3], ids[1], POOL(t)[9]];
  t.answer(fresh);
  assert.deepEqual(t.stripIds(), fresh);
  // accepted suggestions are placed by the person accepting them: not drawn as proposed
  assert.equal(t.qa(".xn-thumb.xn-proposed").length, 0);
  await t.close();
});

test("Shift+A and the Accept all button accept every suggestion shown as one operation", async () => {
  const t = setup();
  t.click(t.q('.xn-thumb[data-id="img0/x0"]'));
  t.key("s");
  const ids = POOL(t).slice(4, 8);
  t.answer(ids);
  t.key("A", { shiftKey: true });
  assert.deepEqual(t.ops(), [{ type: "op", op: "accept", concept_id: "c1", ids }]);
  assert.deepEqual(t.stripIds(), []);
  assert.match(t.q(".xn-sug-status").textContent, /no suggestions/);
  t.publish((s) => { s.concepts[0].members.push(...ids); s.unlabeled = s.unlabeled.filter((id) => !ids.includes(id)); });
  t.answer([POOL(t)[10], POOL(t)[11]]);
  t.click(t.q(".xn-sug-accept-all"));
  assert.deepEqual(t.ops().at(-1), { type: "op", op: "accept", concept_id: "c1", ids: [POOL(t)[10], POOL(t)[11]] });
  await t.close();
});

test("reject by the ✕ on a thumbnail or by R / Delete on the focused one; the strip drops them at once", async () => {
  const t = setup();
  t.click(t.q('.xn-thumb[data-id="img0/x0"]'));
  t.key("s");
  const ids = POOL(t).slice(0, 4);
  t.answer(ids);
  t.click(t.q(`.xn-sug[data-id="${ids[2]}"] .xn-sug-reject`));
  assert.deepEqual(t.ops(), [{ type: "op", op: "reject", concept_id: "c1", ids: [ids[2]] }]);
  assert.deepEqual(t.stripIds(), [ids[0], ids[1], ids[3]]);
  assert.equal(t.document.activeElement.dataset.id, ids[0]);
  t.key("r");
  assert.deepEqual(t.ops().at(-1), { type: "op", op: "reject", concept_id: "c1", ids: [ids[0]] });
  assert.equal(t.document.activeElement.dataset.id, ids[1], "the next one takes the focus");
  t.key("Delete");
  assert.deepEqual(t.ops().at(-1), { type: "op", op: "reject", concept_id: "c1", ids: [ids[1]] });
  assert.deepEqual(t.stripIds(), [ids[3]]);
  assert.ok(t.rowIds("unlabeled").includes(ids[0]), "a rejected suggestion stays in the pool");
  await t.close();
});

test("single-key shortcuts off: A and R do nothing in the strip, Enter and Delete still do", async () => {
  const t = setup();
  t.model.emit("single_key_shortcuts", false);
  t.click(t.q('.xn-row[data-row="c1"] .xn-suggest-btn'));
  const ids = POOL(t).slice(0, 3);
  t.answer(ids);
  t.key("a");
  t.key("r");
  assert.deepEqual(t.ops(), []);
  t.key("Delete");
  t.key("Enter");
  assert.deepEqual(t.ops(), [{ type: "op", op: "reject", concept_id: "c1", ids: [ids[0]] },
    { type: "op", op: "accept", concept_id: "c1", ids: [ids[1]] }]);
  await t.close();
});

test("Escape or × closes the strip (focus back on the concept's row); the row's button opens and closes it", async () => {
  const t = setup();
  t.click(t.q('.xn-row[data-row="c1"] .xn-suggest-btn'));
  t.answer(POOL(t).slice(0, 2));
  t.key("Escape");
  assert.equal(t.q(".xn-suggest"), null);
  assert.equal(t.document.activeElement.dataset.id, t.members[0]);
  assert.equal(t.q('.xn-row[data-row="c1"] .xn-suggest-btn').getAttribute("aria-pressed"), "false");
  t.click(t.q('.xn-row[data-row="c1"] .xn-suggest-btn'));
  assert.ok(t.q(".xn-suggest"));
  t.click(t.q(".xn-sug-close"));
  assert.equal(t.q(".xn-suggest"), null);
  // S toggles: once to open, again (focus in the strip) to close
  t.click(t.q(`.xn-thumb[data-id="${t.members[1]}"]`));
  t.key("s");
  t.answer(POOL(t).slice(0, 2));
  t.key("s");
  assert.equal(t.q(".xn-suggest"), null);
  await t.close();
});

test("errors: Python's message shows in the strip; answers to older requests are dropped; a deleted concept closes it", async () => {
  const t = setup({ name: XSS });
  t.click(t.q('.xn-thumb[data-id="img0/x0"]'));
  t.key("s");
  assert.match(t.q(".xn-sug-title").textContent, /img src=x/, "the name is text");
  assert.equal(t.el.querySelectorAll("img[src=x]").length, 0);
  t.answer([], { error: "No suggestions: Suggestions need activation descriptors" });
  assert.equal(t.q(".xn-suggest").dataset.status, "error");
  assert.match(t.q(".xn-sug-status").textContent, /descriptors/);
  t.publish((s) => { s.trash.push(s.unlabeled.shift()); });
  const old = t.suggestRequests()[0];
  t.custom({ type: "suggestions", req: old.req, concept: "c1", ids: [POOL(t)[5]] });
  assert.deepEqual(t.stripIds(), [], "an answer to an older request is dropped");
  t.answer([POOL(t)[6]]);
  assert.deepEqual(t.stripIds(), [POOL(t)[6]]);
  t.publish((s) => { s.unlabeled.push(...s.concepts[0].members); s.concepts = []; });
  assert.equal(t.q(".xn-suggest"), null, "the concept is gone: so is its strip");
  assert.equal(t.suggestRequests().length, 2, "and nothing more is asked");
  await t.close();
});

test("S with no concept focused or selected says what to do and asks nothing", async () => {
  const t = setup();
  t.click(t.q(`.xn-thumb[data-id="${POOL(t)[0]}"]`));
  t.key("s");
  assert.deepEqual(t.suggestRequests(), []);
  assert.equal(t.q(".xn-notice").hidden, false);
  assert.match(t.q(".xn-notice-text").textContent, /concept/);
  await t.close();
});

test("proposed members are drawn dashed with a badge; the row confirms them in one op, Y the selected ones", async () => {
  const members = ["img0/x0", "img0/x1", "img0/x2"];
  const t = setup({ marks: { "img0/x0": ["proposal", true], "img0/x1": ["proposal", true], "img0/x2": ["suggestion", false] } });
  const cell = (id) => t.q(`.xn-thumb[data-id="${id}"]`);
  assert.ok(cell(members[0]).classList.contains("xn-proposed"));
  assert.equal(cell(members[0]).querySelector(".xn-prop-badge").hidden, false);
  assert.match(cell(members[0]).title, /not confirmed/);
  assert.ok(!cell(members[2]).classList.contains("xn-proposed"), "an accepted suggestion is not proposed");
  assert.equal(cell(members[2]).querySelector(".xn-prop-badge").hidden, true);
  const row = t.q('.xn-row[data-row="c1"]');
  assert.equal(row.querySelector(".xn-proposed-count").textContent, "2 proposed");
  assert.equal(row.querySelector(".xn-confirm").hidden, false);
  t.click(row.querySelector(".xn-confirm"));
  assert.deepEqual(t.ops(), [{ type: "op", op: "confirm", ids: members.slice(0, 2) }]);
  assert.ok(!cell(members[0]).classList.contains("xn-proposed"), "shown confirmed at once");
  assert.equal(row.querySelector(".xn-confirm").hidden, true);
  // Python's state comes back with the marks cleared; propose some again and confirm with Y
  t.publish((s) => { s.marks = { "img0/x0": ["proposal", true], "img0/x1": ["proposal", false], "img0/x2": ["suggestion", false] }; });
  t.click(cell(members[0]));
  t.click(cell(members[2]), { ctrlKey: true });
  t.key("y");
  assert.deepEqual(t.ops().at(-1), { type: "op", op: "confirm", ids: [members[0]] }, "only the proposed ones of the selection");
  t.click(cell(members[2]));
  t.key("y");
  assert.equal(t.ops().length, 2, "nothing proposed selected: nothing sent");
  await t.close();
});

test("Propose concepts sends one op with the size in the box; Python's notice says what it made", async () => {
  const t = setup();
  const size = t.q(".xn-propose-size");
  assert.equal(size.value, String(PROPOSAL_SIZE), "the Python default, from the generated rules");
  t.click(t.q(".xn-propose"));
  assert.deepEqual(t.ops(), [{ type: "op", op: "propose", size: PROPOSAL_SIZE }]);
  size.value = "40";
  t.click(t.q(".xn-propose"));
  size.value = "1"; // below the smallest concept a proposal may make: raised to it
  t.click(t.q(".xn-propose"));
  assert.deepEqual(t.ops().slice(1).map((op) => op.size), [40, MIN_CONCEPT_SIZE]);
  assert.equal(size.value, String(MIN_CONCEPT_SIZE));
  t.custom({ type: "notice", text: "Proposed 3 concepts: confirm, rename, merge or delete them." });
  assert.equal(t.q(".xn-notice").hidden, false);
  assert.match(t.q(".xn-notice-text").textContent, /Proposed 3 concepts/);
  t.click(t.q(".xn-notice-close"));
  assert.equal(t.q(".xn-notice").hidden, true);
  await t.close();
});

test("an error that is no refusal (no suggestions) leaves the naming on screen as it is", async () => {
  const t = setup();
  // the naming moved on by a delta since the synced base_state
  const first = POOL(t)[0];
  t.custom({ type: "delta", base: 1, version: 2, can_undo: true, can_redo: false, saved_at: null,
    changes: [[{ moves: [[[first], "unlabeled", "trash"]], concepts: [] }, false]] });
  assert.deepEqual(t.rowIds("trash"), [first]);
  t.model.emit("error", "No suggestions: no concept with id 'c9'");
  assert.deepEqual(t.rowIds("trash"), [first], "the older synced base_state is not put back");
  assert.equal(t.q(".xn-error").hidden, false);
  await t.close();
});

test("the help lists the strip's keys in a section of their own", async () => {
  const t = setup();
  t.key("?");
  const shadow = t.q(".xn-help").shadowRoot;
  const text = shadow.textContent;
  assert.match(text, /With the focus on a suggestion/);
  assert.match(text, /Accept all the suggestions shown/);
  assert.match(text, /Confirm the selected proposed members/);
  await t.close();
});
