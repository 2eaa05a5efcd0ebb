"""The web page in a real browser (Debian's Chromium, headless, driven by Playwright) against the local stack.

A person signs in, uploads a real COCO photo, watches its tags arrive, searches the gallery by one of them and deletes
it, on a desktop and on a phone-sized screen. The tests save screenshots of the main screens to docs/screenshots/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from web_support import VIEWPORTS, assert_boxes_drawn_where_they_belong, highlighted

REPO_ROOT = Path(__file__).resolve().parents[2]
COCO = REPO_ROOT / "data" / "coco-sample"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Three zebras: an unambiguous photo, so "the right tags appear" is a fair thing to expect of the model.
PHOTO = COCO / "val" / "000000244592.jpg"
TAGGING_TIMEOUT_MS = 180_000  # upload -> SQS -> worker -> model; generous for a loaded 2-core machine

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def coco_truth(photo: Path) -> dict[str, str]:
    """The photo's COCO classes, each with its supercategory (what the page shows as the parent category)."""
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    image_id = next(image["id"] for image in annotations["images"] if image["file_name"] == photo.name)
    supercategory = {c["id"]: (c["name"], c["supercategory"]) for c in annotations["categories"]}
    return dict(supercategory[a["category_id"]] for a in annotations["annotations"] if a["image_id"] == image_id)


def coco_boxes(photo: Path, name: str) -> list[list[float]]:
    """The photo's ground-truth boxes of class `name` as [x, y, w, h] fractions of the photo."""
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    image = next(image for image in annotations["images"] if image["file_name"] == photo.name)
    category = next(c["id"] for c in annotations["categories"] if c["name"] == name)
    return [
        [a["bbox"][0] / image["width"], a["bbox"][1] / image["height"]]
        + [a["bbox"][2] / image["width"], a["bbox"][3] / image["height"]]
        for a in annotations["annotations"]
        if a["image_id"] == image["id"] and a["category_id"] == category
    ]


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    overlap = width * height
    return overlap / (a[2] * a[3] + b[2] * b[3] - overlap)


def all_coco_classes() -> list[str]:
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    return sorted(c["name"] for c in annotations["categories"])


@pytest.fixture(scope="module")
def browser(chromium_launch_options: dict) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**chromium_launch_options)
        yield launched
        launched.close()


def open_page(browser: Browser, viewport: str) -> Page:
    context = browser.new_context(**VIEWPORTS[viewport])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


def screenshot(page: Page, name: str, top: Locator | None = None) -> None:
    """Desktop: the whole page. Phone: one screenful starting at `top`, as a person would see it. With the photo
    detail view open: the screen, as its backdrop covers the screen and not the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone = page.viewport_size["width"] < 600
    if phone and top is not None:
        top.evaluate("element => element.scrollIntoView({block: 'start'})")
    dialog_open = page.locator("dialog[open]").count() > 0
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=not phone and not dialog_open, scale="css")


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign_in(page: Page, web_url: str, user: str) -> None:
    """With the keyboard alone: the user-name field has focus when the page opens, Enter submits."""
    page.goto(web_url)
    user_field = page.get_by_label("User name", exact=True)
    expect(user_field).to_be_focused()
    page.keyboard.type(user)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    expect(page.get_by_role("heading", name="Upload photos for tagging")).to_be_focused()


def upload(page: Page, name: str, data: bytes, mime_type: str) -> Locator:
    page.get_by_label("Choose images").set_input_files([{"name": name, "mimeType": mime_type, "buffer": data}])
    return page.locator("#results .card").filter(has_text=name)


def wait_for_phase(local_stack, card: Locator, phase: str) -> None:
    """The card reaches TAGGED or FAILED without a refresh; if not, the stack's log says why."""
    try:
        expect(card).to_have_attribute("data-phase", phase, timeout=TAGGING_TIMEOUT_MS)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- local stack log ---\n{local_stack.log_tail()}") from None


def stored_record(local_stack, user: str, card: Locator) -> dict:
    image_id = card.get_attribute("data-image-id")
    response = requests.get(f"{local_stack.api_url}/images/{image_id}", headers=local_stack.auth(user), timeout=10)
    response.raise_for_status()
    return response.json()


def test_sign_in_upload_see_tags_search_and_delete(browser: Browser, local_stack, viewport: str) -> None:
    # GIVEN a new user on the sign-in screen
    page = open_page(browser, viewport)
    user = new_user(f"web-{viewport}")
    page.goto(local_stack.web_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, f"web-{viewport}-sign-in")
    sign_in(page, local_stack.web_url, user)

    # WHEN they upload a real COCO photo
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")

    # THEN it is tagged without a refresh, and the page shows exactly the stored tags, the best one correct
    wait_for_phase(local_stack, card, "TAGGED")
    record = stored_record(local_stack, user, card)
    shown = card.locator(".tag-name").all_inner_texts()
    assert shown == [tag["name"] for tag in record["tags"]]
    truth = coco_truth(PHOTO)
    assert shown and shown[0] in truth, f"most confident tag {shown[:1]} is not among the photo's classes {truth}"
    confidences = card.locator(".tag-confidence").all_inner_texts()
    assert confidences == [f"{round(tag['confidence'] * 100)}%" for tag in record["tags"]]
    best = record["tags"][0]
    if truth[best["name"]] != best["name"]:
        expect(card.locator(f'.tag[data-tag="{best["name"]}"] .tag-parent')).to_have_text(truth[best["name"]])
    # AND the gallery shows it too, as a tile, without a reload
    expect(page.locator("#gallery .tile").filter(has_text=PHOTO.name)).to_have_attribute("data-phase", "TAGGED")
    screenshot(page, f"web-{viewport}-results", top=card)

    # WHEN they search the gallery by that tag with a minimum confidence at or below its confidence
    gallery = page.locator("#gallery")
    page.get_by_label("Tag", exact=True).fill(best["name"])
    page.get_by_label("Minimum confidence").fill(str(math.floor(best["confidence"] * 20) / 20))
    page.get_by_role("button", name="Search", exact=True).click()
    # THEN the photo is found, and its tag count is shown
    expect(page.locator("#gallery-status")).to_contain_text(f"1 image with “{best['name']}”")
    expect(gallery.locator(".tile")).to_have_count(1)
    expect(gallery.locator(".tile").first).to_contain_text(PHOTO.name)
    expect(page.locator(f'#tag-counts .chip[data-tag="{best["name"]}"] .count')).to_have_text("1")
    screenshot(page, f"web-{viewport}-gallery", top=page.get_by_role("heading", name="Gallery"))

    # AND a tag the photo does not have finds nothing
    absent = next(name for name in all_coco_classes() if name not in shown)
    page.get_by_label("Tag", exact=True).fill(absent)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#gallery-status")).to_contain_text(f"No images with “{absent}”")
    expect(gallery.locator(".tile")).to_have_count(0)

    # WHEN they open it from the gallery and delete it there (a second click confirms)
    page.get_by_role("button", name="Show all").click()
    expect(gallery.locator(".tile")).to_have_count(1)
    gallery.get_by_role("button", name=f"Open {PHOTO.name}").click()
    detail = page.get_by_role("dialog", name=PHOTO.name)
    detail.get_by_role("button", name=f"Delete {PHOTO.name}").click()
    confirm = detail.get_by_role("button", name=f"Confirm delete of {PHOTO.name}")
    expect(confirm).to_be_focused()
    confirm.click()
    expect(detail).to_be_hidden()
    # THEN it is gone from the page and from the API
    expect(page.locator("#gallery-status")).to_contain_text("No images in total")
    expect(page.locator("#tag-counts .chip")).to_have_count(0)
    gone = requests.get(
        f"{local_stack.api_url}/images/{record['image_id']}", headers=local_stack.auth(user), timeout=10
    )
    assert gone.status_code == 404


def test_the_detail_view_draws_the_models_boxes_around_the_zebras(browser: Browser, local_stack, viewport: str) -> None:
    # GIVEN a real COCO photo of three zebras, tagged by the stack's own model
    page = open_page(browser, viewport)
    user = new_user(f"web-boxes-{viewport}")
    sign_in(page, local_stack.web_url, user)
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")
    wait_for_phase(local_stack, card, "TAGGED")
    record = stored_record(local_stack, user, card)

    # THEN the model located the zebras: at least two of the three, each box on a different real zebra (IoU >= 0.5)
    zebra = next(tag for tag in record["tags"] if tag["name"] == "zebra")
    truth = coco_boxes(PHOTO, "zebra")
    matched = {max(range(len(truth)), key=lambda i: iou(box["box"], truth[i])) for box in zebra["instances"][:3]}
    good = [box for box in zebra["instances"] if max(iou(box["box"], t) for t in truth) >= 0.5]
    assert len(good) >= 2 and len(matched) >= 2, (zebra["instances"], truth)

    # WHEN the user opens the photo from the gallery with the keyboard
    tile = page.locator("#gallery .tile").filter(has_text=PHOTO.name)
    tile.get_by_role("button", name=f"Open {PHOTO.name}").press("Enter")
    detail = page.get_by_role("dialog", name=PHOTO.name)

    # THEN every stored box is drawn where it belongs on the photo (loaded from S3), and focusing zebra highlights its
    expect(detail.locator(".box")).to_have_count(sum(len(tag["instances"]) for tag in record["tags"]))
    assert_boxes_drawn_where_they_belong(page, record)
    detail.get_by_role("button", name="Right: zebra").focus()
    assert highlighted(page) == {"zebra"}
    screenshot(page, f"web-{viewport}-detail-boxes")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()


def test_a_text_file_renamed_jpg_shows_why_it_failed(browser: Browser, local_stack) -> None:
    page = open_page(browser, "desktop")
    user = new_user("web-failed")
    sign_in(page, local_stack.web_url, user)

    card = upload(page, "not-a-photo.jpg", b"Shopping list: milk, eggs. Not a photo at all.\n", "image/jpeg")

    wait_for_phase(local_stack, card, "FAILED")
    record = stored_record(local_stack, user, card)
    assert record["status"] == "FAILED" and record["error"]
    expect(card.get_by_role("status")).to_have_text(f"Failed: {record['error']}")
    # Retrying the same bytes cannot help, so no Retry is offered; deleting the record is.
    expect(card.get_by_role("button", name="Retry")).to_have_count(0)
    expect(card.get_by_role("button", name="Delete")).to_be_visible()
    screenshot(page, "web-failed-upload")

    # AND after a reload the gallery says the same, with no Retry and no broken thumbnail of a file that is no image
    page.reload()
    tile = page.locator("#gallery .tile").filter(has_text="not-a-photo.jpg")
    expect(tile.get_by_role("status")).to_have_text(f"Failed: {record['error']}")
    expect(tile.get_by_role("button", name="Retry")).to_have_count(0)
    expect(tile.locator(".tile-thumb img")).to_have_count(0)
    # AND its detail view says why, with no photo to draw boxes on, and offers Delete
    tile.get_by_role("button", name="Open not-a-photo.jpg").click()
    detail = page.get_by_role("dialog", name="not-a-photo.jpg")
    expect(detail.get_by_role("status")).to_have_text(f"Failed: {record['error']}")
    expect(detail.locator(".photo-frame img")).to_have_count(0)
    expect(detail.get_by_role("button", name="Delete not-a-photo.jpg")).to_be_visible()


def test_dropped_files_of_the_wrong_type_or_size_are_explained_before_upload(browser: Browser, local_stack) -> None:
    page = open_page(browser, "desktop")
    user = new_user("web-rejected")
    sign_in(page, local_stack.web_url, user)
    limit = page.evaluate("fetch('config.json').then(r => r.json()).then(c => c.maxUploadBytes)")

    # Two files dropped at once on the drop zone, as from a file manager.
    dropped = page.evaluate_handle(
        """limit => {
            const files = new DataTransfer();
            files.items.add(new File(["just text"], "notes.txt", {type: "text/plain"}));
            files.items.add(new File([new Uint8Array(limit + 1)], "huge.jpg", {type: "image/jpeg"}));
            return files;
        }""",
        limit,
    )
    page.locator("#drop-zone").dispatch_event("drop", {"dataTransfer": dropped})

    text_card = page.locator("#results .card").filter(has_text="notes.txt")
    expect(text_card.get_by_role("status")).to_have_text(
        "Not uploaded: text/plain files are not accepted; use JPEG, PNG, WebP, GIF, BMP, TIFF"
    )
    big_card = page.locator("#results .card").filter(has_text="huge.jpg")
    expect(big_card.get_by_role("status")).to_have_text(
        f"Not uploaded: the file is {limit + 1} bytes; the limit is {limit} bytes"
    )
    # Nothing reached the API for either file.
    listing = requests.get(f"{local_stack.api_url}/images", headers=local_stack.auth(user), timeout=10).json()
    assert listing["items"] == []


def test_the_page_is_an_installable_app_whose_shell_opens_offline(browser: Browser, local_stack) -> None:
    page = open_page(browser, "phone")
    page.goto(local_stack.web_url)
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    assert page.evaluate("navigator.serviceWorker.ready.then(registration => Boolean(registration.active))")

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="imagetagger")).to_be_visible()
    # Without a network the page says what is wrong instead of showing controls that cannot work.
    expect(page.get_by_role("alert")).to_contain_text("config.json")


def test_corrections_are_saved_in_the_detail_view_and_shown_again(browser: Browser, local_stack) -> None:
    # GIVEN a tagged photo, opened from its upload card in the detail view
    page = open_page(browser, "desktop")
    user = new_user("web-corrections")
    sign_in(page, local_stack.web_url, user)
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")
    wait_for_phase(local_stack, card, "TAGGED")
    record = stored_record(local_stack, user, card)
    predicted = [tag["name"] for tag in record["tags"]]
    missing = next(name for name in all_coco_classes() if name not in predicted)
    # The upload card lists the tags but has no correction controls: they live in the detail view.
    expect(card.get_by_role("button", name="Save corrections")).to_have_count(0)
    card.get_by_role("button", name=f"Open {PHOTO.name}").click()
    detail = page.get_by_role("dialog", name=PHOTO.name)
    expect(detail.get_by_role("heading", name=PHOTO.name)).to_be_focused()

    # WHEN the user marks the best tag right, the others wrong, adds a missing one and saves
    detail.get_by_role("button", name=f"Right: {predicted[0]}").click()
    for name in predicted[1:]:
        detail.get_by_role("button", name=f"Wrong: {name}").click()
    missing_field = detail.get_by_label(f"Missing tag for {PHOTO.name}")
    missing_field.fill(missing)
    missing_field.press("Enter")
    detail.get_by_role("button", name="Save corrections").click()

    # THEN the page says what the next training run learns, and the API stored exactly that
    expected = sorted([predicted[0], missing])
    expect(detail.locator(".corrections-status")).to_have_text(
        f"Corrections saved. The next training run learns: {', '.join(expected)}."
    )
    stored = stored_record(local_stack, user, card)["corrections"]
    assert stored["labels"] == expected
    assert stored["confirmed"] == [predicted[0]] and stored["added"] == [missing]
    # The kept tag keeps the model's boxes; the added one has none (nothing located it).
    by_name = {tag["name"]: tag for tag in stored["tags"]}
    assert by_name[predicted[0]]["instances"] == record["tags"][0]["instances"]
    assert by_name[missing]["instances"] == []
    screenshot(page, "web-desktop-corrections")

    # AND Escape closes the view, focus goes back to the button that opened it
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(card.get_by_role("button", name=f"Open {PHOTO.name}")).to_be_focused()

    # AND after a reload the gallery's tile shows the corrected tags, and its detail view the same verdicts
    page.reload()
    tile = page.locator("#gallery .tile").filter(has_text=PHOTO.name)
    expect(tile.get_by_role("status")).to_have_text(", ".join(expected))
    tile.get_by_role("button", name=f"Open {PHOTO.name}").press("Enter")
    expect(detail.get_by_role("button", name=f"Right: {predicted[0]}")).to_have_attribute("aria-pressed", "true")
    expect(detail.get_by_role("button", name=f"Remove added tag {missing}")).to_be_visible()


def expect_thumbnail_from(thumbnail: Locator, origin: str) -> None:
    """The image is the API's presigned URL at `origin` (the S3 gateway), and it really loaded."""
    expect(thumbnail).to_have_count(1)
    thumbnail.scroll_into_view_if_needed()  # loading="lazy"
    thumbnail.evaluate("img => img.decode()")  # rejects when the image cannot be loaded
    source, width = thumbnail.evaluate("img => [img.currentSrc, img.naturalWidth]")
    assert source.startswith(f"{origin}/") and width > 0, (source, width)
    # S3 answers the page's origin with CORS too, so a script may read the photo (e.g. to draw it on a canvas).
    assert thumbnail.evaluate("img => fetch(img.currentSrc).then(r => r.ok && r.headers.get('content-type'))") == (
        "image/jpeg"
    )


def test_the_gallery_shows_the_photo_itself_on_another_device(browser: Browser, local_stack) -> None:
    # GIVEN a photo tagged from one browser
    page = open_page(browser, "desktop")
    user = new_user("web-thumbnails")
    sign_in(page, local_stack.web_url, user)
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")
    wait_for_phase(local_stack, card, "TAGGED")

    # WHEN the same user opens the page in a fresh browser (nothing of the upload kept locally)
    other = open_page(browser, "phone")
    sign_in(other, local_stack.web_url, user)

    # THEN the gallery shows the photo, loaded from S3 through the short-lived URL the API gave
    tile = other.locator("#gallery .tile").filter(has_text=PHOTO.name)
    expect(tile).to_have_attribute("data-phase", "TAGGED")
    expect_thumbnail_from(tile.locator(".tile-thumb img"), local_stack.s3_url)
    # AND its detail view shows the photo itself, large, from the same short-lived URL
    tile.get_by_role("button", name=f"Open {PHOTO.name}").tap()
    expect_thumbnail_from(other.get_by_role("dialog", name=PHOTO.name).locator(".photo-frame img"), local_stack.s3_url)


def test_a_retriable_failure_offers_retry_and_the_retry_tags_it(browser: Browser, local_stack) -> None:
    import boto3

    from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, STACK_NAME

    # GIVEN a photo whose tagging failed because the model endpoint was down. Stopping the shared stack's endpoint
    # would disturb the other tests, so the stored state is made what a run failing on its last receive leaves: the
    # record FAILED with a retriable reason, and no idempotency record (Powertools deletes it when the run raises).
    page = open_page(browser, "desktop")
    user = new_user("web-retry")
    sign_in(page, local_stack.web_url, user)
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")
    wait_for_phase(local_stack, card, "TAGGED")
    image_id = card.get_attribute("data-image-id")
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=local_stack.moto_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    images, runs = dynamodb.Table(f"{STACK_NAME}-ImagesTable"), dynamodb.Table(f"{STACK_NAME}-IdempotencyTable")
    for run in runs.scan()["Items"]:
        if image_id in str(run.get("data", "")):  # the stored result of the run that tagged it
            runs.delete_item(Key={"id": run["id"]})
    reason = "the model endpoint was unavailable; retry later (connection refused)"
    images.update_item(
        Key={"user_id": user, "image_id": image_id},
        UpdateExpression="SET #s = :failed, #e = :reason, retriable = :yes REMOVE tags, model_version",
        ExpressionAttributeNames={"#s": "status", "#e": "error"},
        ExpressionAttributeValues={":failed": "FAILED", ":reason": reason, ":yes": True},
    )

    # WHEN the user reloads the page
    page.reload()
    gallery_card = page.locator("#gallery .tile").filter(has_text=PHOTO.name)
    # THEN the gallery shows the reason and a Retry button
    expect(gallery_card.get_by_role("status")).to_have_text(f"Failed: {reason}")
    retry = gallery_card.get_by_role("button", name=f"Retry {PHOTO.name}")
    expect(retry).to_be_visible()
    screenshot(page, "web-desktop-retriable-failure", top=gallery_card)

    # WHEN they press it, THEN the image is queued again and tagged, without a refresh
    retry.click()
    wait_for_phase(local_stack, gallery_card, "TAGGED")
    expect(gallery_card.get_by_role("button", name="Retry")).to_have_count(0)
    assert stored_record(local_stack, user, gallery_card)["tags"]


def test_the_pages_tag_vocabulary_is_the_apis(browser: Browser, local_stack) -> None:
    from imagetagger.coco import COCO_PARENTS

    page = open_page(browser, "desktop")
    page.goto(local_stack.web_url)
    names = page.evaluate("import('./js/vocabulary.js').then(module => module.COCO_CATEGORIES)")
    assert names == list(COCO_PARENTS)


def test_cognito_mode_signs_in_with_the_authorization_code_and_pkce(browser: Browser, local_stack) -> None:
    """AWS mode against a stand-in for Cognito's hosted UI (Playwright answers its two URLs): the page must send the
    OAuth parameters Cognito needs, prove the PKCE verifier, and then use the token it got on the real API."""
    page = open_page(browser, "desktop")
    user = new_user("web-cognito")
    domain = "imagetagger-test.auth.us-east-1.amazoncognito.com"
    config = {"apiBaseUrl": local_stack.api_url, "authMode": "cognito", "cognito": {"domain": domain, "clientId": "c1"}}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    seen: dict[str, str] = {}

    def authorize(route) -> None:
        query = dict(parse_qsl(urlsplit(route.request.url).query))
        seen.update(query)
        location = f"{query['redirect_uri']}?{urlencode({'code': 'code-1', 'state': query['state']})}"
        route.fulfill(status=302, headers={"Location": location})

    def token(route) -> None:
        form = dict(parse_qsl(route.request.post_data or ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
        assert challenge.decode() == seen["code_challenge"], "the PKCE verifier does not match its challenge"
        assert (form["grant_type"], form["code"], form["client_id"]) == ("authorization_code", "code-1", "c1")
        route.fulfill(
            json={"access_token": local_stack.token(user), "token_type": "Bearer", "expires_in": 3600},
            headers={"Access-Control-Allow-Origin": "*"},
        )

    page.route(f"https://{domain}/oauth2/authorize*", authorize)
    page.route(f"https://{domain}/oauth2/token", token)

    page.goto(local_stack.web_url)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    assert seen["response_type"] == "code" and seen["code_challenge_method"] == "S256" and seen["client_id"] == "c1"
    assert seen["redirect_uri"].rstrip("/") == local_stack.web_url
    assert "code=" not in page.url  # the one-time code is removed from the address bar
    expect(page.locator("#gallery-status")).to_have_text("No images in total yet.")  # the API accepted the token


def test_a_file_chosen_while_sign_in_is_in_flight_is_not_sent_and_does_not_sign_out(browser: Browser, local_stack):
    # Found by a hostile user: a file chosen within a moment of pressing "Sign in" went to POST /uploads before the
    # token was stored, and the 401 signed the new session out ("Your session has ended"). Here the token response
    # is held back, so the file is chosen while sign-in is certainly still in flight.
    page = open_page(browser, "desktop")
    user = new_user("race")
    held = []
    page.route("**/local/token?*", lambda route: held.append(route))
    uploads_sent: list[dict[str, str]] = []
    page.on("request", lambda r: uploads_sent.append(r.headers) if r.url.endswith("/uploads") else None)
    page.goto(local_stack.web_url)
    page.get_by_label("User name", exact=True).fill(user)
    with page.expect_request("**/local/token?*"):
        page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    assert held, "the token request was not intercepted"
    file_input = page.locator("#file-input")
    expect(file_input).to_be_disabled()
    expect(page.locator("#drop-zone")).to_have_attribute("aria-disabled", "true")
    photo = {"name": PHOTO.name, "mimeType": "image/jpeg", "buffer": PHOTO.read_bytes()}
    try:  # a disabled input may refuse the files outright; either way nothing may be uploaded
        file_input.set_input_files([photo], timeout=2_000)
    except Exception as refusal:  # noqa: BLE001 - Playwright's Error or TimeoutError, both mean "not chosen"
        print(f"set_input_files on the disabled input: {type(refusal).__name__}")
    page.wait_for_timeout(500)
    assert uploads_sent == []

    held[0].continue_()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    expect(page.locator("#app-error")).to_be_hidden()
    expect(file_input).to_be_enabled()
    # Signed in, the same file uploads with the token and is tagged as usual.
    card = upload(page, PHOTO.name, PHOTO.read_bytes(), "image/jpeg")
    wait_for_phase(local_stack, card, "TAGGED")
    assert uploads_sent and all(headers.get("authorization", "").startswith("Bearer ") for headers in uploads_sent)
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    page.context.close()
