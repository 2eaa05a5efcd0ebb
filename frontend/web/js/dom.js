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

/** One tag: name, parent category, confidence bar and number; `extra` (e.g. correction buttons) goes last. */
export function renderTagRow(tag, extra = null) {
  const parent = (tag.parents || [])[0];
  return el(
    "li",
    { className: "tag", "data-tag": tag.name },
    el("span", { className: "tag-name", text: tag.name }),
    parent ? el("span", { className: "tag-parent", text: parent, title: "category" }) : null,
    el("span", { className: "bar", "aria-hidden": "true" }, el("span", { style: `width:${percent(tag.confidence)}` })),
    el("span", { className: "tag-confidence", text: percent(tag.confidence), "aria-label": `confidence ${percent(tag.confidence)}` }),
    extra,
  );
}

export function renderTags(tags) {
  return el("ul", { className: "tags", "aria-label": "Tags" }, ...tags.map((tag) => renderTagRow(tag)));
}
