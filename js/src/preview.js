// Preview: the original image beside the activation's heatmap, with a slider for the heatmap's
// opacity over the original. Opens on hover (after a short delay) or Space.

import { h, signed } from "./dom.js";
import { HEAT, IMAGE } from "./thumbs.js";

/**
 * Build the preview panel for activation `act`. `bind(img, kind, key, onMissing)` fills an
 * image with a thumbnail fetched on demand and returns its release function (thumbs.js
 * `bindThumb`). Returns `{node, close}`; `close` gives the thumbnails back.
 */
export function buildPreview(doc, act, bind) {
  const releases = [];
  const picture = (className, kind, key, alt, missingText) => {
    const img = h(doc, "img", { className, attrs: { alt } });
    releases.push(bind(img, kind, key, () => {
      img.replaceWith(h(doc, "div", { className: `xn-placeholder ${className}`, text: missingText }));
    }));
    return img;
  };
  const original = picture("xn-preview-img", IMAGE, act.image_id, `original image ${act.image_id}`, "no image");
  const stack = h(doc, "div", { className: "xn-preview-stack" });
  stack.appendChild(picture("xn-preview-img", IMAGE, act.image_id, "", ""));
  const heat = picture("xn-preview-img xn-preview-heat", HEAT, act.id, `heatmap of x-feature ${act.xfeature}`, `x${act.xfeature}`);
  stack.appendChild(heat);

  const slider = h(doc, "input", {
    className: "xn-opacity",
    attrs: { type: "range", min: "0", max: "100", value: "100", "aria-label": "Heatmap opacity" },
  });
  slider.addEventListener("input", () => {
    const shown = stack.querySelector(".xn-preview-heat");
    if (shown) shown.style.opacity = String(Number(slider.value) / 100);
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
    for (const release of releases) release();
    releases.length = 0;
    node.remove();
  };
  return { node, close, slider, heat };
}
