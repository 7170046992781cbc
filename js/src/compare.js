// Compare: up to 8 selected images side by side with every x-feature's heatmap and its
// contribution (positive red, negative blue), each x-feature switchable, as in the XNN
// paper's human-study interface.

import { h, signed } from "./dom.js";
import { HEAT, IMAGE } from "./thumbs.js";

export const MAX_COMPARE = 8;

/** The distinct image ids of the selected activations, in order, at most MAX_COMPARE. */
export function compareImageIds(selectedIds, byId) {
  const out = [];
  for (const id of selectedIds) {
    const a = byId.get(id);
    if (a && !out.includes(a.image_id)) out.push(a.image_id);
    if (out.length === MAX_COMPARE) break;
  }
  return out;
}

/** Sum of the contributions of the x-features that are switched on. */
export function shownTotal(xfeatures, enabled) {
  return xfeatures.filter((x) => enabled.has(x.xfeature)).reduce((s, x) => s + (Number(x.contribution) || 0), 0);
}

/**
 * Build the compare panel for `imageIds`. `imagesById` maps image id -> `{image_id, xfeatures:
 * [{id, xfeature, contribution, value, significant}]}`; `bind(img, kind, key, onMissing)`
 * fills an image on demand (thumbs.js `bindThumb`). Returns `{node, close}`; `close` gives the
 * thumbnails back.
 */
export function buildCompare(doc, imageIds, imagesById, bind) {
  const releases = [];
  const picture = (kind, key, alt, missingText) => {
    const img = h(doc, "img", { className: "xn-compare-img", attrs: { alt } });
    releases.push(bind(img, kind, key, () => {
      img.replaceWith(h(doc, "div", { className: "xn-placeholder xn-compare-img", text: missingText }));
    }));
    return img;
  };
  const images = imageIds.map((id) => imagesById.get(id) || { image_id: id, xfeatures: [] });
  const allX = [...new Set(images.flatMap((im) => im.xfeatures.map((x) => x.xfeature)))].sort((a, b) => a - b);
  const enabled = new Set(allX);

  const toggles = h(doc, "div", { className: "xn-compare-toggles", attrs: { role: "group", "aria-label": "x-features shown" } });
  const cellsByX = new Map(allX.map((x) => [x, []]));
  const totals = [];

  const refresh = () => {
    for (const [x, cells] of cellsByX) for (const cell of cells) cell.hidden = !enabled.has(x);
    totals.forEach(({ node, image }) => {
      node.textContent = `Σ shown ${signed(shownTotal(image.xfeatures, enabled))}`;
    });
  };

  for (const x of allX) {
    const box = h(doc, "input", { attrs: { type: "checkbox", checked: true, "data-xfeature": x } });
    box.checked = true;
    box.addEventListener("change", () => {
      if (box.checked) enabled.add(x);
      else enabled.delete(x);
      refresh();
    });
    toggles.appendChild(h(doc, "label", { className: "xn-compare-toggle", children: [box, doc.createTextNode(` x${x}`)] }));
  }

  const columns = images.map((image) => {
    const head = h(doc, "div", { className: "xn-compare-head", text: image.image_id });
    const original = picture(IMAGE, image.image_id, `image ${image.image_id}`, "no image");
    const total = h(doc, "div", { className: "xn-compare-total" });
    totals.push({ node: total, image });
    const col = h(doc, "div", { className: "xn-compare-col", attrs: { "data-image": image.image_id }, children: [head, original, total] });
    const byX = new Map(image.xfeatures.map((x) => [x.xfeature, x]));
    for (const x of allX) {
      const xf = byX.get(x);
      let cell;
      if (!xf) {
        cell = h(doc, "div", { className: "xn-compare-cell xn-compare-empty", text: `x${x}: –` });
      } else {
        const pic = picture(HEAT, xf.id, `x-feature ${x} heatmap`, `x${x}`);
        const sign = xf.contribution > 0 ? "xn-pos" : xf.contribution < 0 ? "xn-neg" : "xn-zero";
        const label = h(doc, "div", {
          className: `xn-contrib ${sign}`,
          text: `x${x} ${signed(xf.contribution)}${xf.significant ? " ★" : ""}`,
        });
        cell = h(doc, "div", { className: "xn-compare-cell", attrs: { "data-xfeature": x }, children: [pic, label] });
      }
      cellsByX.get(x).push(cell);
      col.appendChild(cell);
    }
    return col;
  });
  refresh();

  const node = h(doc, "div", {
    className: "xn-compare",
    attrs: { role: "dialog", "aria-label": "Compare images" },
    children: [
      h(doc, "div", { className: "xn-panel-title", text: `Compare ${images.length} image${images.length === 1 ? "" : "s"}` }),
      toggles,
      h(doc, "div", { className: "xn-compare-grid", children: columns }),
    ],
  });
  const close = () => {
    for (const release of releases) release();
    releases.length = 0;
    node.remove();
  };
  return { node, close, enabled, refresh };
}
