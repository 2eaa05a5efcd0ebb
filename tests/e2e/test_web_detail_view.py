"""The gallery's photo detail view in a real browser (Debian's Chromium, headless, driven by Playwright), against a
stand-in API whose records carry boxes: each tag's instances are the photo's COCO ground-truth boxes, i.e. what a
perfect detector would answer (the local stack's own model is tested in test_web.py). The page itself is served
from frontend/web as it is deployed; only the API and the photo URLs are answered by the test.

A person opens a photo with the keyboard, sees every box drawn where it belongs, highlights one tag's boxes by
pointing at or focusing the tag, corrects the tags there, and closes the view with Escape; on a phone the view fills
the screen. The tests save screenshots of the detail view to docs/screenshots/.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from web_support import COCO, VIEWPORTS, assert_boxes_drawn_where_they_belong, coco_instances, highlighted

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO_ROOT / "frontend" / "web"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
API = "http://api.imagetagger.test"
PHOTOS = "http://photos.imagetagger.test"
HORSES = "000000214753.jpg"  # two horses, two people (landscape)
DOG = "000000377575.jpg"  # a dog and a fire hydrant (portrait)
PARENTS = {"horse": "animal", "dog": "animal", "person": "person", "fire hydrant": "outdoor"}

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def tagged_record(image_id: str, file_name: str, extra_tags: list[dict] | None = None) -> dict:
    tags = [
        {"name": name, "confidence": boxes[0]["confidence"], "parents": [PARENTS[name]], "instances": boxes}
        for name, boxes in coco_instances(file_name).items()
    ]
    tags = sorted(tags, key=lambda t: -t["confidence"]) + (extra_tags or [])
    return {
        "image_id": image_id,
        "filename": file_name,
        "status": "TAGGED",
        "tags": tags,
        "model_version": "detector-test",
        "error": None,
        "created_at": "2026-12-01T00:00:00Z",
        "corrections": None,
        "retriable": False,
        "thumbnail_url": f"{PHOTOS}/{file_name}",
    }


class StandInApi:
    """Answers the page's API calls from `records`, and records the correction bodies it was sent."""

    def __init__(self, records: list[dict]) -> None:
        self.records = {record["image_id"]: record for record in records}
        self.corrections: list[dict] = []
        self.deleted: list[str] = []
        self.expired = False  # then every call is a 401, as when the token ran out

    def handle(self, route: Route) -> None:
        request = route.request
        path = request.url.removeprefix(API).split("?")[0]
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=self.cors)
        elif self.expired:
            route.fulfill(status=401, json={"message": "Unauthorized"}, headers=self.cors)
        elif path == "/images" and request.method == "GET":
            self.reply(route, {"items": list(self.records.values()), "next_token": None})
        elif path == "/tags":
            counts: dict[str, int] = defaultdict(int)
            for record in self.records.values():
                for tag in record["tags"]:
                    counts[tag["name"]] += 1
            self.reply(route, {"tags": [{"name": n, "count": c} for n, c in counts.items()]})
        elif path.endswith("/tags") and request.method == "PUT":
            image_id = path.split("/")[2]
            body = json.loads(request.post_data or "{}")
            self.corrections.append(body)
            record = self.records[image_id]
            predicted = [tag["name"] for tag in record["tags"]]
            labels = sorted((set(predicted) - set(body["reject"])) | set(body["confirm"]) | set(body["add"]))
            record["corrections"] = {
                "confirmed": sorted(body["confirm"]),
                "rejected": sorted(body["reject"]),
                "added": sorted(body["add"]),
                "labels": labels,
                "updated_at": "2026-12-01T00:01:00Z",
                "tags": [t for t in record["tags"] if t["name"] in labels],
            }
            self.reply(route, {k: v for k, v in record.items() if k != "thumbnail_url"})
        elif request.method == "DELETE":
            image_id = path.split("/")[2]
            self.deleted.append(image_id)
            self.records.pop(image_id)
            route.fulfill(status=204, headers=self.cors)
        else:
            route.fulfill(status=404, json={"message": f"no route {request.method} {path}"}, headers=self.cors)

    cors = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "*",
        "Access-Control-Allow-Methods": "*",
    }

    def reply(self, route: Route, body: dict) -> None:
        route.fulfill(json=body, headers=self.cors)


@pytest.fixture(scope="module")
def web_url() -> Iterator[str]:
    """frontend/web served as static files, as the deployment's bucket serves them."""
    handler = functools.partial(_QuietHandler, directory=str(WEB_ROOT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser(chromium_launch_options: dict) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**chromium_launch_options)
        yield launched
        launched.close()


def _fake_token(user: str) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'none'})}.{encode({'sub': user, 'username': user, 'exp': 4_000_000_000})}.x"


def open_signed_in(browser: Browser, web_url: str, viewport: str, api: StandInApi) -> Page:
    # Service workers would answer requests out of Playwright's sight; the stand-in API must see them all.
    context = browser.new_context(service_workers="block", **VIEWPORTS[viewport])
    context.add_init_script(f"localStorage.setItem('imagetagger.token', {json.dumps(_fake_token('dana'))})")
    page = context.new_page()
    page.set_default_timeout(15_000)
    config = {"apiBaseUrl": API, "authMode": "local", "localTokenUrl": f"{API}/local/token"}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    page.route(f"{API}/**", api.handle)
    page.route(f"{PHOTOS}/*", lambda route: route.fulfill(path=COCO / "val" / route.request.url.rsplit("/", 1)[1]))
    page.goto(web_url)
    expect(page.get_by_text("Signed in as dana")).to_be_visible()
    return page


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", scale="css")


def test_keyboard_opens_the_photo_with_its_boxes_highlights_a_tag_and_saves_corrections(browser, web_url) -> None:
    # GIVEN a gallery with a tagged photo of horses and people (a tag without boxes too) and another photo
    classifier_only = {"name": "dog", "confidence": 0.42, "parents": ["animal"], "instances": []}
    horses = tagged_record("0" * 31 + "1", HORSES, [classifier_only])
    api = StandInApi([horses, tagged_record("0" * 31 + "2", DOG)])
    page = open_signed_in(browser, web_url, "desktop", api)
    gallery = page.locator("#gallery")
    expect(gallery.locator(".tile")).to_have_count(2)
    # The tiles carry no correction controls: those live in the detail view.
    expect(gallery.get_by_role("button", name="Save corrections")).to_have_count(0)
    expect(gallery.locator(".tile").first.get_by_role("status")).to_have_text(
        ", ".join(tag["name"] for tag in horses["tags"])
    )
    screenshot(page, "web-desktop-gallery-grid")

    # WHEN they reach the horses' tile with Tab and press Enter
    tile = gallery.get_by_role("button", name=f"Open {HORSES}")
    for _ in range(40):
        page.keyboard.press("Tab")
        if tile.evaluate("el => el === document.activeElement"):
            break
    expect(tile).to_be_focused()
    page.keyboard.press("Enter")

    # THEN the detail view shows the photo large, named, with every box where the record says it is
    dialog = page.get_by_role("dialog", name=HORSES)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=HORSES)).to_be_focused()
    expect(dialog.locator(".box")).to_have_count(4)
    expect(dialog.locator("figcaption")).to_have_text(
        "4 boxes for 2 tags. Point at or focus a tag to highlight its boxes."
    )
    assert_boxes_drawn_where_they_belong(page, horses)
    width = dialog.locator(".photo-frame img").evaluate("img => img.getBoundingClientRect().width")
    assert width >= 500, "the photo is shown large"
    expect(dialog.locator('.tag[data-tag="horse"] .tag-boxes')).to_have_text("2 boxes")
    expect(dialog.locator('.tag[data-tag="dog"] .tag-boxes')).to_have_count(0)  # the classifier has no box for it
    assert highlighted(page) == set()

    # WHEN they point at the horse tag, THEN its boxes stand out and the others are dimmed
    dialog.locator('.tag[data-tag="horse"] .tag-name').hover()
    assert highlighted(page) == {"horse"}
    expect(dialog.locator(".boxes")).to_have_class("boxes has-highlight")
    expect(dialog.locator('.tag[data-tag="horse"]')).to_have_class("tag highlighted")
    screenshot(page, "web-desktop-detail-highlight")
    # AND pointing at a box highlights its tag
    page.mouse.move(5, 5)
    dialog.locator('.box[data-tag="person"]').first.hover()
    assert highlighted(page) == {"person"}
    page.mouse.move(5, 5)  # the backdrop: nothing pointed at
    assert highlighted(page) == set()

    # WHEN they move the keyboard focus into the person tag's row, THEN its boxes are highlighted
    dialog.get_by_role("button", name="Wrong: person").focus()
    assert highlighted(page) == {"person"}
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Right: person")).to_be_focused()
    assert highlighted(page) == {"person"}
    # AND when the focus leaves the tags, nothing is highlighted
    dialog.get_by_role("heading", name=HORSES).focus()
    assert highlighted(page) == set()

    # WHEN they correct the tags there: person is wrong, horse is right, and cow is missing
    dialog.get_by_role("button", name="Wrong: person").click()
    dialog.get_by_role("button", name="Right: horse").click()
    missing = dialog.get_by_label(f"Missing tag for {HORSES}")
    missing.fill("cow")
    missing.press("Enter")
    dialog.get_by_role("button", name="Save corrections").click()

    # THEN the API got exactly that correction and the view says what the next training run learns
    expect(dialog.locator(".corrections-status")).to_have_text(
        "Corrections saved. The next training run learns: cow, dog, horse."
    )
    assert api.corrections == [{"confirm": ["horse"], "reject": ["person"], "add": ["cow"]}]
    # The boxes stay: correcting tags does not move what the model found.
    expect(dialog.locator(".box")).to_have_count(4)
    screenshot(page, "web-desktop-detail")

    # WHEN they press Escape, THEN the view closes, focus is back on the tile, which shows the corrected tags
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(tile).to_be_focused()
    expect(gallery.locator(".tile").first.get_by_role("status")).to_have_text("cow, dog, horse")

    # AND opening it again shows the saved verdicts
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Wrong: person")).to_have_attribute("aria-pressed", "true")
    expect(dialog.get_by_role("button", name="Remove added tag cow")).to_be_visible()


def test_on_a_phone_the_detail_view_fills_the_screen_and_the_boxes_fit_the_photo(browser, web_url) -> None:
    dog = tagged_record("0" * 31 + "3", DOG)
    api = StandInApi([dog])
    page = open_signed_in(browser, web_url, "phone", api)

    page.locator("#gallery").get_by_role("button", name=f"Open {DOG}").tap()

    dialog = page.get_by_role("dialog", name=DOG)
    expect(dialog.locator(".box")).to_have_count(2)
    viewport = page.viewport_size
    bounds = dialog.bounding_box()
    assert bounds is not None
    assert (round(bounds["x"]), round(bounds["y"]), round(bounds["width"])) == (0, 0, viewport["width"])
    assert round(bounds["height"]) == viewport["height"]
    # Nothing sticks out sideways: no horizontal scrolling inside the view.
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    photo = dialog.locator(".photo-frame img").bounding_box()
    assert photo is not None and photo["width"] <= viewport["width"] and photo["height"] <= 0.56 * viewport["height"]
    assert_boxes_drawn_where_they_belong(page, dog)
    # Touch: tapping a tag highlights its boxes (a tap focuses the row's button).
    dialog.get_by_role("button", name="Right: fire hydrant").tap()
    assert highlighted(page) == {"fire hydrant"}
    screenshot(page, "web-phone-detail")

    dialog.get_by_role("button", name="Close photo details").tap()
    expect(dialog).to_be_hidden()


def test_a_photo_tagged_before_boxes_existed_opens_without_boxes_and_can_be_deleted(browser, web_url) -> None:
    # GIVEN a record whose tags have no "instances" (stored by an older release)
    old = tagged_record("0" * 31 + "4", HORSES)
    for tag in old["tags"]:
        del tag["instances"]
    api = StandInApi([old])
    page = open_signed_in(browser, web_url, "desktop", api)

    page.locator("#gallery").get_by_role("button", name=f"Open {HORSES}").click()

    dialog = page.get_by_role("dialog", name=HORSES)
    expect(dialog.locator("figcaption")).to_have_text("The model located none of these tags in the photo (no boxes).")
    expect(dialog.locator(".box")).to_have_count(0)
    expect(dialog.locator(".tag")).to_have_count(2)

    # Deleting takes a second, confirming click; then the view closes and the gallery is empty.
    dialog.get_by_role("button", name=f"Delete {HORSES}").click()
    confirm = dialog.get_by_role("button", name=f"Confirm delete of {HORSES}")
    expect(confirm).to_be_focused()
    confirm.click()
    expect(dialog).to_be_hidden()
    assert api.deleted == [old["image_id"]]
    expect(page.locator("#gallery-status")).to_contain_text("No images in total")


def test_a_session_that_ends_while_a_photo_is_open_closes_the_view_for_the_sign_in_form(browser, web_url) -> None:
    api = StandInApi([tagged_record("0" * 31 + "5", DOG)])
    page = open_signed_in(browser, web_url, "desktop", api)
    page.locator("#gallery").get_by_role("button", name=f"Open {DOG}").click()
    dialog = page.get_by_role("dialog", name=DOG)
    expect(dialog).to_be_visible()

    # WHEN the token has run out by the time they save a correction
    api.expired = True
    dialog.get_by_role("button", name="Wrong: dog").click()
    dialog.get_by_role("button", name="Save corrections").click()

    # THEN the view closes and the sign-in form is usable, with the reason shown
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("alert").filter(has_text="session has ended")).to_be_visible()
    expect(page.get_by_label("User name", exact=True)).to_be_focused()
