// Correcting a tagged image: mark each predicted tag right or wrong, add tags the model missed, save. An added tag is
// one of COCO's 80 or a name of the user's own (js/label-names.js): that makes the photo an example of that label.
// PUT /images/{id}/tags replaces the user's earlier correction, so the editor always sends the whole state.
// The next training run learns (predicted - rejected) | confirmed | added for this image.

import { el, renderTagRow } from "./dom.js";
import { isCocoName, labelNameProblem, sameLabel } from "./label-names.js";
import { COCO_CATEGORIES } from "./vocabulary.js";

let datalist = null;
let labelNames = [];

// One shared <datalist> of the 80 category names and the user's own labels serves every editor's "missing tag" field.
function vocabularyList() {
  if (!datalist) {
    datalist = el("datalist", { id: "coco-categories" });
    document.body.append(datalist);
  }
  datalist.replaceChildren(...[...labelNames, ...COCO_CATEGORIES].map((name) => el("option", { value: name })));
  return "coco-categories";
}

/** The user's own label names, suggested first in the "missing tag" field. */
export function suggestLabels(names) {
  labelNames = [...names];
  if (datalist) vocabularyList();
}

export class CorrectionsEditor {
  /**
   * @param {object} record the image as GET /images/{id} returns it (status TAGGED)
   * @param {(body: {confirm: string[], reject: string[], add: string[]}) => Promise<object>} save returns the new record
   */
  constructor(record, save) {
    this.record = record;
    this.save = save;
    const previous = record.corrections || {};
    this.verdicts = new Map(); // tag name -> "confirm" | "reject"
    for (const name of previous.confirmed || []) this.verdicts.set(name, "confirm");
    for (const name of previous.rejected || []) this.verdicts.set(name, "reject");
    this.added = [...(previous.added || [])];
    this.message = el("p", { className: "corrections-status", role: "status" });
    this.root = el("div", { className: "corrections" });
    this.render();
    if (record.corrections) this.showSaved(record.corrections);
  }

  render() {
    const name = this.record.filename || "this image";
    const rows = (this.record.tags || []).map((tag) => renderTagRow(tag, this.verdictButtons(tag.name)));
    const tagList = rows.length
      ? el("ul", { className: "tags", "aria-label": `Tags of ${name}` }, ...rows)
      : el("p", { className: "hint", text: "No object the model knows was found." });
    const addedList = el(
      "ul",
      { className: "chips added-tags", "aria-label": "Tags you added" },
      ...this.added.map((tag) =>
        el("li", {}, el("button", { type: "button", className: "chip", "aria-label": `Remove added tag ${tag}`, onClick: () => this.removeAdded(tag) }, `${tag} ✕`)),
      ),
    );
    const input = el("input", { type: "text", list: vocabularyList(), autocomplete: "off", "aria-label": `Missing tag for ${name}`, placeholder: "Missing tag" });
    const addForm = el(
      "form",
      { className: "add-tag", onSubmit: (event) => { event.preventDefault(); this.addTag(input); } },
      input,
      el("button", { type: "submit", text: "Add" }),
    );
    const saveButton = el("button", { type: "button", className: "button-primary", text: "Save corrections", onClick: () => this.submit(saveButton) });
    this.root.replaceChildren(tagList, addedList, addForm, el("div", { className: "actions" }, saveButton), this.message);
  }

  verdictButtons(tagName) {
    const verdict = this.verdicts.get(tagName);
    const toggle = (kind, glyph, label) =>
      el("button", {
        type: "button",
        className: `verdict verdict-${kind}`,
        "aria-pressed": String(verdict === kind),
        "aria-label": `${label} ${tagName}`,
        title: `${label}: ${tagName}`,
        text: glyph,
        onClick: () => {
          if (this.verdicts.get(tagName) === kind) this.verdicts.delete(tagName);
          else this.verdicts.set(tagName, kind);
          this.render();
          // Re-rendering replaced the button; keep keyboard focus where the user was.
          [...this.root.querySelectorAll("button.verdict")].find((b) => b.getAttribute("aria-label") === `${label} ${tagName}`)?.focus();
        },
      });
    return el("span", { className: "verdicts" }, toggle("confirm", "✓", "Right:"), toggle("reject", "✗", "Wrong:"));
  }

  addTag(input) {
    const typed = input.value.trim();
    if (!typed) return;
    // COCO's names are lower case; a label of the user's own keeps their spelling (the API compares it ignoring case).
    const tag = isCocoName(typed) ? typed.toLowerCase() : typed;
    const problem = isCocoName(tag) ? null : labelNameProblem(tag);
    if (problem) {
      this.message.textContent = `“${tag}” cannot be added: ${problem}`;
      return;
    }
    const predicted = (this.record.tags || []).map((t) => t.name).find((name) => sameLabel(name, tag));
    if (predicted) {
      this.verdicts.set(predicted, "confirm"); // adding a predicted tag means it is right
    } else if (!this.added.some((name) => sameLabel(name, tag))) {
      this.added.push(tag);
    }
    this.render();
    this.root.querySelector("input")?.focus();
  }

  removeAdded(tag) {
    this.added = this.added.filter((t) => t !== tag);
    this.render();
  }

  async submit(button) {
    const pick = (kind) => [...this.verdicts].filter(([, v]) => v === kind).map(([name]) => name);
    button.disabled = true;
    this.message.textContent = "Saving…";
    try {
      const record = await this.save({ confirm: pick("confirm"), reject: pick("reject"), add: this.added });
      this.record = record;
      this.showSaved(record.corrections);
    } catch (error) {
      this.message.textContent = `Could not save: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  showSaved(corrections) {
    const labels = corrections && corrections.labels ? corrections.labels : [];
    this.message.textContent = `Corrections saved. The next training run learns: ${labels.join(", ") || "no tags"}.`;
  }
}
