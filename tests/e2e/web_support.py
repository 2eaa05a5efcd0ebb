"""Helpers of the browser tests of boxes: COCO ground-truth boxes as the API's instances (what a perfect detector
would answer), and reading the web page's photo detail view's boxes off its layout."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from playwright.sync_api import Page

COCO = Path(__file__).resolve().parents[2] / "data" / "coco-sample"
# The two layouts every browser test of the web page runs in.
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


def coco_instances(file_name: str) -> dict[str, list[dict]]:
    """The photo's ground-truth boxes per class as the API's instances: [x, y, w, h] fractions, most confident first.
    The confidences are made up (larger boxes higher, every one different), so each box has its own label."""
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    image = next(image for image in annotations["images"] if image["file_name"] == file_name)
    names = {c["id"]: c["name"] for c in annotations["categories"]}
    mine = sorted(
        (a for a in annotations["annotations"] if a["image_id"] == image["id"]),
        key=lambda a: -a["bbox"][2] * a["bbox"][3],
    )
    found: dict[str, list[dict]] = defaultdict(list)
    for rank, a in enumerate(mine):
        x, y, w, h = a["bbox"]
        box = [round(x / image["width"], 4), round(y / image["height"], 4)]
        box += [round(w / image["width"], 4), round(h / image["height"], 4)]
        found[names[a["category_id"]]].append({"box": box, "confidence": round(0.95 - 0.06 * rank, 4)})
    return dict(found)


def box_rects(page: Page) -> dict[str, list[list[float]]]:
    """Each drawn box as [x, y, w, h] fractions of the displayed photo, measured from the layout, per tag."""
    return page.locator("#detail").evaluate(
        """dialog => {
            const photo = dialog.querySelector('.photo-frame img').getBoundingClientRect();
            const rects = {};
            for (const box of dialog.querySelectorAll('.box')) {
                const r = box.getBoundingClientRect();
                const x = (r.left - photo.left) / photo.width, y = (r.top - photo.top) / photo.height;
                (rects[box.dataset.tag] ||= []).push([x, y, r.width / photo.width, r.height / photo.height]);
            }
            return rects;
        }"""
    )


def assert_boxes_drawn_where_they_belong(page: Page, record: dict) -> None:
    expected = {tag["name"]: [i["box"] for i in tag["instances"]] for tag in record["tags"] if tag["instances"]}
    drawn = box_rects(page)
    assert set(drawn) == set(expected)
    width = page.locator("#detail .photo-frame img").evaluate("img => img.getBoundingClientRect().width")
    tolerance = 3 / width  # a box's 2 px border and sub-pixel rounding
    for name, boxes in expected.items():
        assert len(drawn[name]) == len(boxes), name
        for want, got in zip(sorted(boxes), sorted(drawn[name]), strict=True):
            assert all(abs(w - g) <= tolerance for w, g in zip(want, got, strict=True)), (name, want, got)


def highlighted(page: Page) -> set[str]:
    return set(page.locator("#detail .box.highlighted").evaluate_all("boxes => boxes.map(b => b.dataset.tag)"))
