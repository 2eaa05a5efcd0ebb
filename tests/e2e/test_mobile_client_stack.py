"""The mobile app's API client against the real local stack: sign in, upload with the presigned POST, wait for tags,
search, count, quick-tag, delete, and the failures a user can run into."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from imagetagger_mobile.api_client import ApiError, ImageTaggerClient

COCO = Path(__file__).resolve().parents[2] / "data" / "coco-sample"
PHOTO = COCO / "val" / "000000244592.jpg"  # three zebras
TAGGING_TIMEOUT_S = 180  # generous for a loaded 2-core machine

pytestmark = pytest.mark.e2e


def coco_classes(photo: Path) -> set[str]:
    annotations = json.loads((COCO / "annotations" / "instances_val.json").read_text())
    image_id = next(image["id"] for image in annotations["images"] if image["file_name"] == photo.name)
    names = {c["id"]: c["name"] for c in annotations["categories"]}
    return {names[a["category_id"]] for a in annotations["annotations"] if a["image_id"] == image_id}


def signed_in(local_stack, prefix: str) -> ImageTaggerClient:
    client = ImageTaggerClient(local_stack.api_url)
    client.sign_in_local(f"{prefix}-{uuid.uuid4().hex[:8]}")
    return client


def test_upload_wait_search_count_quick_tag_and_delete(local_stack) -> None:
    client = signed_in(local_stack, "mobile")

    image_id = client.upload(PHOTO.name, PHOTO.read_bytes())
    record = client.wait_for_tags(image_id, timeout_s=TAGGING_TIMEOUT_S)

    assert record.status == "TAGGED", record
    assert record.filename == PHOTO.name
    assert record.tags and record.tags[0].name in coco_classes(PHOTO)
    best = record.tags[0]

    found, _ = client.list_images(tag=best.name, min_confidence=best.confidence)
    assert [r.image_id for r in found] == [image_id]
    assert {(c.name, c.count) for c in client.list_tags()} >= {(best.name, 1)}

    # The quick path runs the same model and preprocessing on the same bytes: the same tags, nothing stored.
    quick = client.quick_tag(PHOTO.name, PHOTO.read_bytes())
    assert [t.name for t in quick.tags] == [t.name for t in record.tags]
    assert [r.image_id for r in client.list_images()[0]] == [image_id]

    client.delete_image(image_id)
    with pytest.raises(ApiError) as raised:
        client.get_image(image_id)
    assert raised.value.status == 404
    assert client.list_images()[0] == []


def test_a_text_file_renamed_jpg_fails_with_a_reason(local_stack) -> None:
    client = signed_in(local_stack, "mobile-failed")

    image_id = client.upload("not-a-photo.jpg", b"Shopping list: milk, eggs. Not a photo.\n")
    record = client.wait_for_tags(image_id, timeout_s=TAGGING_TIMEOUT_S)

    assert record.status == "FAILED"
    assert record.error  # the reason the app shows
    with pytest.raises(ApiError) as raised:
        client.quick_tag("not-a-photo.jpg", b"Shopping list: milk, eggs. Not a photo.\n")
    assert raised.value.status == 400 and raised.value.message


def test_another_users_image_is_not_found(local_stack) -> None:
    owner = signed_in(local_stack, "mobile-owner")
    image_id = owner.upload(PHOTO.name, PHOTO.read_bytes())

    stranger = signed_in(local_stack, "mobile-stranger")
    with pytest.raises(ApiError) as raised:
        stranger.get_image(image_id)
    assert raised.value.status == 404
    owner.delete_image(image_id)


def test_a_bad_user_name_is_refused_with_a_reason(local_stack) -> None:
    client = ImageTaggerClient(local_stack.api_url)
    with pytest.raises(ApiError) as raised:
        client.sign_in_local("../../etc")
    assert raised.value.status == 400
    assert "user name" in raised.value.message


def test_a_forged_token_is_refused(local_stack) -> None:
    client = ImageTaggerClient(local_stack.api_url, token="not.a.token")
    with pytest.raises(ApiError) as raised:
        client.list_tags()
    assert raised.value.status == 401
