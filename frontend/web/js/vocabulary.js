// COCO's 80 categories: the tags every model of ours predicts (a correction may also add a label of the user's own).
// Fetched from coco_categories.json next to the page: a link to the very file the API checks corrections against
// (layers/imagetagger/imagetagger/coco_categories.json), so the page keeps no copy.

async function loadCategories() {
  try {
    const response = await fetch("coco_categories.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const categories = await response.json();
    return categories.sort((a, b) => a.id - b.id).map((category) => category.name);
  } catch (error) {
    // Suggestions only: without them a correction can still be typed, and the API names an unknown tag.
    console.error(`could not load coco_categories.json (${error.message}); no tag suggestions`);
    return [];
  }
}

export const COCO_CATEGORIES = await loadCategories();
