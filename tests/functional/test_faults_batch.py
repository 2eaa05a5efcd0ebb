"""Partial batches: one failing record is the only one retried, and a crash mid-batch re-tags nothing twice."""

from __future__ import annotations

import boto3
import pytest
from fault_endpoint import Answer, ScriptedEndpoint
from handler_support import REGION, body_of, http_event, jpeg_bytes, sqs_event_from_queue

from imagetagger import services
from imagetagger.endpoint import MAX_ATTEMPTS


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


def test_only_the_record_whose_endpoint_call_failed_is_retried(endpoint, upload_image, deliver, api, lambda_context):
    image_ids = [upload_image(jpeg_bytes(color=(i * 60, 90, 20))) for i in range(3)]
    # The second image's call fails on every botocore attempt; the others are answered.
    endpoint.script.extend([Answer(200)] + [Answer(500)] * MAX_ATTEMPTS)

    response = deliver()

    assert len(response["batchItemFailures"]) == 1
    assert sorted(statuses(api, lambda_context, image_ids)) == ["PENDING", "TAGGED", "TAGGED"]
    calls_before_retry = endpoint.invocations
    assert deliver()["batchItemFailures"] == []  # only the failed message was left in the queue
    assert endpoint.invocations == calls_before_retry + 1
    assert statuses(api, lambda_context, image_ids) == ["TAGGED"] * 3


def test_a_crash_mid_batch_redelivers_the_batch_but_tags_each_image_once(
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

    # THEN the first image is not sent to the model again (idempotency), and all three are tagged
    assert endpoint.invocations == 3
    assert statuses(api, lambda_context, image_ids) == ["TAGGED"] * 3
