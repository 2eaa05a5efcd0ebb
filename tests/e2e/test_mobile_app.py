"""The Flet mobile app, served as a Flutter web app and driven in Chromium against the local stack.

Flutter draws on a canvas; its accessibility tree (switched on with the engine's own "Enable accessibility" button)
exposes the controls by role and label, which is how a screen reader, and this test, finds them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from imagetagger_mobile.api_client import ImageTaggerClient
from PIL import Image
from playwright.sync_api import Locator, Page, expect, sync_playwright
from web_support import coco_instances

from imagetagger_local.config import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COCO = REPO_ROOT / "data" / "coco-sample"
PHOTO = COCO / "val" / "000000244592.jpg"  # three zebras
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
FLUTTER_START_TIMEOUT_MS = 90_000  # the Flutter web engine is a few MB of JS and WebAssembly
TAGGING_TIMEOUT_MS = 180_000  # upload -> SQS -> worker -> model; generous for a loaded 2-core machine

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@contextmanager
def flet_app(api_url: str, log_dir: Path) -> Iterator[str]:
    """`python frontend/mobile/main.py --web`, as a developer runs it, pointed at `api_url`; yields its URL."""
    port = free_port()
    env = {**os.environ, "IMAGETAGGER_API_URL": api_url}
    command = [sys.executable, str(REPO_ROOT / "frontend" / "mobile" / "main.py"), "--web", "--port", str(port)]
    log_path = log_dir / "flet.log"
    with log_path.open("wb") as log:  # a file, not a pipe: nobody reads a pipe while the tests run, so it could fill
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while not serves(url):
            assert process.poll() is None, f"the Flet app exited:\n{log_path.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"the Flet app did not serve {url}:\n{log_path.read_text()}"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # a handler thread still polling the API must not keep the test run waiting
            process.wait()


@pytest.fixture(scope="module")
def flet_app_url(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app pointed at the test's stack."""
    with flet_app(local_stack.api_url, tmp_path_factory.mktemp("flet")) as url:
        yield url


def serves(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def phone_page_of(app_url: str, chromium_launch_options: dict) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch_options)
        page = browser.new_page(viewport={"width": 412, "height": 860})
        page.set_default_timeout(30_000)
        page.goto(app_url)
        enable_accessibility = page.locator("flt-semantics-placeholder")
        enable_accessibility.wait_for(state="attached", timeout=FLUTTER_START_TIMEOUT_MS)
        enable_accessibility.evaluate("button => button.click()")  # it sits off-screen, for screen readers
        yield page
        browser.close()


@pytest.fixture
def phone_page(flet_app_url: str, chromium_launch_options: dict) -> Iterator[Page]:
    with phone_page_of(flet_app_url, chromium_launch_options) as page:
        yield page


def type_into(field: Locator, text: str) -> None:
    # Flutter attaches its text editing to a field when it gains focus; text filled in before that is dropped.
    field.focus()
    field.fill(text)


def screenshot(page: Page, name: str) -> None:
    """Saves what the canvas shows once Flutter has painted the app: its accessibility tree is ready before Flet's
    "Working..." splash goes, so wait until the app bar's colour differs from the page background below it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 30
    while True:
        png = page.screenshot()
        image = Image.open(io.BytesIO(png)).convert("RGB")
        if image.getpixel((5, 5)) != image.getpixel((5, 400)) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)  # poll the next frame
    (SCREENSHOTS / f"{name}.png").write_bytes(png)


def coco_classes(photo: Path) -> set[str]:
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    image_id = next(image["id"] for image in annotations["images"] if image["file_name"] == photo.name)
    names = {c["id"]: c["name"] for c in annotations["categories"]}
    return {names[a["category_id"]] for a in annotations["annotations"] if a["image_id"] == image_id}


def test_the_first_screen_asks_to_sign_in(phone_page: Page, local_stack) -> None:
    expect(phone_page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(phone_page.get_by_role("textbox", name="User name")).to_be_visible()
    expect(phone_page.get_by_role("textbox", name="API address")).to_be_visible()
    screenshot(phone_page, "mobile-sign-in")


def test_sign_in_pick_a_photo_upload_and_see_its_tags(phone_page: Page, local_stack) -> None:
    user = f"flet-{uuid.uuid4().hex[:8]}"
    type_into(phone_page.get_by_role("textbox", name="User name"), user)
    phone_page.get_by_role("button", name="Sign in").click()
    expect(phone_page.get_by_text("Tag a photo")).to_be_visible()

    with phone_page.expect_file_chooser() as chooser:
        phone_page.get_by_role("button", name="Choose a photo").click()
    chooser.value.set_files(PHOTO)
    phone_page.get_by_role("button", name="Upload and tag").click()
    try:
        expect(phone_page.get_by_text("Tagged", exact=True)).to_be_visible(timeout=TAGGING_TIMEOUT_MS)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- local stack log ---\n{local_stack.log_tail()}") from None

    # The app shows what the API stored, and the most confident tag is one of the photo's COCO classes.
    api = ImageTaggerClient(local_stack.api_url, token=local_stack.token(user))
    [record], _ = api.list_images()
    assert record.status == "TAGGED" and record.tags[0].name in coco_classes(PHOTO)
    best = record.tags[0]
    # The result screen shows the photo again with a box around each object the stored tags located.
    boxes = sum(len(tag.instances) for tag in record.tags)
    photo = phone_page.get_by_role("img", name=f"Photo with {boxes} box{'' if boxes == 1 else 'es'}")
    expect(photo).to_be_visible()
    expect(phone_page.get_by_text(best.name, exact=True).first).to_be_visible()
    expect(phone_page.get_by_text(f"{round(best.confidence * 100)}%", exact=True).first).to_be_visible()
    screenshot(phone_page, "mobile-tagged")

    # The quick path tags the same photo again without storing it: same best tag, still one image in the gallery.
    phone_page.get_by_role("button", name="Quick tag").click()
    expect(phone_page.get_by_text("Tagged (not stored)", exact=True)).to_be_visible(timeout=TAGGING_TIMEOUT_MS)
    expect(phone_page.get_by_text(best.name, exact=True).first).to_be_visible()

    phone_page.get_by_role("tab", name="Gallery").click()
    expect(phone_page.get_by_role("checkbox", name=f"{best.name} (1)")).to_be_visible()  # a tag-count chip
    expect(phone_page.get_by_text("1 image(s) in total")).to_be_visible()
    type_into(phone_page.get_by_role("textbox", name="Tag"), best.name)
    phone_page.keyboard.press("Enter")
    expect(phone_page.get_by_text(f"1 image(s) tagged “{best.name}”", exact=True)).to_be_visible()
    screenshot(phone_page, "mobile-gallery")

    # Activated the way a screen reader does: Flutter's accessibility nodes in a scrolled list may overlap on screen.
    phone_page.get_by_role("button", name=f"Delete {PHOTO.name}").dispatch_event("click")
    expect(phone_page.get_by_text(f"0 image(s) tagged “{best.name}”", exact=True)).to_be_visible()
    assert api.list_images() == ([], None)


HORSES = COCO / "val" / "000000214753.jpg"  # two horses and their riders


@pytest.fixture(scope="module")
def boxes_api() -> Iterator[str]:
    """A stand-in API for the quick path: a token for anyone, and POST /tag answering the horses photo's COCO
    ground-truth boxes as instances (what a perfect detector would say; the stack's own model is tested above)."""
    tags = [
        {"name": name, "confidence": boxes[0]["confidence"], "parents": [], "instances": boxes}
        for name, boxes in coco_instances(HORSES.name).items()
    ]

    class Route(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.answer({"token": "header.payload.signature"})

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.answer({"tags": tags, "model_version": "stand-in"})

        def answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Route)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def boxes_page(boxes_api: str, chromium_launch_options: dict, tmp_path: Path) -> Iterator[Page]:
    """The app pointed at the stand-in API, in a phone-sized browser."""
    with flet_app(boxes_api, tmp_path) as url, phone_page_of(url, chromium_launch_options) as page:
        yield page


def test_the_result_screen_draws_each_tags_boxes_on_the_photo(boxes_page: Page) -> None:
    # GIVEN the app signed in to an API whose tags carry boxes
    phone_page = boxes_page
    type_into(phone_page.get_by_role("textbox", name="User name"), "boxes")
    phone_page.get_by_role("button", name="Sign in").click()

    # WHEN a photo of two riders on horses is quick-tagged
    with phone_page.expect_file_chooser() as chooser:
        phone_page.get_by_role("button", name="Choose a photo").click()
    chooser.value.set_files(HORSES)
    phone_page.get_by_role("button", name="Quick tag").click()
    expect(phone_page.get_by_text("Tagged (not stored)", exact=True)).to_be_visible(timeout=TAGGING_TIMEOUT_MS)

    # THEN the photo is shown with its four boxes, each where its record says on the photo as shown
    photo = phone_page.get_by_role("img", name="Photo with 4 boxes")
    expect(photo).to_be_visible()
    shown = photo.bounding_box()
    assert shown is not None
    for name, boxes in coco_instances(HORSES.name).items():
        for instance in boxes:
            box = phone_page.get_by_text(f"Box: {name} {round(instance['confidence'] * 100)}%", exact=True)
            at = box.bounding_box()
            assert at is not None, name
            x, y, w, h = instance["box"]
            want = (shown["x"] + x * shown["width"], shown["y"] + y * shown["height"], w * shown["width"])
            want += (h * shown["height"],)
            got = (at["x"], at["y"], at["width"], at["height"])
            # The node is the box's inside: within its 2 px border.
            assert all(abs(g - e) <= 5 for g, e in zip(got, want, strict=True)), (name, got, want)
    screenshot(phone_page, "mobile-boxes")
