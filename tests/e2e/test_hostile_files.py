"""The hostile-file corpus against the local stack with the real model: POST /tag and presigned uploads.

The same table as the unit and functional tests (tests/corpus/manifest.py); here the bytes cross real sockets, the S3
gateway's policy checks, moto's notification, the SQS worker and the ONNX endpoint.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from corpus.manifest import CASES

pytestmark = pytest.mark.e2e

PROCESSING_TIMEOUT_S = 180


def test_post_tag_answers_each_corpus_file_with_its_expected_status(local_stack):
    headers = local_stack.auth(f"hostile-{uuid.uuid4().hex[:8]}")
    statuses = {}
    for case in CASES:
        response = requests.post(
            f"{local_stack.api_url}/tag",
            data=case.data(),
            headers={**headers, "Content-Type": case.content_type},
            timeout=120,
        )
        statuses[case.name] = response.status_code
        body = response.json()
        if response.status_code == 200:
            assert isinstance(body["tags"], list) and body["model_version"], case.name
        elif case.reason and response.status_code == 400:
            assert case.reason in body["message"], (case.name, body)
    assert statuses == {case.name: case.expected_tag_status for case in CASES}


def test_uploads_of_each_corpus_file_end_tagged_or_failed_never_pending(local_stack):
    user = f"hostile-{uuid.uuid4().hex[:8]}"
    headers = local_stack.auth(user)
    image_ids = {}
    for case in CASES:
        data = case.data()
        created = requests.post(
            f"{local_stack.api_url}/uploads",
            json={"filename": f"{case.name}.jpg", "content_type": case.content_type, "size": max(len(data), 1)},
            headers=headers,
            timeout=30,
        )
        if case.upload_status != 201:
            assert created.status_code == case.upload_status, case.name
            continue
        assert created.status_code == 201, (case.name, created.text)
        form = created.json()["upload"]
        posted = requests.post(
            form["url"], data=form["fields"], files={"file": (case.name, data, case.content_type)}, timeout=60
        )
        if not data:
            # S3 refuses an empty object by the policy's content-length-range [1, max]: nothing to process.
            assert posted.status_code == 400 and b"EntityTooSmall" in posted.content
            continue
        assert posted.status_code == 204, (case.name, posted.text)
        image_ids[case.name] = created.json()["image_id"]

    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    images: dict[str, dict] = {}
    while time.monotonic() < deadline and len(images) < len(image_ids):
        for name, image_id in image_ids.items():
            if name not in images:
                image = requests.get(f"{local_stack.api_url}/images/{image_id}", headers=headers, timeout=30).json()
                if image["status"] != "PENDING":
                    images[name] = image
        time.sleep(0.5)

    assert sorted(set(image_ids) - set(images)) == [], "still PENDING"
    for case in CASES:
        if case.name not in images:
            continue
        image = images[case.name]
        if case.tagged:
            assert image["status"] == "TAGGED", (case.name, image["error"])
        else:
            assert image["status"] == "FAILED" and case.reason in image["error"], (case.name, image)
