// A row of small photo buttons, each opening its photo: the examples of a label, the photos like this one.

import { showPhoto } from "./cards.js";
import { el } from "./dom.js";
import { thumbnailFor } from "./thumbnails.js";

/**
 * Photos as a row of small buttons, each opening the photo; `caption(record)` adds a line under each (e.g. how similar
 * it is).
 */
export function thumbnailGrid(records, open, listLabel, caption = () => null) {
  return el(
    "ul",
    { className: "thumb-grid", "aria-label": listLabel },
    ...records.map((record) => {
      const name = record.filename || record.image_id;
      const extra = caption(record);
      const thumb = el("span", { className: "thumb-grid-photo" });
      showPhoto(thumb, thumbnailFor(record), name);
      const button = el(
        "button",
        { type: "button", className: "thumb-grid-open", "data-image-id": record.image_id, "aria-label": `Open ${name}${extra ? `, ${extra}` : ""}`, onClick: () => open(record, button) },
        thumb,
        extra ? el("span", { className: "thumb-grid-caption", text: extra }) : null,
      );
      return el("li", {}, button);
    }),
  );
}
