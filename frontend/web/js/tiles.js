// One gallery image as a tile: the photo, its name and one status line (its tags once tagged, the reason when it
// failed). The whole tile is one button that opens the photo detail view (or, in selection mode, selects the photo);
// a retriable failure also offers Retry.

import { placeholderIcon, statusText } from "./cards.js";
import { el } from "./dom.js";
import { isCocoName } from "./label-names.js";

const TAGS_ON_A_TILE = 3;

export class GalleryTile {
  /** onOpen(opener) opens the detail view; onRetry() re-queues a retriable failure. */
  constructor({ title, onOpen, onRetry }) {
    this.title = title;
    this.onRetry = onRetry;
    this.thumb = el("span", { className: "tile-thumb" });
    this.button = el(
      "button",
      { type: "button", className: "tile-open", "aria-label": `Open ${title}`, onClick: () => onOpen(this.button) },
      this.thumb,
      el("span", { className: "tile-title", text: title }),
    );
    this.status = el("p", { className: "status", role: "status" });
    this.actions = el("div", { className: "actions" });
    this.root = el("li", { className: "tile" }, this.button, this.status, this.actions);
  }

  /**
   * In the gallery's selection mode the tile's button selects the photo (a toggle, aria-pressed) instead of opening
   * it; a photo that is not tagged cannot be a label's example, so it cannot be selected.
   */
  setSelection({ selecting, selected = false, selectable = true }) {
    this.root.classList.toggle("selecting", selecting);
    this.root.classList.toggle("selected", selecting && selected);
    this.button.setAttribute("aria-label", `${selecting ? "Select" : "Open"} ${this.title}`);
    if (selecting) this.button.setAttribute("aria-pressed", String(selected));
    else this.button.removeAttribute("aria-pressed");
    this.button.disabled = selecting && !selectable;
  }

  /** The first of the candidate URLs that loads, else a placeholder (e.g. for a file that is not an image). */
  setThumbnail(candidates, alt) {
    if (!candidates.length) {
      this.thumb.replaceChildren(placeholderIcon());
      return;
    }
    const image = el("img", { src: candidates[0], alt, loading: "lazy" });
    image.addEventListener("error", () => this.setThumbnail(candidates.slice(1), alt), { once: true });
    this.thumb.replaceChildren(image);
  }

  /** state: {phase: "waiting"|"TAGGED"|"FAILED"|"error", record, message?, canRetry?} */
  update(state) {
    this.root.dataset.phase = state.phase;
    this.root.dataset.imageId = state.record.image_id;
    this.status.className = `status status-${state.phase.toLowerCase()}`;
    if (state.phase === "TAGGED") this.status.replaceChildren(...tagSummary(state.record));
    else this.status.textContent = statusText(state);
    const retry =
      state.canRetry && this.onRetry
        ? el("button", { type: "button", text: "Retry", "aria-label": `Retry ${this.title}`, onClick: () => this.onRetry() })
        : null;
    this.actions.replaceChildren(...(retry ? [retry] : []));
  }
}

// What the user would call the photo: the corrected tags when they corrected it, else the model's best few. The tags
// of the user's own labels come first and are marked, so they stand out from the model's COCO tags.
function tagSummary(record) {
  const tags = [...(record.tags || []), ...((record.corrections && record.corrections.tags) || [])];
  // Marked are the tags of the user's own labels (found by a label's classifier, or added by hand); a COCO tag the
  // user added is a correction of the model, shown as the model's tags are.
  const sourceOf = new Map(tags.filter((tag) => !isCocoName(tag.name)).map((tag) => [tag.name, tag.source]));
  const predicted = (record.tags || []).map((tag) => tag.name);
  const all = record.corrections ? record.corrections.labels : predicted;
  // The user's own labels first: they are what the user asked for, and a tile has room for only a few tags. (A
  // correction's labels are what the next training run learns; the own labels' classifiers' tags come on top.)
  const own = (name) => ["custom", "user"].includes(sourceOf.get(name));
  const names = [...new Set([...all, ...predicted].filter(own)), ...all.filter((name) => !own(name))];
  if (!names.length) return ["No tags"];
  const shown = names.slice(0, TAGS_ON_A_TILE).flatMap((name, i) => [i ? ", " : "", tileTag(name, sourceOf.get(name))]);
  const more = names.length > TAGS_ON_A_TILE ? ` +${names.length - TAGS_ON_A_TILE}` : "";
  return [...shown, more].filter(Boolean);
}

function tileTag(name, source) {
  if (source !== "custom" && source !== "user") return name;
  const hint = source === "custom" ? " (your label)" : " (added by you)";
  return el("span", { className: `tile-tag tile-tag-${source}`, "data-tag": name, "data-source": source }, name, el("span", { className: "visually-hidden", text: hint }));
}
