"""Model endpoint faults on the upload path, through the real boto3 client: 5xx, slower than the timeout, down.

What must hold: botocore retries with back-off inside one attempt; a failing attempt leaves the message for SQS to
redeliver; after MaxReceives the image is FAILED with a retriable reason and the event is in the dead-letter queue;
`imagetagger retry` puts it back and the image is tagged once the endpoint answers. Nothing is lost.
"""

from __future__ import annotations

import json

import boto3
import pytest
from fault_endpoint import Answer, ScriptedEndpoint
from handler_support import REGION, body_of, http_event, jpeg_bytes

from imagetagger import services
from imagetagger.model_client import MAX_ATTEMPTS
from imagetagger_cli.commands.retry import redrive, requeue_failed
from imagetagger_local.config import free_port

# Calls of one predict(): imagetagger.aws gives botocore retries={"total_max_attempts": MAX_ATTEMPTS}.
BOTOCORE_ATTEMPTS = MAX_ATTEMPTS


@pytest.fixture
def endpoint(stack, monkeypatch):
    """A scripted endpoint the processing function reaches over HTTP, with a 1 s read timeout."""
    server = ScriptedEndpoint().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    monkeypatch.setenv("ENDPOINT_TIMEOUT_S", "1")
    services.reset()
    yield server
    server.close()


def image_status(api, lambda_context, image_id: str) -> dict:
    return body_of(api.lambda_handler(http_event("api/get_image.json", image_id=image_id), lambda_context))


def test_5xx_answers_are_retried_by_the_client_and_the_image_is_tagged(
    endpoint, upload_image, deliver, api, lambda_context
):
    endpoint.script.extend([Answer(500), Answer(503)])
    image_id = upload_image(jpeg_bytes())
    assert deliver()["batchItemFailures"] == []
    assert endpoint.invocations == 3  # two failures absorbed by botocore's back-off, the third answered
    assert image_status(api, lambda_context, image_id)["status"] == "TAGGED"


def test_an_endpoint_slower_than_the_timeout_fails_the_attempt_and_sqs_redelivers(
    endpoint, upload_image, deliver, api, lambda_context
):
    endpoint.default = Answer(delay_s=2.5)  # past the 1 s read timeout, every time
    image_id = upload_image(jpeg_bytes())
    assert len(deliver()["batchItemFailures"]) == 1
    assert endpoint.invocations == BOTOCORE_ATTEMPTS
    assert image_status(api, lambda_context, image_id)["status"] == "PENDING"  # SQS will deliver it again

    endpoint.default = Answer()  # the endpoint recovers
    assert deliver()["batchItemFailures"] == []
    assert image_status(api, lambda_context, image_id)["status"] == "TAGGED"


def test_endpoint_down_ends_failed_retriable_in_the_dlq_and_retry_requeues_it(
    stack, upload_image, deliver, api, lambda_context, monkeypatch
):
    # GIVEN an endpoint URL where nothing listens
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    services.reset()
    image_id = upload_image(jpeg_bytes())

    # WHEN every receive fails
    for _ in range(int(stack.environment["MAX_RECEIVES"])):
        assert len(deliver()["batchItemFailures"]) == 1

    # THEN the image is FAILED with a reason that says to retry, and the event is in the dead-letter queue
    image = image_status(api, lambda_context, image_id)
    assert image["status"] == "FAILED" and "retry later" in image["error"]
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)  # the receive past maxReceiveCount redrives
    assert _depth(sqs, stack.dead_letter_queue_url) == 1

    # WHEN the endpoint is back and `imagetagger retry` redrives the dead-letter queue
    server = ScriptedEndpoint(port).start()
    try:
        moved = redrive(sqs, stack.dead_letter_queue_url, stack.queue_url, limit=100)
        assert (moved.requeued, moved.image_ids) == (1, [image_id])
        assert _depth(sqs, stack.dead_letter_queue_url) == 0
        assert deliver()["batchItemFailures"] == []
    finally:
        server.close()

    # THEN the image is tagged and its error is gone
    image = image_status(api, lambda_context, image_id)
    assert (image["status"], image["error"], [t["name"] for t in image["tags"]]) == ("TAGGED", None, ["dog"])


def test_failed_images_are_requeued_even_when_their_dead_letter_message_is_gone(
    stack, upload_image, deliver, api, lambda_context, monkeypatch
):
    # GIVEN an image FAILED "retry later" whose dead-letter message was lost (retention, or a local restart)
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    services.reset()
    image_id = upload_image(jpeg_bytes())
    bad_file = upload_image(b"not an image at all")  # FAILED for good: must not be re-queued
    for _ in range(int(stack.environment["MAX_RECEIVES"])):
        deliver()
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=0)  # moves it to the dead-letter queue...
    sqs.purge_queue(QueueUrl=stack.dead_letter_queue_url)  # ... where it is lost
    assert _depth(sqs, stack.queue_url) == 0
    assert image_status(api, lambda_context, image_id)["status"] == "FAILED"
    assert image_status(api, lambda_context, bad_file)["status"] == "FAILED"

    # WHEN the endpoint is back and `imagetagger retry --failed` scans for retriable failures
    server = ScriptedEndpoint(port).start()
    try:
        images = boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ImagesTable"])
        s3 = boto3.client("s3", region_name=REGION)
        moved = requeue_failed(images, s3, sqs, stack.bucket, stack.queue_url, limit=100)
        assert moved.image_ids == [image_id]
        assert deliver()["batchItemFailures"] == []
    finally:
        server.close()

    # THEN it is tagged; the bad file stays FAILED with its own reason
    assert image_status(api, lambda_context, image_id)["status"] == "TAGGED"
    assert "not a supported image" in image_status(api, lambda_context, bad_file)["error"]


def _depth(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_retry_command_reports_what_it_moved_as_json(stack, capsys):
    from imagetagger_cli.main import main

    sqs = boto3.client("sqs", region_name=REGION)
    event = {"Records": [{"s3": {"object": {"key": "uploads/alice/0123456789abcdef0123456789abcdef"}}}]}
    sqs.send_message(QueueUrl=stack.dead_letter_queue_url, MessageBody=json.dumps(event))
    moved = redrive(sqs, stack.dead_letter_queue_url, stack.queue_url, limit=100)
    assert moved.image_ids == ["0123456789abcdef0123456789abcdef"]
    # The command itself, pointed at an address where no stack runs, says so instead of a traceback.
    assert main(["retry", "--moto-url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "cannot reach the stack" in json.loads(capsys.readouterr().out)["error"]


def test_operators_see_latency_failures_and_the_image_id_in_metrics_and_logs(
    endpoint, upload_image, deliver, lambda_context, capsys, caplog
):
    endpoint.script.extend([Answer(503)] * BOTOCORE_ATTEMPTS)
    image_id = upload_image(jpeg_bytes())
    deliver()  # fails: every attempt answered 503
    deliver()  # the redelivery is tagged
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = [m for line in lines if "_aws" in line for m in line["_aws"]["CloudWatchMetrics"]]
    emitted = {metric["Name"] for m in metrics for metric in m["Metrics"]}
    assert {"EndpointFailures", "ModelLatency", "ImagesTagged"} <= emitted
    # The image id correlates the log lines of one upload across attempts.
    # (Powertools logs JSON to stdout in Lambda; the test reads the same records through caplog.)
    about_image = [record.getMessage() for record in caplog.records if getattr(record, "image_id", None) == image_id]
    assert "model endpoint failed; the message will be redelivered" in about_image and "image tagged" in about_image
