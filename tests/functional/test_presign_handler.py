"""POST /uploads through functions/presign/app.py with events/presign/post_uploads.json."""

import json

import pytest
import requests
from handler_support import EVENT_USER, load_event


def _post_uploads(presign, lambda_context, **body):
    event = load_event("presign/post_uploads.json")
    if body:
        event["body"] = json.dumps(body)
    response = presign.lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def test_returns_a_presigned_post_pinned_to_type_size_and_key(presign, api, stack, lambda_context):
    status, body = _post_uploads(presign, lambda_context)
    assert status == 201
    image_id = body["image_id"]
    fields = body["upload"]["fields"]
    assert fields["key"] == f"uploads/{EVENT_USER}/{image_id}"
    assert fields["Content-Type"] == "image/jpeg"
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, int(stack.environment["MAX_UPLOAD_BYTES"])] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    assert body["expires_in"] == int(stack.environment["UPLOAD_URL_EXPIRES_S"])

    # The image is visible as PENDING right away.
    event = load_event("api/get_image.json")
    event["pathParameters"]["image_id"] = image_id
    event["rawPath"] = f"/images/{image_id}"
    event["requestContext"]["http"]["path"] = f"/images/{image_id}"
    got = api.lambda_handler(event, lambda_context)
    assert got["statusCode"] == 200
    assert json.loads(got["body"])["status"] == "PENDING"


def test_the_form_uploads_to_the_bucket(presign, stack, lambda_context):
    status, body = _post_uploads(presign, lambda_context, filename="a.png", content_type="image/png", size=10)
    assert status == 201
    upload = body["upload"]
    response = requests.post(upload["url"], data=upload["fields"], files={"file": ("a.png", b"0123456789")}, timeout=10)
    assert response.status_code in (200, 204)
    import boto3

    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=upload["fields"]["key"])
    assert head["ContentLength"] == 10


@pytest.mark.parametrize("content_type", ["text/html", "application/pdf", "image/svg+xml", "video/mp4"])
def test_unsupported_type_is_400(presign, lambda_context, content_type):
    status, body = _post_uploads(presign, lambda_context, filename="x", content_type=content_type, size=10)
    assert status == 400
    assert "not supported" in body["message"]


def test_too_large_is_413(presign, stack, lambda_context):
    too_big = int(stack.environment["MAX_UPLOAD_BYTES"]) + 1
    status, body = _post_uploads(presign, lambda_context, filename="x.jpg", content_type="image/jpeg", size=too_big)
    assert status == 413
    assert str(stack.environment["MAX_UPLOAD_BYTES"]) in body["message"]


@pytest.mark.parametrize(
    "raw_body",
    [
        "{not json",
        json.dumps({"filename": "x.jpg", "content_type": "image/jpeg"}),  # size missing
        json.dumps({"filename": "x.jpg", "content_type": "image/jpeg", "size": "big"}),
        json.dumps({"filename": "x.jpg", "content_type": "image/jpeg", "size": 0}),
        json.dumps([1, 2, 3]),
        "",
    ],
)
def test_malformed_bodies_are_4xx(presign, lambda_context, raw_body):
    event = load_event("presign/post_uploads.json")
    event["body"] = raw_body
    response = presign.lambda_handler(event, lambda_context)
    assert 400 <= response["statusCode"] < 500
    assert json.loads(response["body"])["message"]  # every refusal says why


def test_missing_jwt_claims_is_401(presign, lambda_context):
    event = load_event("presign/post_uploads.json")
    del event["requestContext"]["authorizer"]
    response = presign.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 401
