// Small DOM helpers shared by the cards and the corrections editor.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2).toLowerCase(), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export function percent(confidence) {
  return `${Math.round(confidence * 100)}%`;
}

// Box colours, picked for contrast on photos and from one another (Okabe-Ito plus two); a tag keeps its colour.
const BOX_COLOURS = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#ffffff", "#9be15d", "#ff6f91"];

/** The colour of a tag's boxes and of the swatch next to its name: the same for the same name everywhere. */
export function tagColour(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return BOX_COLOURS[hash % BOX_COLOURS.length];
}

function boxCount(tag) {
  const count = (tag.instances || []).length;
  if (!count) return null;
  return el(
    "span",
    { className: "tag-boxes" },
    el("span", { className: "swatch", "aria-hidden": "true", style: `background:${tagColour(tag.name)}` }),
    `${count} box${count === 1 ? "" : "es"}`,
  );
}

// Where a tag comes from (the API's `source`): the model's own COCO tags carry no mark; the user's labels do.
const SOURCES = {
  custom: { text: "your label", title: "Found by the classifier of your own label" },
  user: { text: "added by you", title: "You added this tag" },
};

/** A small mark naming the tag's source, or null for the model's own tags (and records from before sources). */
export function sourceBadge(tag) {
  const source = SOURCES[tag.source];
  return source ? el("span", { className: `tag-source tag-source-${tag.source}`, text: source.text, title: source.title }) : null;
}

/** One tag: name, parent category, how many boxes, confidence bar and number; `extra` (e.g. correction buttons) last. */
export function renderTagRow(tag, extra = null) {
  const parent = (tag.parents || [])[0];
  return el(
    "li",
    { className: "tag", "data-tag": tag.name, "data-source": tag.source || "model" },
    el("span", { className: "tag-name", text: tag.name }),
    el("span", { className: "tag-meta" }, sourceBadge(tag), parent ? el("span", { className: "tag-parent", text: parent, title: "category" }) : null, boxCount(tag)),
    el("span", { className: "bar", "aria-hidden": "true" }, el("span", { style: `width:${percent(tag.confidence)}` })),
    el("span", { className: "tag-confidence", text: percent(tag.confidence), "aria-label": `confidence ${percent(tag.confidence)}` }),
    extra,
  );
}

export function renderTags(tags) {
  return el("ul", { className: "tags", "aria-label": "Tags" }, ...tags.map((tag) => renderTagRow(tag)));
}
