"""Users' own labels over HTTP against the local stack, with real photos and the real model's embeddings: a label made
from 5 surfing photos is trained by the label function (its own queue and execution environment, as in AWS) and tags
the user's sixth surfing photo and a new upload of one; another user sees none of it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

CLEAN = Path(__file__).resolve().parents[2] / "data" / "coco-clean" / "clean"
SURFING = [CLEAN / f"{n:012d}.jpg" for n in (52507, 63154, 187362, 224222, 297595)]
SIXTH_SURFING, LATER_SURFING = CLEAN / "000000332351.jpg", CLEAN / "000000393056.jpg"
OTHERS = [CLEAN / f"{n:012d}.jpg" for n in (715, 730, 772, 775, 873)]
TIMEOUT_S = 240


def _wait(check, what: str, timeout_s: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _tagged(stack, user: str, image_id: str) -> dict:
    def get():
        body = requests.get(f"{stack.api_url}/images/{image_id}", headers=stack.auth(user), timeout=30).json()
        return body if body["status"] != "PENDING" else None

    image = _wait(get, f"image {image_id} to be tagged")
    assert image["status"] == "TAGGED", image
    return image


def _custom(image: dict) -> dict[str, tuple[str, float]]:
    return {tag["name"]: (tag["source"], tag["confidence"]) for tag in image["tags"] if tag["source"] != "model"}


def test_a_label_from_five_photos_tags_the_sixth_and_new_uploads_and_stays_private(local_stack):
    api, alice, bob = local_stack.api_url, f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    ids = {photo: local_stack.upload(alice, photo) for photo in [*SURFING, SIXTH_SURFING, *OTHERS]}
    for image_id in ids.values():
        _tagged(local_stack, alice, image_id)

    # WHEN alice makes a label of her 5 surfing photos
    created = requests.post(
        f"{api}/labels",
        json={"name": "Surf trip", "image_ids": [ids[photo] for photo in SURFING]},
        headers=local_stack.auth(alice),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "training" and created.json()["examples"] == 5

    # THEN the label function trains it within seconds (debounced) and reports its estimated precision
    def ready():
        body = requests.get(f"{api}/labels/surf%20trip", headers=local_stack.auth(alice), timeout=30).json()
        return body if body["status"] == "ready" else None

    label = _wait(ready, "the label to be trained")
    assert sorted(label["example_ids"]) == sorted(ids[photo] for photo in SURFING)
    assert 0 < label["precision"] <= 1 and 0 < label["recall"] <= 1 and label["name"] == "Surf trip"
    # ... and tags her sixth surfing photo from its stored embedding (no re-inference), marked as her label's
    sixth = _custom(_tagged(local_stack, alice, ids[SIXTH_SURFING]))
    assert sixth["Surf trip"][0] == "custom" and sixth["Surf trip"][1] >= label["threshold"]
    assert _custom(_tagged(local_stack, alice, ids[SURFING[0]]))["Surf trip"] == ("user", 1.0)
    found = requests.get(f"{api}/images", params={"tag": "Surf trip"}, headers=local_stack.auth(alice), timeout=30)
    assert ids[SIXTH_SURFING] in {item["image_id"] for item in found.json()["items"]}
    # ... and a new upload of a surfing photo is tagged by the processing function
    later = _tagged(local_stack, alice, local_stack.upload(alice, LATER_SURFING))
    assert _custom(later).get("Surf trip", ("", 0))[0] == "custom", later["tags"]

    # Bob sees none of it, cannot use alice's photos, and his own photo of the same file gets no tag of hers.
    bobs = local_stack.auth(bob)
    assert requests.get(f"{api}/labels", headers=bobs, timeout=30).json() == {"items": []}
    assert requests.get(f"{api}/labels/surf%20trip", headers=bobs, timeout=30).status_code == 404
    assert requests.delete(f"{api}/labels/surf%20trip", headers=bobs, timeout=30).status_code == 404
    assert requests.get(f"{api}/images", params={"tag": "Surf trip"}, headers=bobs, timeout=30).json()["items"] == []
    stolen = requests.post(
        f"{api}/labels", json={"name": "mine", "image_ids": [ids[SURFING[0]]]}, headers=bobs, timeout=30
    )
    assert stolen.status_code == 404
    assert _custom(_tagged(local_stack, bob, local_stack.upload(bob, SIXTH_SURFING))) == {}
    assert requests.get(f"{api}/labels/surf%20trip", headers=local_stack.auth(alice), timeout=30).status_code == 200
