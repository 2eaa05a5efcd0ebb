// "Your labels": the user's own labels, each with its status (collecting examples, training, ready), its estimated
// precision and recall, its examples as thumbnails, and Delete (a second click confirms). A label is trained on the
// server in seconds once it has enough examples, so while one is training the list is read again every few seconds.

import { el, percent } from "./dom.js";
import { MIN_EXAMPLES } from "./label-names.js";
import { thumbnailGrid } from "./thumb-grid.js";

const POLL_MS = 2500;
const MAX_POLLS = 60; // about 2.5 minutes; a longer training is shown as "training" until the next refresh
const EXAMPLES_SHOWN = 12;

export class LabelsView {
  /**
   * elements: {list, status}; openImage(record, opener) shows a photo; onTrained() when a label finished training (its
   * tags are on the photos); onDeleted(name) after a label was deleted (the server removes its tags from the photos
   * within seconds); onLoaded(names) after each load of the list.
   */
  constructor({ api, elements, openImage, onTrained, onDeleted, onLoaded = () => {} }) {
    this.onLoaded = onLoaded;
    this.onTrained = onTrained;
    this.onDeleted = onDeleted;
    this.api = api;
    this.$ = elements;
    this.openImage = openImage;
    this.labels = [];
    this.polls = 0;
  }

  /** The names of the user's labels as last loaded (for the name field's suggestions and the client-side checks). */
  names() {
    return this.labels.map((label) => label.name);
  }

  /**
   * Loads the list. options: focus (a label's name: its heading gets focus and its examples are shown), message
   * (what the user is told above the list, kept until the next message), fromPoll (a re-read while one is training).
   */
  async refresh({ focus = null, message = null, fromPoll = false } = {}) {
    clearTimeout(this.timer);
    if (!fromPoll) this.polls = 0;
    if (message !== null) this.message = message;
    if (!this.labels.length && !fromPoll) this.$.status.textContent = "Loading your labels…";
    let labels;
    try {
      ({ items: labels } = await this.api.listLabels());
    } catch (error) {
      this.$.status.textContent = `Could not load your labels: ${error.message}`;
      return;
    }
    const before = this.labels;
    this.labels = labels;
    this.onLoaded(this.names());
    // A poll that finds nothing changed leaves the cards (and any examples shown) as they are.
    if (!fromPoll || JSON.stringify(before) !== JSON.stringify(labels)) this.render(focus);
    if (labels.some((label) => label.status === "training") && this.polls++ < MAX_POLLS) {
      this.timer = setTimeout(() => this.refresh({ fromPoll: true }), POLL_MS);
    }
    const trained = (label) => label.status === "ready" && before.some((old) => old.name === label.name && old.status === "training");
    if (labels.some(trained)) this.onTrained();
  }

  render(focus) {
    const labels = this.labels;
    const message = this.message || "";
    const open = new Set([...this.$.list.querySelectorAll(".label-card.examples-open")].map((card) => card.dataset.label));
    if (focus) open.add(focus);
    this.$.list.replaceChildren(...labels.map((label) => this.card(label, open.has(label.name))));
    this.$.status.textContent = labels.length
      ? `${message}${message ? " " : ""}${labels.length} label${labels.length === 1 ? "" : "s"}.`
      : message || `No labels yet. Select at least ${MIN_EXAMPLES} photos in the gallery and name them to make one.`;
    if (focus) this.$.list.querySelector(`.label-card[data-label="${CSS.escape(focus)}"] h3`)?.focus();
  }

  card(label, showExamples) {
    const examples = el("div", { className: "label-examples" });
    const toggle = el("button", {
      type: "button",
      "aria-expanded": "false",
      "aria-label": `Examples of ${label.name}`,
      text: "Show examples",
      onClick: () => (toggle.getAttribute("aria-expanded") === "true" ? hide() : this.showExamples(label, examples, toggle)),
    });
    const hide = () => {
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "Show examples";
      examples.replaceChildren();
      card.classList.remove("examples-open");
    };
    const actions = el("div", { className: "actions" });
    const card = el(
      "li",
      { className: "label-card", "data-label": label.name, "data-status": label.status },
      el("h3", { tabindex: "-1", text: label.name }),
      el("p", { className: `label-status label-status-${label.status}`, text: statusLine(label) }),
      el("p", { className: "label-metrics", text: metricsLine(label) }),
      actions,
      examples,
    );
    const renderActions = () => {
      const remove = el("button", { type: "button", className: "button-danger", text: "Delete", "aria-label": `Delete label ${label.name}`, onClick: () => askToDelete() });
      actions.replaceChildren(toggle, remove);
    };
    // Deleting removes the label's classifier and the tags it gave; the photos stay. A second click confirms.
    const askToDelete = () => {
      const message = el("p", { className: "status", role: "status", text: `Delete “${label.name}”? Its tags go from your photos; the photos stay.` });
      const confirm = el("button", {
        type: "button",
        className: "button-danger",
        text: "Confirm delete",
        "aria-label": `Confirm delete of label ${label.name}`,
        onClick: async () => {
          confirm.disabled = true;
          try {
            await this.api.deleteLabel(label.name);
          } catch (error) {
            message.textContent = `Could not delete the label: ${error.message}`;
            confirm.disabled = false;
            return;
          }
          await this.refresh({ message: `Label “${label.name}” deleted.` });
          document.getElementById("labels-title")?.focus();
          this.onDeleted(label.name);
        },
      });
      const cancel = el("button", { type: "button", text: "Cancel", onClick: renderActions });
      actions.replaceChildren(confirm, cancel, message);
      confirm.focus();
    };
    renderActions();
    if (showExamples) this.showExamples(label, examples, toggle);
    return card;
  }

  async showExamples(label, container, toggle) {
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = "Hide examples";
    container.closest(".label-card")?.classList.add("examples-open");
    const status = el("p", { className: "hint", role: "status", text: "Loading examples…" });
    container.replaceChildren(status);
    let records;
    try {
      const { example_ids: ids } = await this.api.getLabel(label.name);
      records = await Promise.all(ids.slice(0, EXAMPLES_SHOWN).map((id) => this.api.getImage(id)));
    } catch (error) {
      status.textContent = `Could not load the examples: ${error.message}`;
      return;
    }
    if (!records.length) {
      status.textContent = "No examples yet.";
      return;
    }
    const more = label.examples > records.length ? ` (the first ${records.length} shown)` : "";
    status.textContent = `${label.examples} example${label.examples === 1 ? "" : "s"}${more}.`;
    container.append(thumbnailGrid(records, (record, opener) => this.openImage(record, opener), `Examples of ${label.name}`));
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
