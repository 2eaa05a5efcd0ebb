// "More like this" in the photo detail view: the user's photos nearest to this one (GET /images/{id}/similar, by the
// cosine similarity of the model's image embeddings), as thumbnails with how similar each is; one opens in the view.

import { el, percent } from "./dom.js";
import { thumbnailGrid } from "./thumb-grid.js";

const SIMILAR_SHOWN = 12;

export class SimilarPhotos {
  /** `container` is the detail view's part; open(record, opener) shows one of the photos found. */
  constructor({ api, container, open }) {
    this.api = api;
    this.container = container;
    this.open = open;
    this.generation = 0;
  }

  /** Offers the search for a tagged photo (only those have an embedding); nothing for the others. */
  show(record) {
    this.generation += 1; // an answer for the photo shown before must not land under this one
    if (record.status !== "TAGGED") {
      this.container.replaceChildren();
      return;
    }
    const name = record.filename || record.image_id;
    const button = el("button", { type: "button", text: "Find similar photos", "aria-label": `Find photos like ${name}`, onClick: () => this.find(record) });
    this.status = el("p", { className: "hint", role: "status" });
    this.results = el("div");
    this.container.replaceChildren(el("h3", { className: "subheading", text: "More like this" }), button, this.status, this.results);
  }

  async find(record) {
    const generation = this.generation;
    this.status.textContent = "Finding similar photos…";
    this.results.replaceChildren();
    let items;
    try {
      ({ items } = await this.api.similarImages(record.image_id, SIMILAR_SHOWN));
    } catch (error) {
      if (generation === this.generation) this.status.textContent = `Could not find similar photos: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    if (!items.length) {
      this.status.textContent = "No other tagged photos to compare with yet.";
      return;
    }
    this.status.textContent = `The ${items.length} most similar of your photos, most similar first.`;
    const similarity = (item) => `${percent(item.similarity)} similar`;
    this.results.replaceChildren(thumbnailGrid(items, this.open, `Photos like ${record.filename || record.image_id}`, similarity));
  }
}
