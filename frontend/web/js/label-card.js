// One of the user's labels in "Your labels": its name, status, estimated precision and recall, its examples as
// thumbnails (shown on request), and Delete (a second click confirms). The card is updated in place as the label
// changes (while it trains the list is read every few seconds), so shown examples and keyboard focus stay put.

import { el, percent } from "./dom.js";
import { MIN_EXAMPLES } from "./label-names.js";
import { thumbnailGrid } from "./thumb-grid.js";

const EXAMPLES_SHOWN = 12;

export class LabelCard {
  /** openImage(record, opener) shows a photo; onDelete(name) deletes the label (throws the API's refusal). */
  constructor({ api, label, openImage, onDelete }) {
    this.api = api;
    this.openImage = openImage;
    this.onDelete = onDelete;
    this.name = label.name;
    this.statusLine = el("p");
    this.metrics = el("p", { className: "label-metrics" });
    this.examples = el("div", { className: "label-examples" });
    this.toggle = el("button", {
      type: "button",
      "aria-expanded": "false",
      "aria-label": `Examples of ${label.name}`,
      text: "Show examples",
      onClick: () => (this.examplesShown() ? this.hideExamples() : this.showExamples()),
    });
    this.actions = el("div", { className: "actions" });
    this.heading = el("h3", { tabindex: "-1", text: label.name });
    this.root = el("li", { className: "label-card", "data-label": label.name }, this.heading, this.statusLine, this.metrics, this.actions, this.examples);
    this.renderActions();
    this.update(label);
  }

  /** Shows the label as the API now has it; examples shown are read again only when their number changed. */
  update(label) {
    const reload = this.label && this.examplesShown() && this.label.examples !== label.examples;
    this.label = label;
    this.root.dataset.status = label.status;
    this.statusLine.className = `label-status label-status-${label.status}`;
    this.statusLine.textContent = statusLine(label);
    this.metrics.textContent = metricsLine(label);
    if (reload) this.showExamples();
  }

  examplesShown() {
    return this.toggle.getAttribute("aria-expanded") === "true";
  }

  hideExamples() {
    this.toggle.setAttribute("aria-expanded", "false");
    this.toggle.textContent = "Show examples";
    this.examples.replaceChildren();
  }

  async showExamples() {
    this.toggle.setAttribute("aria-expanded", "true");
    this.toggle.textContent = "Hide examples";
    const generation = (this.generation = (this.generation || 0) + 1); // a slower, older load must not land last
    const status = el("p", { className: "hint", role: "status", text: "Loading examples…" });
    this.examples.replaceChildren(status);
    let records;
    try {
      const { example_ids: ids } = await this.api.getLabel(this.name);
      records = await Promise.all(ids.slice(0, EXAMPLES_SHOWN).map((id) => this.api.getImage(id)));
    } catch (error) {
      status.textContent = `Could not load the examples: ${error.message}`;
      return;
    }
    if (generation !== this.generation || !this.examplesShown()) return;
    if (!records.length) {
      status.textContent = "No examples yet.";
      return;
    }
    const count = this.label.examples;
    const more = count > records.length ? ` (the first ${records.length} shown)` : "";
    status.textContent = `${count} example${count === 1 ? "" : "s"}${more}.`;
    this.examples.append(thumbnailGrid(records, this.openImage, `Examples of ${this.name}`));
  }

  renderActions() {
    const remove = el("button", { type: "button", className: "button-danger", text: "Delete", "aria-label": `Delete label ${this.name}`, onClick: () => this.askToDelete() });
    this.actions.replaceChildren(this.toggle, remove);
  }

  // Deleting removes the label's classifier and the tags it gave; the photos stay. A second click confirms.
  askToDelete() {
    const message = el("p", { className: "status", role: "status", text: `Delete “${this.name}”? Its tags go from your photos; the photos stay.` });
    const confirm = el("button", {
      type: "button",
      className: "button-danger",
      text: "Confirm delete",
      "aria-label": `Confirm delete of label ${this.name}`,
      onClick: async () => {
        confirm.disabled = true;
        try {
          await this.onDelete(this.name);
        } catch (error) {
          message.textContent = `Could not delete the label: ${error.message}`;
          confirm.disabled = false;
        }
      },
    });
    const cancel = el("button", { type: "button", text: "Cancel", onClick: () => this.renderActions() });
    this.actions.replaceChildren(confirm, cancel, message);
    confirm.focus();
  }
}

function statusLine(label) {
  const examples = `${label.examples} example${label.examples === 1 ? "" : "s"}`;
  const negatives = label.negatives ? `, ${label.negatives} marked wrong` : "";
  switch (label.status) {
    case "collecting":
      // With enough examples it can still wait: the API says why (e.g. too few of the user's other photos).
      if (label.reason) return `Not trained yet (${examples}${negatives}): ${label.reason}`;
      return `Collecting examples: ${label.examples} of the ${MIN_EXAMPLES} it needs before it is trained.`;
    case "training":
      return `Training on ${examples}${negatives}…`;
    case "ready":
      return `Ready: trained on ${examples}${negatives}; it tags your photos.`;
    default:
      return `${label.status} (${examples})`;
  }
}

function metricsLine(label) {
  if (label.precision === null || label.precision === undefined) {
    return label.status === "ready" ? "Precision and recall could not be estimated from so few examples." : "Precision and recall are estimated once it is trained.";
  }
  const recall = label.recall === null || label.recall === undefined ? "" : `, recall ${percent(label.recall)}`;
  return `Estimated precision ${percent(label.precision)}${recall}.`;
}
