"""COCO's vocabulary: the 80 categories every model of ours predicts, and the only COCO tags a correction may name.

The one definition is the packaged file coco_categories.json (COCO's own category list: id, name, supercategory).
Training reads it for its label order, the API for corrections, and the web page fetches the same file
(frontend/web/coco_categories.json is a link to it); tests/unit/test_facts_once.py finds the users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

CATEGORIES_FILE = "coco_categories.json"


@dataclass(frozen=True)
class Category:
    name: str
    coco_id: int
    parent: str  # COCO supercategory


def categories_json() -> str:
    """The packaged file's text, as the web page receives it."""
    return resources.files(__package__).joinpath(CATEGORIES_FILE).read_text()


def _load() -> tuple[Category, ...]:
    rows = sorted(json.loads(categories_json()), key=lambda c: int(c["id"]))
    return tuple(Category(c["name"], int(c["id"]), c["supercategory"]) for c in rows)


# Sorted by COCO id: the label order of every model and target matrix.
COCO_CATEGORIES: tuple[Category, ...] = _load()
# Category name -> its supercategory (the tag's parent), in COCO id order.
COCO_PARENTS: dict[str, str] = {c.name: c.parent for c in COCO_CATEGORIES}
