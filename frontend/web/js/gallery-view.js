// The gallery: a grid of the user's photos (newest first, or those with a tag above a minimum confidence) and tag
// counts. A photo opens in the detail view (boxes, corrections, delete). In selection mode a photo is selected instead,
// to become an example of one of the user's own labels (js/label-form.js).

import { el } from "./dom.js";
import { canRetry, waitUntilDone } from "./polling.js";
import { forgetThumbnail, thumbnailFor } from "./thumbnails.js";
import { GalleryTile } from "./tiles.js";

const PAGE_SIZE = 24;

export class GalleryView {
  /** `detail` is the DetailView that opens a photo. */
  constructor({ api, detail, elements }) {
    this.api = api;
    this.detail = detail;
    this.$ = elements; // {grid, status, loadMore, tagCounts, tagOptions, tagInput, minConfidence}
    this.onSelectionChange = () => {};
    this.selecting = false;
    this.selected = new Set(); // image ids, kept across searches and pages
    this.tiles = []; // {tile, record} of the photos shown
    this.query = {};
    this.nextToken = null;
    this.$.loadMore.addEventListener("click", () => this.loadPage());
  }

  async refresh() {
    await Promise.all([this.search(this.query), this.loadTags()]);
  }

  /**
   * Re-reads the gallery until `settled(records)` holds for the photos shown, for at most `maxMs`: for work the
   * server finishes in the background (a deleted label's tags are removed from the photos within seconds).
   */
  async refreshUntil(settled, maxMs = 60_000) {
    const until = Date.now() + maxMs;
    await this.refresh();
    while (!settled(this.tiles.map(({ record }) => record)) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await this.refresh();
    }
  }

  async search(query) {
    this.query = query;
    this.nextToken = null;
    this.generation = (this.generation || 0) + 1; // answers to an older search are dropped
    this.$.grid.replaceChildren();
    this.tiles = [];
    await this.loadPage();
  }

  async loadPage() {
    const { tag, minConfidence } = this.query;
    this.$.status.textContent = "Loading…";
    this.$.loadMore.hidden = true;
    const generation = this.generation;
    let page;
    try {
      page = await this.api.listImages({ tag, minConfidence, limit: PAGE_SIZE, nextToken: this.nextToken });
    } catch (error) {
      this.$.status.textContent = `Could not load the gallery: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    for (const record of page.items) this.$.grid.append(this.tile(record).root);
    this.nextToken = page.next_token || null;
    this.$.loadMore.hidden = !this.nextToken;
    const shown = this.$.grid.children.length;
    const atLeast = minConfidence > 0 ? ` at ${Math.round(minConfidence * 100)}% or more` : "";
    const what = tag ? `with “${tag}”${atLeast}` : "in total";
    this.$.status.textContent = shown ? `${shown}${this.nextToken ? "+" : ""} image${shown === 1 ? "" : "s"} ${what}.` : `No images ${what} yet.`;
  }

  /** Selection mode on or off; turning it off forgets the selection. */
  setSelecting(selecting) {
    this.selecting = selecting;
    if (!selecting) this.selected.clear();
    for (const shown of this.tiles) this.showSelection(shown);
    this.onSelectionChange(this.selected.size);
  }

  toggleSelected(shown) {
    const id = shown.record.image_id;
    if (this.selected.has(id)) this.selected.delete(id);
    else this.selected.add(id);
    this.showSelection(shown);
    this.onSelectionChange(this.selected.size);
  }

  showSelection({ tile, record }) {
    tile.setSelection({ selecting: this.selecting, selected: this.selected.has(record.image_id), selectable: record.status === "TAGGED" });
  }

  tile(record) {
    let current = record;
    const shown = { record };
    const tile = new GalleryTile({
      title: record.filename || record.image_id,
      onOpen: (opener) =>
        this.selecting ? this.toggleSelected(shown) : this.detail.open(current, {
          opener,
          onUpdated: (updated) => {
            current = updated;
            tile.update({ phase: updated.status, record: updated, canRetry: canRetry(updated) });
          },
          onDeleted: async () => {
            forgetThumbnail(record.image_id);
            await this.refresh(); // counts and the result list both change
          },
        }),
      onRetry: () => this.retry(tile, current).then((retried) => (current = retried || current)),
    });
    tile.setThumbnail(thumbnailFor(record), record.filename || "uploaded image");
    const phase = record.status === "PENDING" ? "waiting" : record.status;
    tile.update({ phase, record, canRetry: canRetry(record) });
    shown.tile = tile;
    this.tiles.push(shown);
    this.showSelection(shown);
    return tile;
  }

  // Only offered for retriable failures (the model endpoint was down): the API re-queues the uploaded file.
  // Returns the image's record as it is afterwards (null when the retry was refused).
  async retry(tile, record) {
    let current;
    try {
      current = await this.api.retryImage(record.image_id);
      tile.update({ phase: "waiting", record: current, message: "Queued again. Waiting for tags…" });
      current = (await waitUntilDone(this.api, record.image_id)) || current;
    } catch (error) {
      tile.update({ phase: "FAILED", record: { ...record, error: `${record.error} (retry refused: ${error.message})` } });
      return null;
    }
    tile.update({ phase: current.status === "PENDING" ? "waiting" : current.status, record: current, canRetry: canRetry(current) });
    if (current.status === "TAGGED") await this.loadTags(); // its tags now count
    return current;
  }

  async loadTags() {
    let tags;
    try {
      ({ tags } = await this.api.listTags());
    } catch (error) {
      this.$.tagCounts.replaceChildren(el("li", { className: "hint", text: `Could not load tags: ${error.message}` }));
      return;
    }
    tags.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
    this.$.tagOptions.replaceChildren(...tags.map((tag) => el("option", { value: tag.name })));
    this.$.tagCounts.replaceChildren(
      ...(tags.length
        ? tags.map((tag) =>
            el(
              "li",
              {},
              el("button", {
                type: "button",
                className: "chip",
                "data-tag": tag.name,
                "aria-label": `Show images tagged ${tag.name} (${tag.count})`,
                onClick: () => {
                  this.$.tagInput.value = tag.name;
                  this.search({ tag: tag.name, minConfidence: Number(this.$.minConfidence.value) });
                },
              }, `${tag.name} `, el("span", { className: "count", text: String(tag.count) })),
            ),
          )
        : [el("li", { className: "hint", text: "No tags yet: upload a photo." })]),
    );
  }
}
