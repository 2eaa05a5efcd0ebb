// The upload list: every chosen file becomes a card that goes rejected | uploading -> waiting -> TAGGED | FAILED,
// without the user refreshing anything.

import { ApiError } from "./api.js";
import { ImageCard } from "./cards.js";
import { canRetry, waitUntilDone } from "./polling.js";
import { makeThumbnail, rememberThumbnail } from "./thumbnails.js";
import { postToS3, rejectionReason, UploadError } from "./upload.js";

const PARALLEL_UPLOADS = 3;

export class UploadsView {
  /**
   * @param {{api: import("./api.js").Api, config: object, list: HTMLElement, detail: import("./detail-view.js").DetailView,
   *          onChange: () => void}} options
   * onChange is called when an image finished or was deleted, so the gallery and tag counts can refresh.
   */
  constructor({ api, config, list, detail, onChange }) {
    this.api = api;
    this.detail = detail;
    this.config = config;
    this.list = list;
    this.onChange = onChange;
    this.active = 0;
    this.waiting = [];
  }

  addFiles(files) {
    for (const file of files) {
      const item = new UploadItem(file, this);
      this.list.prepend(item.card.root);
      item.check();
    }
  }

  // A small queue so that choosing 50 photos does not open 50 connections at once.
  async runLimited(task) {
    if (this.active >= PARALLEL_UPLOADS) await new Promise((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

class UploadItem {
  constructor(file, view) {
    this.file = file;
    this.view = view;
    this.record = null;
    this.card = new ImageCard({
      title: file.name,
      onRetry: () => this.retry(),
      onDelete: async () => {
        await view.api.deleteImage(this.record.image_id);
        view.onChange();
      },
      // Boxes and corrections live in the photo detail view; the gallery shows the same image, so it refreshes too.
      onOpen: (opener) =>
        view.detail.open(this.record, {
          opener,
          onUpdated: (updated) => {
            this.record = updated;
            view.onChange();
          },
          onDeleted: () => {
            this.card.root.remove();
            view.onChange();
          },
        }),
    });
  }

  async check() {
    const reason = rejectionReason(this.file, this.view.config);
    if (reason) {
      this.card.setThumbnail(null, "");
      this.card.update({ phase: "rejected", message: reason });
      return;
    }
    this.thumbnail = await makeThumbnail(this.file);
    this.card.setThumbnail(this.thumbnail, `Preview of ${this.file.name}`);
    await this.view.runLimited(() => this.upload());
  }

  async retry() {
    const failed = this.record;
    if (failed && canRetry(failed)) {
      // Tagging failed for a passing reason (the model endpoint was down): the API re-queues the uploaded file.
      try {
        this.record = await this.view.api.retryImage(failed.image_id);
      } catch (error) {
        this.card.update({ phase: "FAILED", record: { ...failed, error: `${failed.error} (retry refused: ${error.message})` }, canRetry: false });
        return;
      }
      await this.waitForTags();
      return;
    }
    // The upload itself failed: start over, replacing any record it left instead of keeping a duplicate.
    this.record = null;
    if (failed) await this.view.api.deleteImage(failed.image_id).catch(() => {});
    await this.view.runLimited(() => this.upload());
  }

  async upload() {
    this.card.update({ phase: "uploading", progress: 0 });
    try {
      const created = await this.view.api.createUpload(this.file);
      this.record = { image_id: created.image_id, filename: this.file.name };
      rememberThumbnail(created.image_id, this.thumbnail);
      await postToS3(created.upload, this.file, (progress) => this.card.update({ phase: "uploading", progress }));
    } catch (error) {
      const retriable = error instanceof ApiError || error instanceof UploadError ? error.retriable : true;
      this.card.update({ phase: "error", message: error.message, canRetry: retriable, record: null });
      return;
    }
    await this.waitForTags();
  }

  async waitForTags() {
    this.card.update({ phase: "waiting", record: this.record });
    let record;
    try {
      record = await waitUntilDone(this.view.api, this.record.image_id);
    } catch (error) {
      this.card.update({ phase: "error", message: error.message, canRetry: false, record: this.record });
      return;
    }
    if (!record) {
      this.card.update({
        phase: "waiting",
        record: this.record,
        message: "Still waiting for tags. They will appear in the gallery when ready.",
      });
      return;
    }
    this.record = record;
    this.card.update({ phase: record.status, record, canRetry: canRetry(record) });
    this.view.onChange();
  }
}
