"""The hostile user's requests that got a 500 or the wrong answer (issue 12, D5 and D7-D11), against the handlers.

Each is now refused with a 4xx and a message by the one place that owns it: the pagination token decoder, the
resolver's JSON body parser, the request model, the subject check; and the processing function fails a record it
cannot tag instead of leaving it PENDING.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid

import boto3
import pytest
from handler_support import EVENT_USER, REGION, body_of, jpeg_bytes
from test_security_api import VALID_BODIES, call, route_event

from imagetagger.storage import ImageRepository


def token(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def search_token(confidence: object, tag: str = "dog") -> str:
    key = {
        "user_tag": f"{EVENT_USER}#dog",
        "confidence": confidence,
        "user_id": EVENT_USER,
        "tag_image": f"{tag}#{'0' * 32}",
    }
    return token({"v": 1, "k": key})


TAMPERED = {
    "image id a number": ({}, token({"v": 1, "k": {"user_id": EVENT_USER, "image_id": {"n": "5"}}})),
    "image id not an id": ({}, token({"v": 1, "k": {"user_id": EVENT_USER, "image_id": "zzz"}})),
    "image id a list": ({}, token({"v": 1, "k": {"user_id": EVENT_USER, "image_id": ["a"]}})),
    "confidence a word": ({"tag": "dog"}, search_token({"n": "high"})),
    "confidence a string": ({"tag": "dog"}, search_token("0.5")),
    "confidence 1e400": ({"tag": "dog"}, search_token({"n": "1e400"})),
    "confidence -1e-200": ({"tag": "dog"}, search_token({"n": "-1e-200"})),
    "confidence 1e-200": ({"tag": "dog"}, search_token({"n": "1e-200"})),
    "confidence 50 digits": ({"tag": "dog"}, search_token({"n": "0." + "3" * 50})),
    "confidence above 1": ({"tag": "dog"}, search_token({"n": "1.5"})),
    "confidence NaN": ({"tag": "dog"}, search_token({"n": "NaN"})),
    "another tag's row": ({"tag": "dog"}, search_token({"n": "0.5"}, tag="cat")),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_pagination_tokens_are_400(name, api, lambda_context):
    query, next_token = TAMPERED[name]
    event = route_event("GET", "/images", query={**query, "next_token": next_token})
    response = call(None, api, event, lambda_context)
    assert response["statusCode"] == 400, response
    assert "next_token" in body_of(response)["message"]


def test_a_valid_search_token_still_pages(api, stack, lambda_context):
    # The strict checks must not refuse what the API itself hands out: a confidence of 0.5 on the user's own tag.
    event = route_event("GET", "/images", query={"tag": "dog", "next_token": search_token({"n": "0.5"})})
    response = call(None, api, event, lambda_context)
    assert response["statusCode"] == 200, response


def test_deeply_nested_json_is_a_422_not_a_500(presign, lambda_context):
    event = route_event("POST", "/uploads", body="[" * 100_000 + "]" * 100_000)
    response = call(presign, None, event, lambda_context)
    assert response["statusCode"] == 422, response
    assert "nested too deeply" in body_of(response)["message"]


@pytest.mark.parametrize("size", [True, False, "12", 12.0, 1.5, None])
def test_a_size_that_is_not_a_json_integer_is_refused(size, presign, lambda_context):
    body = json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": size})
    response = call(presign, None, route_event("POST", "/uploads", body=body), lambda_context)
    assert response["statusCode"] == 422, response
    assert "size" in body_of(response)["message"]


@pytest.mark.parametrize("sub", [".", "..", "a/b", "../alice", "-x", "a\x00b", "a\nb", "tab\there", "x" * 129, "a#b"])
def test_a_subject_that_is_no_valid_user_id_is_401_with_the_reason(sub, presign, lambda_context):
    event = route_event("POST", "/uploads", body=VALID_BODIES["POST /uploads"], user=sub)
    response = call(presign, None, event, lambda_context)
    assert response["statusCode"] == 401, response
    assert "not a valid user id" in body_of(response)["message"]


def test_a_cognito_style_subject_is_accepted(presign, lambda_context):
    event = route_event("POST", "/uploads", body=VALID_BODIES["POST /uploads"], user=str(uuid.uuid4()))
    assert call(presign, None, event, lambda_context)["statusCode"] == 201


def test_an_upload_whose_key_names_no_valid_user_ends_failed_with_the_reason(stack, deliver, lambda_context):
    # GIVEN a PENDING record of user ".." (written before subjects were checked) and its object in the bucket
    image_id = secrets.token_hex(16)
    repo = ImageRepository.from_names(boto3.resource("dynamodb", region_name=REGION), *_tables(stack))
    repo.images.put_item(
        Item={
            "user_id": "..",
            "image_id": image_id,
            "filename": "x.jpg",
            "content_type": "image/jpeg",
            "size": 10,
            "status": "PENDING",
            "created_at": "2026-12-01T00:00:00Z",
        }
    )
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=stack.bucket, Key=f"uploads/../{image_id}", Body=jpeg_bytes()
    )
    # WHEN the processing function handles its S3 event
    response = deliver()
    # THEN the message is done with and the image is FAILED with the reason, not retriable
    assert response["batchItemFailures"] == []
    item = repo.images.get_item(Key={"user_id": "..", "image_id": image_id})["Item"]
    assert item["status"] == "FAILED" and item["retriable"] is False
    assert "does not name a valid user" in item["error"]


def test_a_file_that_decodes_slower_than_the_budget_fails_as_a_bad_file(
    upload_image, deliver, api, model, stack, lambda_context, monkeypatch
):
    # D5: a slow decode was reported as "the model endpoint was unavailable; retry later" with retriable true.
    from imagetagger import preprocessing

    monkeypatch.setattr(preprocessing, "DECODE_BUDGET_S", 0.0)
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    image = _get_image(api, image_id, lambda_context)
    assert image["status"] == "FAILED" and image["retriable"] is False, image
    assert "to decode" in image["error"] and "endpoint" not in image["error"]
    assert model.requests == []


def _get_image(api, image_id: str, lambda_context) -> dict:
    event = route_event("GET", "/images/{image_id}")
    event["pathParameters"] = {"image_id": image_id}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/images/{image_id}"
    response = call(None, api, event, lambda_context)
    assert response["statusCode"] == 200, response
    return body_of(response)


def _tables(stack) -> tuple[str, str]:
    return stack.physical_ids["ImagesTable"], stack.physical_ids["TagsTable"]
