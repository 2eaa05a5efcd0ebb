"""The hostile-file corpus through the real handlers: POST /tag, and POST /uploads -> S3 -> SQS -> process.

moto plays S3/SQS/DynamoDB (built from template.yaml), a fake sagemaker-runtime plays the model. Every file must end
as tags or a 4xx with its reason (POST /tag), and TAGGED or FAILED with its reason (uploads), never 5xx or PENDING.
"""

from __future__ import annotations

import base64
import json

import boto3
import requests
from corpus.manifest import CASES, MAX_UPLOAD_BYTES, Case
from handler_support import REGION, body_of, http_event, load_event


def tag_now_event(case: Case, data: bytes) -> dict:
    event = http_event("api/tag_now.json", body=base64.b64encode(data).decode())
    event["isBase64Encoded"] = True
    event["headers"]["content-type"] = case.content_type
    return event


def test_post_tag_answers_every_corpus_file_with_tags_or_its_4xx(api, model, lambda_context):
    outcomes = {}
    for case in CASES:
        response = api.lambda_handler(tag_now_event(case, case.data()), lambda_context)
        body = body_of(response)
        outcomes[case.name] = (response["statusCode"], body.get("message") if response["statusCode"] != 200 else None)
    expected = {case.name: case.expected_tag_status for case in CASES}
    assert {name: status for name, (status, _) in outcomes.items()} == expected
    for case in CASES:
        if case.reason:
            assert case.reason in outcomes[case.name][1], case.name
    assert len(model.requests) == sum(case.expected_tag_status == 200 for case in CASES)


def create_upload(presign, lambda_context, case: Case, declared_size: int) -> dict:
    event = load_event("presign/post_uploads.json")
    event["body"] = json.dumps(
        {"filename": f"{case.name}.jpg", "content_type": case.content_type, "size": declared_size}
    )
    return presign.lambda_handler(event, lambda_context)


def drain(deliver, stack) -> list[dict]:
    """Run the process function until the queue is empty; return every batch response."""
    sqs = boto3.client("sqs", region_name=REGION)
    responses = []
    while (
        sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        != "0"
    ):
        responses.append(deliver())
        assert len(responses) < 100, "the queue does not drain"
    return responses


def test_uploads_of_every_corpus_file_end_tagged_or_failed_with_the_reason(
    upload_image, presign, deliver, api, model, stack, lambda_context
):
    # GIVEN every corpus file uploaded through a presigned POST, declared with its real size
    image_ids = {}
    for case in CASES:
        data = case.data()
        if case.upload_status != 201:
            response = create_upload(presign, lambda_context, case, len(data))
            assert response["statusCode"] == case.upload_status, case.name
            assert case.reason in body_of(response)["message"]
            continue
        image_ids[case.name] = upload_image(data, content_type=case.content_type, filename=f"{case.name}.jpg")

    # WHEN the processing function has handled every S3 event
    responses = drain(deliver, stack)

    # THEN no message is left for a retry (bad files are final), and every image is TAGGED or FAILED with the reason
    assert [r["batchItemFailures"] for r in responses if r["batchItemFailures"]] == []
    for case in CASES:
        if case.name not in image_ids:
            continue
        response = api.lambda_handler(http_event("api/get_image.json", image_id=image_ids[case.name]), lambda_context)
        image = body_of(response)
        if case.tagged:
            assert (image["status"], image["error"]) == ("TAGGED", None), case.name
            assert [t["name"] for t in image["tags"]] == ["dog"]
        else:
            assert image["status"] == "FAILED", case.name
            assert case.reason in image["error"], (case.name, image["error"])


def test_a_file_larger_than_declared_is_failed_not_read(presign, deliver, api, model, lambda_context):
    # moto ignores the policy's content-length-range (the local S3 gateway and S3 enforce it); the function must
    # still refuse to read more than MAX_UPLOAD_BYTES.
    case = next(case for case in CASES if case.name == "oversized")
    oversized = case.data()
    assert len(oversized) > MAX_UPLOAD_BYTES
    ticket = body_of(create_upload(presign, lambda_context, case, declared_size=1000))
    form = ticket["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("big.jpg", oversized)}, timeout=30)
    assert posted.status_code in (200, 204)
    deliver()
    image = body_of(api.lambda_handler(http_event("api/get_image.json", image_id=ticket["image_id"]), lambda_context))
    assert image["status"] == "FAILED" and "bytes" in image["error"]
    assert model.requests == []
