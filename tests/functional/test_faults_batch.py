"""Batches: one endpoint call per batch, only the failed records retried, a crash mid-batch re-writes nothing."""

from __future__ import annotations

import boto3
import pytest
from fault_endpoint import Answer, ScriptedEndpoint
from handler_support import REGION, body_of, http_event, jpeg_bytes, sqs_event_from_queue

from imagetagger import services
from imagetagger.model_client import MAX_ATTEMPTS


@pytest.fixture
def endpoint(stack, monkeypatch):
    server = ScriptedEndpoint().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    services.reset()
    yield server
    server.close()


def statuses(api, lambda_context, image_ids) -> list[str]:
    return [
        body_of(api.lambda_handler(http_event("api/get_image.json", image_id=i), lambda_context))["status"]
        for i in image_ids
    ]


def test_a_batch_is_one_endpoint_call_and_only_its_failed_records_are_retried(
    endpoint, upload_image, deliver, api, lambda_context
):
    # GIVEN three photos and a file that is not an image in one batch; the batch's endpoint call fails on every attempt
    image_ids = [upload_image(jpeg_bytes(color=(i * 60, 90, 20))) for i in range(3)]
    text_id = upload_image(b"not an image at all", filename="notes.jpg")
    endpoint.script.extend([Answer(500)] * MAX_ATTEMPTS)

    response = deliver()

    # THEN the photos go back to the queue, the text file is FAILED at once and not retried
    assert endpoint.invocations == MAX_ATTEMPTS  # one call (with botocore's retries) for the whole batch
    assert len(response["batchItemFailures"]) == 3
    assert statuses(api, lambda_context, [*image_ids, text_id]) == ["PENDING"] * 3 + ["FAILED"]
    # WHEN the retried records come back, they are tagged: one image first (the environment has not seen the endpoint
    # answer yet, so it measures its speed), the rest in one call, and a warm environment's next batch in one call
    assert deliver()["batchItemFailures"] == []
    assert endpoint.invocations == MAX_ATTEMPTS + 2
    assert statuses(api, lambda_context, image_ids) == ["TAGGED"] * 3
    more = [upload_image(jpeg_bytes(color=(90, i * 60, 20))) for i in range(3)]
    assert deliver()["batchItemFailures"] == []
    assert endpoint.invocations == MAX_ATTEMPTS + 3
    assert statuses(api, lambda_context, more) == ["TAGGED"] * 3


def test_a_crash_mid_batch_redelivers_the_batch_but_writes_each_image_once(
    endpoint, upload_image, process, stack, api, lambda_context
):
    # GIVEN three uploads; the function died (timeout, out of memory) after tagging the first of its batch
    image_ids = [upload_image(jpeg_bytes(color=(20, i * 60, 90))) for i in range(3)]
    sqs = boto3.client("sqs", region_name=REGION)
    batch = sqs_event_from_queue(sqs, stack.queue_url, stack.arns["UploadQueue"])
    assert len(batch["Records"]) == 3
    process.lambda_handler({"Records": batch["Records"][:1]}, lambda_context)  # what it got done before dying
    assert endpoint.invocations == 1

    # WHEN SQS redelivers the whole batch (no message was deleted)
    redelivered = sqs_event_from_queue(sqs, stack.queue_url, stack.arns["UploadQueue"])
    assert len(redelivered["Records"]) == 3
    assert process.lambda_handler(redelivered, lambda_context)["batchItemFailures"] == []

    # THEN the batch is one more endpoint call, and idempotency keeps the first image's record as it was written
    # (the batch stage does not read the idempotency table: a redelivered image costs inference, not a write)
    assert endpoint.invocations == 2
    assert statuses(api, lambda_context, image_ids) == ["TAGGED"] * 3
    images = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ImagesTable"])
    revisions = [int(item["revision"]) for item in images.scan()["Items"] if item["image_id"] in image_ids]
    assert revisions == [1, 1, 1]
