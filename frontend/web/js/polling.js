// Waiting for an image to leave PENDING (after an upload or a retry) by polling GET /images/{id} with back-off.

import { ApiError } from "./api.js";

const FIRST_POLL_MS = 700;
const MAX_POLL_MS = 4000;
const GIVE_UP_POLLING_MS = 5 * 60 * 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The record once it is TAGGED or FAILED, or null when it is still pending after a few minutes.
 * 404s right after creation and network hiccups are waited out; any other API error is thrown.
 */
export async function waitUntilDone(api, imageId) {
  const started = Date.now();
  let delay = FIRST_POLL_MS;
  while (Date.now() - started < GIVE_UP_POLLING_MS) {
    await sleep(delay);
    delay = Math.min(MAX_POLL_MS, delay * 1.5);
    let record;
    try {
      record = await api.getImage(imageId);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.retriable)) continue;
      throw error;
    }
    if (record.status === "TAGGED" || record.status === "FAILED") return record;
  }
  return null;
}

/** A FAILED record the API says may succeed on a second try (the endpoint was down), not a bad file. */
export function canRetry(record) {
  return record.status === "FAILED" && record.retriable === true;
}
