// The photo detail view: one image large with its tags' boxes drawn on it, its tags, the corrections editor, and
// "More like this" (js/similar.js).
// A modal <dialog>: the rest of the page is inert while it is open, Escape closes it, and focus goes back to what
// opened it. Hovering or focusing a tag (its row or a button in it) highlights that tag's boxes; hovering a box
// highlights its tag.

import { drawBoxes, highlightBoxes } from "./boxes.js";
import { placeholderIcon, statusText } from "./cards.js";
import { CorrectionsEditor } from "./corrections.js";
import { el } from "./dom.js";
import { SimilarPhotos } from "./similar.js";
import { thumbnailFor } from "./thumbnails.js";

export class DetailView {
  /**
   * `dialog` is the page's <dialog id="detail">, with its parts already in index.html. onChange() is called when a
   * photo opened from "More like this" (which no tile is watching) was corrected or deleted; onCorrected() after
   * every saved correction (one may add an example to the user's own labels).
   */
  constructor({ api, dialog, onChange = () => {}, onCorrected = () => {} }) {
    this.api = api;
    this.onCorrected = onCorrected;
    this.dialog = dialog;
    this.part = (name) => dialog.querySelector(`[data-part="${name}"]`);
    this.similar = new SimilarPhotos({
      api,
      container: this.part("similar"),
      open: (record) => this.open(record, { opener: this.opener, onUpdated: onChange, onDeleted: onChange }),
    });
    this.part("close").addEventListener("click", () => this.close());
    // A click on the backdrop (outside the panel) closes, as on most photo viewers.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) this.close();
    });
    dialog.addEventListener("close", () => this.afterClose());
    // The box layer is moved along with each new photo, so it is kept by reference.
    const overlay = this.part("boxes");
    this.overlay = overlay;
    this.generation = 0;
    const tagOf = (event) => event.target.closest?.("[data-tag]")?.dataset.tag || null;
    const tags = this.part("tags");
    // pointerover/focusin bubble, so one listener serves rows that the editor re-renders.
    tags.addEventListener("pointerover", (event) => this.highlight(tagOf(event)));
    tags.addEventListener("pointerleave", () => this.highlight(this.focusedTag()));
    tags.addEventListener("focusin", (event) => this.highlight(tagOf(event)));
    tags.addEventListener("focusout", (event) => {
      if (!tags.contains(event.relatedTarget)) this.highlight(null);
    });
    overlay.addEventListener("pointerover", (event) => this.highlight(tagOf(event)));
    overlay.addEventListener("pointerleave", () => this.highlight(this.focusedTag()));
  }

  /**
   * Shows `record`. options: opener (focused again on close), onUpdated(record) after a saved correction,
   * onDeleted() after the image was deleted.
   */
  open(record, { opener = null, onUpdated = () => {}, onDeleted = () => {} } = {}) {
    this.record = record;
    this.opener = opener;
    this.onUpdated = onUpdated;
    this.onDeleted = onDeleted;
    const name = record.filename || record.image_id;
    this.part("title").textContent = name;
    this.dialog.dataset.imageId = record.image_id;
    this.dialog.dataset.phase = record.status;
    const status = this.part("status");
    status.textContent = statusText({ phase: record.status === "PENDING" ? "waiting" : record.status, record });
    status.className = `status status-${record.status.toLowerCase()}`;
    this.showPhoto(record, name);
    this.showTags(record);
    this.renderActions();
    this.similar.show(record);
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.scrollTop = 0; // a photo opened from "More like this" starts at its top too
    this.part("title").focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  afterClose() {
    const back = this.opener && this.opener.isConnected ? this.opener : document.getElementById("gallery-title");
    back?.focus();
  }

  showPhoto(record, name) {
    const tags = record.status === "TAGGED" ? record.tags || [] : [];
    const generation = ++this.generation; // a photo still loading for an earlier record must not draw its boxes
    const frame = this.part("photo");
    const caption = this.part("caption");
    this.overlay.replaceChildren();
    const tryFrom = (candidates) => {
      if (!candidates.length) {
        frame.replaceChildren(placeholderIcon());
        caption.textContent = "The photo could not be loaded.";
        return;
      }
      const image = el("img", { src: candidates[0], alt: `Photo ${name}` });
      // An expired URL falls back to this device's small copy (boxes are fractions, so they fit it too).
      image.addEventListener("error", () => generation === this.generation && tryFrom(candidates.slice(1)), { once: true });
      image.addEventListener(
        "load",
        () => {
          if (generation === this.generation) caption.textContent = captionFor(drawBoxes(this.overlay, tags), tags);
        },
        { once: true },
      );
      frame.replaceChildren(image, this.overlay);
    };
    caption.textContent = "Loading the photo…";
    tryFrom(thumbnailFor(record));
  }

  showTags(record) {
    const area = this.part("tags");
    if (record.status !== "TAGGED") {
      area.replaceChildren();
      return;
    }
    const editor = new CorrectionsEditor(record, async (body) => {
      const corrected = await this.api.correctTags(record.image_id, body);
      // PUT answers without the photo's URL; the one we have is still valid.
      this.record = { ...this.record, ...corrected, thumbnail_url: this.record.thumbnail_url };
      this.onUpdated(this.record);
      this.onCorrected();
      return this.record;
    });
    area.replaceChildren(editor.root);
  }

  highlight(name) {
    highlightBoxes(this.overlay, name);
    for (const row of this.part("tags").querySelectorAll(".tag[data-tag]")) {
      row.classList.toggle("highlighted", Boolean(name) && row.dataset.tag === name);
    }
  }

  focusedTag() {
    return document.activeElement?.closest?.('[data-part="tags"] [data-tag]')?.dataset.tag || null;
  }

  renderActions() {
    const name = this.record.filename || this.record.image_id;
    const actions = this.part("actions");
    if (!["TAGGED", "FAILED"].includes(this.record.status)) {
      actions.replaceChildren();
      return;
    }
    const remove = el("button", { type: "button", className: "button-danger", text: "Delete", "aria-label": `Delete ${name}`, onClick: () => this.askToDelete(name) });
    actions.replaceChildren(remove);
  }

  // Deleting cannot be undone, so it takes a second, explicit click; focus moves to the confirmation.
  askToDelete(name) {
    const actions = this.part("actions");
    const message = el("p", { className: "status", role: "status" });
    const confirm = el("button", {
      type: "button",
      className: "button-danger",
      text: "Confirm delete",
      "aria-label": `Confirm delete of ${name}`,
      onClick: async () => {
        confirm.disabled = true;
        try {
          await this.api.deleteImage(this.record.image_id);
        } catch (error) {
          message.textContent = `Could not delete: ${error.message}`;
          confirm.disabled = false;
          return;
        }
        this.opener = null; // it is gone with the image
        this.close();
        this.onDeleted();
      },
    });
    const cancel = el("button", { type: "button", text: "Cancel", onClick: () => this.renderActions() });
    actions.replaceChildren(confirm, cancel, message);
    confirm.focus();
  }
}

function captionFor(drawn, tags) {
  if (!tags.length) return "No object the model knows was found.";
  if (!drawn) return "The model located none of these tags in the photo (no boxes).";
  const located = tags.filter((tag) => (tag.instances || []).length).length;
  const which = `${drawn} box${drawn === 1 ? "" : "es"} for ${located} tag${located === 1 ? "" : "s"}`;
  return `${which}. Point at or focus a tag to highlight its boxes.`;
}
