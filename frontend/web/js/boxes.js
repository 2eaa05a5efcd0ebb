// The boxes of a photo's tags drawn over it. A box is [x, y, w, h] as fractions of the photo (the API's
// `instances`), so percentages place it on the photo at any displayed size, on a phone as on a desktop.

import { el, percent, tagColour } from "./dom.js";

const clamp = (value) => Math.min(1, Math.max(0, Number(value) || 0));

/** Fills `overlay` (positioned over the photo) with one labelled box per instance; returns how many it drew. */
export function drawBoxes(overlay, tags) {
  const boxes = [];
  for (const tag of tags || []) {
    for (const instance of tag.instances || []) {
      const [x, y, w, h] = instance.box.map(clamp);
      const label = el("span", { className: "box-label", text: `${tag.name} ${percent(instance.confidence)}` });
      const box = el(
        "div",
        {
          className: y < 0.06 ? "box label-inside" : "box", // a box at the top edge keeps its label on the photo
          "data-tag": tag.name,
          style: [
            `left:${x * 100}%`,
            `top:${y * 100}%`,
            `width:${Math.min(w, 1 - x) * 100}%`,
            `height:${Math.min(h, 1 - y) * 100}%`,
            `--box-colour:${tagColour(tag.name)}`,
          ].join(";"),
        },
        label,
      );
      boxes.push({ box, area: w * h });
    }
  }
  // Larger boxes first, so a small one inside a large one (a rider on a horse) stays on top and can be pointed at.
  boxes.sort((a, b) => b.area - a.area);
  overlay.replaceChildren(...boxes.map(({ box }) => box));
  highlightBoxes(overlay, null);
  return boxes.length;
}

/** Emphasises the boxes of the tag `name` and dims the others; null shows all alike. */
export function highlightBoxes(overlay, name) {
  const any = Boolean(name) && [...overlay.children].some((box) => box.dataset.tag === name);
  overlay.classList.toggle("has-highlight", any);
  overlay.dataset.highlight = any ? name : "";
  for (const box of overlay.children) box.classList.toggle("highlighted", any && box.dataset.tag === name);
}
