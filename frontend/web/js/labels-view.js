// "Your labels": the user's own labels, one card each (js/label-card.js: status, estimated precision and recall,
// examples, delete). A label is trained on the server in seconds once it has enough examples, so while one is training
// the list is read again every few seconds.

import { LabelCard } from "./label-card.js";
import { MIN_EXAMPLES } from "./label-names.js";

const POLL_MS = 2500;
const MAX_POLLS = 60; // about 2.5 minutes; a longer training is shown as "training" until the next refresh

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
    this.cards = new Map(); // label name -> LabelCard, kept across reads of the list
    this.polls = 0;
  }

  /** Forgets what was shown (another user signs in). */
  reset() {
    clearTimeout(this.timer);
    this.labels = [];
    this.cards = new Map();
    this.message = "";
    this.$.list.replaceChildren();
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
    this.render(focus);
    if (labels.some((label) => label.status === "training") && this.polls++ < MAX_POLLS) {
      this.timer = setTimeout(() => this.refresh({ fromPoll: true }), POLL_MS);
    }
    const trained = (label) => label.status === "ready" && before.some((old) => old.name === label.name && old.status === "training");
    if (labels.some(trained)) this.onTrained();
  }

  render(focus) {
    const labels = this.labels;
    const message = this.message || "";
    const cards = new Map();
    for (const label of labels) {
      const card = this.cards.get(label.name) || this.newCard(label);
      card.update(label);
      cards.set(label.name, card);
    }
    this.cards = cards;
    const roots = [...cards.values()].map((card) => card.root);
    const list = this.$.list;
    // Nodes taken out of the page lose keyboard focus, so the list is only rebuilt when a label came or went.
    if (roots.length !== list.children.length || roots.some((root, i) => list.children[i] !== root)) list.replaceChildren(...roots);
    this.$.status.textContent = labels.length
      ? `${message}${message ? " " : ""}${labels.length} label${labels.length === 1 ? "" : "s"}.`
      : message || `No labels yet. Select at least ${MIN_EXAMPLES} photos in the gallery and name them to make one.`;
    const focused = focus && cards.get(focus);
    if (focused) {
      if (!focused.examplesShown()) focused.showExamples();
      focused.heading.focus();
    }
  }

  newCard(label) {
    return new LabelCard({
      api: this.api,
      label,
      openImage: this.openImage,
      onDelete: async (name) => {
        await this.api.deleteLabel(name);
        await this.refresh({ message: `Label “${name}” deleted.` });
        document.getElementById("labels-title")?.focus();
        this.onDeleted(name);
      },
    });
  }
}
