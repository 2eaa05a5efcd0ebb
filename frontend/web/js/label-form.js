// Making a label from photos: "Select photos" puts the gallery in selection mode (each tile a toggle, reachable with
// Tab, Space or Enter to select), then a name and "Create label" send POST /labels with the selected photos as its
// examples. A name the user's labels already have adds the photos to that label. The name is checked here as the
// API checks it (js/label-names.js), and the API's own refusal is shown as it comes.

import { el } from "./dom.js";
import { MAX_EXAMPLES_PER_REQUEST, MIN_EXAMPLES, labelNameProblem } from "./label-names.js";

export class LabelForm {
  /**
   * elements: {toggle, form, count, name, error, suggestions}; gallery: the GalleryView; labels: the LabelsView;
   * onCreated() after a label got its examples (the gallery's tags may change once it is trained).
   */
  constructor({ api, gallery, labels, elements, onCreated }) {
    this.api = api;
    this.gallery = gallery;
    this.labels = labels;
    this.$ = elements;
    this.onCreated = onCreated;
    gallery.onSelectionChange = (count) => this.showCount(count);
    this.$.toggle.addEventListener("click", () => this.setSelecting(!this.gallery.selecting));
    this.$.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.$.form.querySelector("[data-action=cancel]").addEventListener("click", () => {
      this.setSelecting(false);
      this.$.toggle.focus();
    });
    this.$.name.addEventListener("input", () => this.showProblem(""));
  }

  setSelecting(selecting) {
    this.$.toggle.setAttribute("aria-pressed", String(selecting));
    this.$.toggle.textContent = selecting ? "Stop selecting" : "Select photos for a label";
    this.$.form.hidden = !selecting;
    this.showProblem("");
    if (selecting) {
      this.$.suggestions.replaceChildren(...this.labels.names().map((name) => el("option", { value: name })));
    }
    this.gallery.setSelecting(selecting);
  }

  showCount(count) {
    const more = count < MIN_EXAMPLES ? ` A label is trained once it has ${MIN_EXAMPLES} examples.` : "";
    this.$.count.textContent = `${count} photo${count === 1 ? "" : "s"} selected.${more}`;
  }

  showProblem(message) {
    this.$.error.textContent = message;
    if (message) this.$.name.setAttribute("aria-invalid", "true");
    else this.$.name.removeAttribute("aria-invalid");
  }

  async submit() {
    const ids = [...this.gallery.selected];
    const problem =
      labelNameProblem(this.$.name.value, this.labels.names()) ||
      (ids.length ? null : "Select the photos that show it first: click or press Enter on their tiles.") ||
      (ids.length > MAX_EXAMPLES_PER_REQUEST ? `Select at most ${MAX_EXAMPLES_PER_REQUEST} photos at a time.` : null);
    if (problem) {
      this.showProblem(problem);
      this.$.name.focus();
      return;
    }
    const button = this.$.form.querySelector("button[type=submit]");
    button.disabled = true;
    this.$.error.textContent = "";
    this.$.count.textContent = "Saving the label…";
    let label;
    try {
      label = await this.api.createLabel(this.$.name.value.trim(), ids);
    } catch (error) {
      this.showProblem(`Could not save the label: ${error.message}`);
      this.showCount(ids.length);
      return;
    } finally {
      button.disabled = false;
    }
    this.$.name.value = "";
    this.setSelecting(false);
    const examples = `${ids.length} example${ids.length === 1 ? "" : "s"}`;
    await this.labels.refresh({ focus: label.name, message: `Label “${label.name}” saved with ${examples}.` });
    this.onCreated();
  }
}
