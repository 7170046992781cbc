// Preview: the original image beside the activation's heatmap, with a slider for the heatmap's
// opacity over the original. Opens on hover (after a short delay) or Space.

import { h, signed } from "./dom.js";

/**
 * Build the preview panel for activation `act`. `heatStore` holds heatmap-overlay PNGs,
 * `imageStore` plain images; `image` is the activation's entry of the `images` trait (or null).
 * Returns `{node, close}`; `close` gives back the object URLs.
 */
export function buildPreview(doc, act, image, heatStore, imageStore) {
  const acquired = [];
  const take = (store, i) => {
    const url = store && store.has(i) ? store.acquire(i) : null;
    if (url) acquired.push([store, i]);
    return url;
  };
  const imageUrl = image ? take(imageStore, image.thumb) : null;
  const heatUrl = take(heatStore, act.thumb);

  const original = imageUrl
    ? h(doc, "img", { className: "xn-preview-img", attrs: { src: imageUrl, alt: `original image ${act.image_id}` } })
    : h(doc, "div", { className: "xn-placeholder xn-preview-img", text: "no image" });

  const stack = h(doc, "div", { className: "xn-preview-stack" });
  if (imageUrl) stack.appendChild(h(doc, "img", { className: "xn-preview-img", attrs: { src: imageUrl, alt: "" } }));
  const heat = heatUrl
    ? h(doc, "img", { className: "xn-preview-img xn-preview-heat", attrs: { src: heatUrl, alt: `heatmap of x-feature ${act.xfeature}` } })
    : h(doc, "div", { className: "xn-placeholder xn-preview-img xn-preview-heat", text: `x${act.xfeature}` });
  stack.appendChild(heat);

  const slider = h(doc, "input", {
    className: "xn-opacity",
    attrs: { type: "range", min: "0", max: "100", value: "100", "aria-label": "Heatmap opacity" },
  });
  slider.addEventListener("input", () => {
    heat.style.opacity = String(Number(slider.value) / 100);
  });

  const outcome = act.correct === true ? "true positive" : act.correct === false ? "false positive" : "";
  const caption = h(doc, "div", {
    className: "xn-preview-caption",
    text: `${act.image_id} · x${act.xfeature} · contribution ${signed(act.contribution)} · predicted ${act.predicted}` +
      (act.label != null ? ` · label ${act.label}` : "") + (outcome ? ` · ${outcome}` : ""),
  });

  const node = h(doc, "div", {
    className: "xn-preview",
    attrs: { role: "dialog", "aria-label": "Preview" },
    children: [
      h(doc, "div", { className: "xn-preview-pair", children: [original, stack] }),
      h(doc, "label", { className: "xn-opacity-label", text: "Heatmap opacity ", children: [slider] }),
      caption,
    ],
  });
  const close = () => {
    for (const [store, i] of acquired) store.release(i);
    acquired.length = 0;
    node.remove();
  };
  return { node, close, slider, heat };
}
