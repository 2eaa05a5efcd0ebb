"""Helpers of the browser tests that read the photo detail view's boxes off the page's layout."""

from __future__ import annotations

from playwright.sync_api import Page


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
