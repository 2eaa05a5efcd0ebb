"""POST /images/{image_id}/retry and the thumbnail_url of GET /images..., through the api function against moto.

A retriable failure is made for real: the endpoint URL points where nothing listens until the receives run out.
"""

from __future__ import annotations

from urllib.parse import urlparse

import boto3
import pytest
import requests
from fault_endpoint import ScriptedEndpoint
from handler_support import EVENT_USER, REGION, body_of, http_event, jpeg_bytes

from imagetagger import services
from imagetagger_local.config import free_port

OTHER_USER = "b7e0c1d2-0000-4000-8000-000000000002"


def _call(api, lambda_context, event) -> tuple[int, dict]:
    response = api.lambda_handler(event, lambda_context)
    return response["statusCode"], body_of(response)


def _retry(api, lambda_context, image_id: str, user: str | None = None) -> tuple[int, dict]:
    event = http_event("api/retry_image.json", image_id=image_id, user=user)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/images/{image_id}/retry"
    return _call(api, lambda_context, event)


def _get(api, lambda_context, image_id: str) -> dict:
    status, body = _call(api, lambda_context, http_event("api/get_image.json", image_id=image_id))
    assert status == 200, body
    return body


@pytest.fixture
def endpoint_down(stack, monkeypatch) -> int:
    """The port of a model endpoint that is not running (yet)."""
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    services.reset()
    return port


def _fail_every_receive(stack, deliver) -> None:
    for _ in range(int(stack.environment["MAX_RECEIVES"])):
        assert len(deliver()["batchItemFailures"]) == 1
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)  # the receive past maxReceiveCount redrives


def test_an_endpoint_failure_is_retriable_and_the_retry_route_tags_it(
    stack, endpoint_down, upload_image, deliver, api, lambda_context
):
    # GIVEN an image FAILED because the endpoint was down on every receive
    image_id = upload_image(jpeg_bytes())
    _fail_every_receive(stack, deliver)
    failed = _get(api, lambda_context, image_id)
    assert (failed["status"], failed["retriable"]) == ("FAILED", True)

    # WHEN the user asks to retry it
    status, body = _retry(api, lambda_context, image_id)

    # THEN it is PENDING again with no error, and its upload is back on the queue
    assert status == 200, body
    assert (body["status"], body["error"], body["retriable"]) == ("PENDING", None, False)
    assert _retry(api, lambda_context, image_id)[0] == 409  # a second click while it waits changes nothing

    # WHEN the endpoint is back and the queue is processed
    server = ScriptedEndpoint(endpoint_down).start()
    try:
        assert deliver()["batchItemFailures"] == []
    finally:
        server.close()

    # THEN the image is tagged, and retrying a tagged image is refused
    tagged = _get(api, lambda_context, image_id)
    assert (tagged["status"], [t["name"] for t in tagged["tags"]]) == ("TAGGED", ["dog"])
    status, body = _retry(api, lambda_context, image_id)
    assert status == 409 and "TAGGED" in body["message"]


def test_a_bad_file_is_not_retriable(stack, model, upload_image, deliver, api, lambda_context):
    image_id = upload_image(b"plain text, not a photo", filename="notes.jpg")
    deliver()
    failed = _get(api, lambda_context, image_id)
    assert (failed["status"], failed["retriable"], failed["thumbnail_url"]) == ("FAILED", False, None)
    status, body = _retry(api, lambda_context, image_id)
    assert status == 409 and body["message"]
    assert _get(api, lambda_context, image_id)["status"] == "FAILED"


def test_nobody_retries_someone_elses_image(stack, endpoint_down, upload_image, deliver, api, lambda_context):
    image_id = upload_image(jpeg_bytes())
    _fail_every_receive(stack, deliver)
    assert _retry(api, lambda_context, image_id, user=OTHER_USER)[0] == 404
    assert _get(api, lambda_context, image_id)["status"] == "FAILED"


def test_a_retry_whose_upload_is_gone_says_to_upload_again(
    stack, endpoint_down, upload_image, deliver, api, lambda_context
):
    image_id = upload_image(jpeg_bytes())
    _fail_every_receive(stack, deliver)
    boto3.client("s3", region_name=REGION).delete_object(Bucket=stack.bucket, Key=f"uploads/{EVENT_USER}/{image_id}")
    status, body = _retry(api, lambda_context, image_id)
    assert status == 409 and "upload it again" in body["message"]
    after = _get(api, lambda_context, image_id)
    assert (after["status"], after["retriable"]) == ("FAILED", False)


def test_tagged_images_carry_a_short_lived_url_of_their_own_photo(model, upload_image, deliver, api, lambda_context):
    photo = jpeg_bytes()
    image_id = upload_image(photo)
    pending = _get(api, lambda_context, image_id)
    assert pending["thumbnail_url"] is None  # nothing to show before the worker has seen the object
    deliver()

    one = _get(api, lambda_context, image_id)["thumbnail_url"]
    status, page = _call(api, lambda_context, http_event("api/list_images.json"))
    assert status == 200
    (listed,) = [item["thumbnail_url"] for item in page["items"] if item["image_id"] == image_id]

    for url in (one, listed):
        assert urlparse(url).path.endswith(f"/uploads/{EVENT_USER}/{image_id}")
        assert int(dict(p.split("=", 1) for p in urlparse(url).query.split("&"))["X-Amz-Expires"]) <= 900
        fetched = requests.get(url, timeout=10)
        assert fetched.status_code == 200 and fetched.content == photo

    # Someone else sees neither the image nor a URL of it.
    _, theirs = _call(api, lambda_context, http_event("api/list_images.json", user=OTHER_USER))
    assert theirs["items"] == []
