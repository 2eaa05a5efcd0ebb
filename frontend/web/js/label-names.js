// The rules for a custom label's name, as the API checks them (docs: /work/notes/contract-15.md, "Custom labels"), so
// the page can explain a bad name before sending it. The API stays the judge: its 400 is shown as it comes.

import { COCO_CATEGORIES } from "./vocabulary.js";

export const MAX_LABEL_LENGTH = 40;
export const MAX_LABELS_PER_USER = 50;
export const MIN_EXAMPLES = 5; // a label is trained once it has this many positive examples
export const MAX_EXAMPLES_PER_REQUEST = 200;
// Letters and digits of any script, space, hyphen, underscore, apostrophe, full stop (checked after NFC
// normalisation, as the API does: "é" typed as e + a combining accent is one letter then).
const ALLOWED = /^[\p{L}\p{N} _'.-]+$/u;

/** Names are compared case-insensitively ("My bike" and "my bike" are one label). */
export const sameLabel = (a, b) => a.toLocaleLowerCase() === b.toLocaleLowerCase();

export function isCocoName(name) {
  return COCO_CATEGORIES.some((coco) => sameLabel(coco, name.trim()));
}

/**
 * Why `raw` cannot be a new or existing label of this user, or null when it can. `existing` is the names of the
 * user's labels (a name among them adds examples to that label; a new one must stay within the per-user limit).
 */
export function labelNameProblem(raw, existing = []) {
  const name = raw.normalize("NFC").trim();
  if (!name) return "Give the label a name.";
  if ([...name].length > MAX_LABEL_LENGTH) return `A label name has at most ${MAX_LABEL_LENGTH} characters.`;
  if (!ALLOWED.test(name)) return "Use only letters, digits, spaces and - _ ' . in a label name.";
  if (isCocoName(name)) return `“${name}” is one of the model's own COCO tags; choose another name.`;
  const isNew = !existing.some((other) => sameLabel(other, name));
  if (isNew && existing.length >= MAX_LABELS_PER_USER) {
    return `You have ${existing.length} labels, the most there may be; delete one first.`;
  }
  return null;
}
