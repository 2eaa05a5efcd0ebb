// One uploaded image as a card: thumbnail, name, status, tags with confidence bars and parent category, and actions
// (the photo detail view, with its boxes and corrections, opens from here).
// The card's elements are created once and updated in place, so the status line stays one live region that screen
// readers announce as it changes.

import { el, percent, renderTags } from "./dom.js";

/**
 * A card whose parts are updated with `update(state)`.
 * state: {phase: "rejected"|"uploading"|"waiting"|"TAGGED"|"FAILED"|"error", message?, progress?, record?,
 *         thumbnail?, canRetry?}
 */
export class ImageCard {
  /** onOpen(opener) shows the image in the photo detail view, where its boxes and corrections are. */
  constructor({ title, onRetry, onDelete, onOpen }) {
    this.onRetry = onRetry;
    this.onDelete = onDelete;
    this.onOpen = onOpen;
    this.title = title;
    this.thumb = el("div", { className: "thumb" });
    this.status = el("p", { className: "status", role: "status" });
    this.progress = el("progress", { max: "1", value: "0", hidden: true, "aria-label": `Upload progress of ${title}` });
    this.tags = el("div", { className: "tag-area" });
    this.actions = el("div", { className: "actions" });
    this.root = el(
      "li",
      { className: "card" },
      this.thumb,
      el("div", { className: "card-body" }, el("p", { className: "card-title", text: title }), this.status, this.progress, this.tags, this.actions),
    );
  }

  /** `src` may be a list of candidates (e.g. the API's presigned URL, then this device's copy): the first that loads. */
  setThumbnail(src, alt) {
    showPhoto(this.thumb, src, alt);
  }

  update(state) {
    this.lastState = state;
    this.root.dataset.phase = state.phase;
    if (state.record) this.root.dataset.imageId = state.record.image_id;
    this.status.className = `status status-${state.phase.toLowerCase()}`;
    this.status.textContent = statusText(state);
    this.progress.hidden = state.phase !== "uploading";
    if (state.phase === "uploading") this.progress.value = state.progress || 0;
    this.tags.replaceChildren(state.phase === "TAGGED" && state.record ? this.tagView(state.record) : "");
    this.renderActions(state);
  }

  tagView(record) {
    const tags = record.tags || [];
    return tags.length ? renderTags(tags) : el("p", { className: "hint", text: "No object the model knows was found." });
  }

  renderActions(state) {
    const buttons = [];
    if (state.record && this.onOpen && state.phase === "TAGGED") {
      const open = el("button", { type: "button", className: "button-primary", text: "Boxes and corrections", "aria-label": `Open ${this.title}`, onClick: () => this.onOpen(open) });
      buttons.push(open);
    }
    if (state.canRetry && this.onRetry) {
      buttons.push(el("button", { type: "button", text: "Retry", "aria-label": `Retry ${this.title}`, onClick: () => this.onRetry() }));
    }
    if (state.record && this.onDelete && ["TAGGED", "FAILED"].includes(state.phase)) {
      buttons.push(el("button", { type: "button", className: "button-danger", text: "Delete", "aria-label": `Delete ${this.title}`, onClick: () => this.askToDelete() }));
    }
    this.actions.replaceChildren(...buttons);
  }

  // Deleting cannot be undone, so it takes a second, explicit click; focus moves to the confirmation.
  askToDelete() {
    const confirm = el("button", {
      type: "button",
      className: "button-danger",
      text: "Confirm delete",
      "aria-label": `Confirm delete of ${this.title}`,
      onClick: async () => {
        confirm.disabled = true;
        try {
          await this.onDelete();
          this.root.remove();
        } catch (error) {
          this.status.textContent = `Could not delete: ${error.message}`;
          confirm.disabled = false;
        }
      },
    });
    const cancel = el("button", { type: "button", text: "Cancel", onClick: () => this.renderActions(this.lastState) });
    this.actions.replaceChildren(confirm, cancel);
    confirm.focus();
  }
}

/** Shows the first of `src` (one URL or a list) that loads in `container`, else a placeholder glyph. */
export function showPhoto(container, src, alt) {
  const candidates = (Array.isArray(src) ? src : [src]).filter(Boolean);
  if (!candidates.length) {
    container.replaceChildren(placeholderIcon());
    return;
  }
  const image = el("img", { src: candidates[0], alt, loading: "lazy" });
  // An expired URL or a deleted object must not leave a broken-image icon behind.
  image.addEventListener("error", () => showPhoto(container, candidates.slice(1), alt), { once: true });
  container.replaceChildren(image);
}

// Material's "image" glyph, drawn inline so it needs no icon font (phones may lack emoji fonts).
export function placeholderIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "thumb-placeholder");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M21 19V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2zM8.5 13.5l2.5 3 3.5-4.5 4.5 6H5z");
  svg.append(path);
  return svg;
}

export function statusText(state) {
  switch (state.phase) {
    case "rejected":
      return `Not uploaded: ${state.message}`;
    case "uploading":
      return `Uploading… ${percent(state.progress || 0)}`;
    case "waiting":
      return state.message || "Uploaded. Waiting for tags…";
    case "TAGGED":
      return `Tagged${state.record.model_version ? ` by ${state.record.model_version}` : ""}`;
    case "FAILED":
      return `Failed: ${state.record.error || "no reason was recorded"}`;
    default:
      return `Failed: ${state.message}`;
  }
}
