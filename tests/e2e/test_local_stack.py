"""The local stack, started as a user starts it, driven over HTTP with a real COCO photo and the real model."""

from __future__ import annotations

import base64
import json
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

COCO_VAL = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val"
# A zebra filling a third of the frame: a tag no reasonable model misses, with COCO parent "animal".
ZEBRA = COCO_VAL / "000000244592.jpg"
TAGGING_TIMEOUT_S = 90


def new_user() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def wait_for(check, timeout_s: float = TAGGING_TIMEOUT_S, interval_s: float = 0.3):
    """Poll `check` until it returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {value!r}")


def create_upload(stack, user: str, photo: Path = ZEBRA) -> dict:
    response = requests.post(
        f"{stack.api_url}/uploads",
        json={"filename": photo.name, "content_type": "image/jpeg", "size": photo.stat().st_size},
        headers=stack.auth(user),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def post_form(upload: dict, data: bytes, content_type: str = "image/jpeg", **field_overrides) -> requests.Response:
    fields = {**upload["upload"]["fields"], **field_overrides}
    return requests.post(
        upload["upload"]["url"], data=fields, files={"file": ("photo.jpg", data, content_type)}, timeout=30
    )


def wait_until_processed(stack, user: str, image_id: str) -> dict:
    def finished():
        body = requests.get(f"{stack.api_url}/images/{image_id}", headers=stack.auth(user), timeout=30).json()
        return body if body.get("status") in ("TAGGED", "FAILED") else None

    return wait_for(finished)


def upload_and_tag(stack, user: str, photo: Path = ZEBRA) -> dict:
    upload = create_upload(stack, user, photo)
    assert post_form(upload, photo.read_bytes()).status_code == 204
    return wait_until_processed(stack, user, upload["image_id"])


def tag_names(image: dict) -> list[str]:
    return [tag["name"] for tag in image["tags"]]


def test_health_is_open_and_everything_else_needs_a_token(local_stack):
    assert requests.get(f"{local_stack.api_url}/health", timeout=10).status_code == 200
    assert requests.get(f"{local_stack.api_url}/tags", timeout=10).status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."}
    assert requests.get(f"{local_stack.api_url}/tags", headers=forged, timeout=10).status_code == 401


def test_a_photo_uploaded_with_the_presigned_post_is_tagged_searchable_and_deletable(local_stack):
    user, api = new_user(), local_stack.api_url
    upload = create_upload(local_stack, user)
    # The form points at the local S3 gateway, as in AWS it points at the bucket.
    assert upload["upload"]["url"].startswith(local_stack.s3_url)
    assert post_form(upload, ZEBRA.read_bytes()).status_code == 204

    image = wait_until_processed(local_stack, user, upload["image_id"])
    assert image["status"] == "TAGGED", image
    zebra = next(tag for tag in image["tags"] if tag["name"] == "zebra")
    assert zebra["parents"] == ["animal"] and 0.5 <= zebra["confidence"] <= 1.0
    assert image["filename"] == ZEBRA.name and image["model_version"]
    # The thumbnail is a presigned GET of the user's own photo; the gateway checks its signature like S3.
    assert requests.get(image["thumbnail_url"], timeout=30).content == ZEBRA.read_bytes()
    forged = image["thumbnail_url"].replace(f"/uploads/{user}/", f"/uploads/{new_user()}/")
    assert requests.get(forged, timeout=30).status_code == 403

    found = requests.get(f"{api}/images", params={"tag": "zebra"}, headers=local_stack.auth(user), timeout=30).json()
    assert [item["image_id"] for item in found["items"]] == [upload["image_id"]]
    counts = requests.get(f"{api}/tags", headers=local_stack.auth(user), timeout=30).json()["tags"]
    assert {"name": "zebra", "count": 1} in counts

    # Another user sees nothing of it and cannot delete it.
    stranger = local_stack.auth(new_user())
    assert requests.get(f"{api}/images/{upload['image_id']}", headers=stranger, timeout=30).status_code == 404
    assert requests.get(f"{api}/images", params={"tag": "zebra"}, headers=stranger, timeout=30).json()["items"] == []
    assert requests.delete(f"{api}/images/{upload['image_id']}", headers=stranger, timeout=30).status_code == 404

    assert (
        requests.delete(f"{api}/images/{upload['image_id']}", headers=local_stack.auth(user), timeout=30).status_code
        == 204
    )
    assert (
        requests.get(f"{api}/images/{upload['image_id']}", headers=local_stack.auth(user), timeout=30).status_code
        == 404
    )
    found = requests.get(f"{api}/images", params={"tag": "zebra"}, headers=local_stack.auth(user), timeout=30).json()
    assert found["items"] == []


def policy_max_bytes(upload: dict) -> int:
    policy = json.loads(base64.b64decode(upload["upload"]["fields"]["policy"]))
    (size_range,) = [c for c in policy["conditions"] if isinstance(c, list) and c[0] == "content-length-range"]
    return int(size_range[2])


def s3_error_code(response: requests.Response) -> str:
    return ET.fromstring(response.content).findtext("Code") or ""


def test_the_gateway_refuses_uploads_that_break_the_presigned_policy(local_stack):
    user = new_user()
    upload = create_upload(local_stack, user)
    photo = ZEBRA.read_bytes()

    other_type = post_form(upload, b"<html>not a photo</html>", "text/html", **{"Content-Type": "text/html"})
    assert other_type.status_code == 403 and s3_error_code(other_type) == "AccessDenied"
    other_key = post_form(upload, photo, key=f"uploads/{new_user()}/{upload['image_id']}")
    assert other_key.status_code == 403 and s3_error_code(other_key) == "AccessDenied"
    tampered = post_form(upload, photo, policy=upload["upload"]["fields"]["policy"][:-4] + "AAA=")
    assert tampered.status_code == 403
    too_big = post_form(upload, b"\xff" * (policy_max_bytes(upload) + 1))
    assert too_big.status_code == 400 and s3_error_code(too_big) == "EntityTooLarge"

    # Nothing was stored (refusals are synchronous): the image is still waiting for its valid upload.
    image = requests.get(
        f"{local_stack.api_url}/images/{upload['image_id']}", headers=local_stack.auth(user), timeout=30
    ).json()
    assert image["status"] == "PENDING"
    # The form itself still works once used as issued.
    assert post_form(upload, photo).status_code == 204
    assert wait_until_processed(local_stack, user, upload["image_id"])["status"] == "TAGGED"


def test_the_bucket_is_private_and_cors_follows_its_rules(local_stack):
    user = new_user()
    upload = create_upload(local_stack, user)
    object_url = f"{upload['upload']['url']}/{upload['upload']['fields']['key']}"
    assert requests.get(object_url, timeout=10).status_code == 403  # no anonymous reads

    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = requests.options(
        upload["upload"]["url"], headers={"Origin": local_stack.web_url, **preflight}, timeout=10
    )
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == local_stack.web_url
    foreign = requests.options(
        upload["upload"]["url"], headers={"Origin": "https://evil.example", **preflight}, timeout=10
    )
    assert foreign.status_code == 403 and "Access-Control-Allow-Origin" not in foreign.headers


def test_the_web_page_is_served_with_its_local_config(local_stack):
    page = requests.get(f"{local_stack.web_url}/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    config = requests.get(f"{local_stack.web_url}/config.json", timeout=10).json()
    assert config["apiBaseUrl"] == local_stack.api_url and config["authMode"] == "local"
    token = requests.get(config["localTokenUrl"], params={"user": "web-user"}, timeout=10).json()["token"]
    assert (
        requests.get(
            f"{local_stack.api_url}/tags", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        == 200
    )


def test_data_and_open_upload_forms_survive_a_restart(local_stack):
    user = new_user()
    tagged = upload_and_tag(local_stack, user)
    assert tagged["status"] == "TAGGED"
    pending = create_upload(local_stack, user)  # a form issued but not used before the stop

    local_stack.restart()

    api, auth = local_stack.api_url, local_stack.auth(user)
    after = requests.get(f"{api}/images/{tagged['image_id']}", headers=auth, timeout=30).json()
    assert after["status"] == "TAGGED" and after["tags"] == tagged["tags"]
    found = requests.get(f"{api}/images", params={"tag": "zebra"}, headers=auth, timeout=30).json()
    assert tagged["image_id"] in [item["image_id"] for item in found["items"]]
    # The form issued before the restart still uploads, and the image is tagged.
    assert post_form(pending, ZEBRA.read_bytes()).status_code == 204
    assert "zebra" in tag_names(wait_until_processed(local_stack, user, pending["image_id"]))


def test_after_a_hard_kill_the_last_periodic_snapshot_is_restored(own_stack):
    # Its own stack: a periodic snapshot's interval stretches to 9x the last snapshot's duration (persistence.py), and
    # by now the session's stack holds every e2e file's photos, so its next snapshot could be a minute or more away.
    user = new_user()
    tagged = upload_and_tag(own_stack, user)
    snapshot = own_stack.state_dir / "state" / "dynamodb" / "ImagesTable.json"

    # The stack snapshots every 2 s; wait until this image is in a snapshot with its tags, then pull the plug.
    def snapshotted_status():
        items = json.loads(snapshot.read_text()) if snapshot.exists() else []
        return next((i["status"]["S"] for i in items if i["image_id"]["S"] == tagged["image_id"]), None)

    wait_for(lambda: snapshotted_status() == "TAGGED")

    own_stack.kill()
    own_stack.start()

    after = requests.get(
        f"{own_stack.api_url}/images/{tagged['image_id']}", headers=own_stack.auth(user), timeout=30
    ).json()
    assert after["status"] == "TAGGED" and after["tags"] == tagged["tags"]
