"""Fixtures: moto S3/SQS/DynamoDB built from template.yaml by cfn.py, the handlers, a Lambda context, a fake model."""

from __future__ import annotations

import boto3
import pytest
from handler_support import REGION, FakeSageMakerRuntime, LambdaContext, load_handler
from moto import mock_aws

from imagetagger import aws, services
from imagetagger_local.cfn import StackResources, create_stack_resources


def pytest_configure(config):
    # Handlers that record no business metric in a test flush an empty set; Powertools warns about it.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def stack(monkeypatch) -> StackResources:
    """moto S3/SQS/DynamoDB with template.yaml's resources, and the functions' environment applied."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImageTaggerTest",
        "POWERTOOLS_SERVICE_NAME": "imagetagger",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        resources = create_stack_resources("functest", region=REGION)
        for name, value in resources.environment.items():
            monkeypatch.setenv(name, value)
        boto3.client("sqs", region_name=REGION).purge_queue(QueueUrl=resources.queue_url)  # S3's test event
        services.reset()
        yield resources
        services.reset()


@pytest.fixture
def model(stack, monkeypatch) -> FakeSageMakerRuntime:
    fake = FakeSageMakerRuntime()
    monkeypatch.setattr(aws, "sagemaker_runtime_client", lambda timeout_s: fake)
    return fake


@pytest.fixture
def presign(stack):
    return load_handler("presign")


@pytest.fixture
def api(stack):
    return load_handler("api")


@pytest.fixture
def process(stack):
    return load_handler("process")


@pytest.fixture
def upload_image(stack, presign, lambda_context):
    """POST /uploads as the events' user, then the presigned POST of `data`; returns the image id."""
    import json

    import requests
    from handler_support import load_event

    def upload(data: bytes, content_type: str = "image/jpeg", filename: str = "photo.jpg", user: str | None = None):
        event = load_event("presign/post_uploads.json")
        event["body"] = json.dumps({"filename": filename, "content_type": content_type, "size": max(len(data), 1)})
        if user is not None:
            event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = user
        response = presign.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 201, response
        ticket = json.loads(response["body"])
        form = ticket["upload"]
        posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=10)
        assert posted.status_code in (200, 204), posted.text
        return ticket["image_id"]

    return upload


@pytest.fixture
def deliver(stack, process, lambda_context):
    """Run the process handler on what is in the upload queue now; returns its batch response."""
    from handler_support import sqs_event_from_queue

    sqs = boto3.client("sqs", region_name=REGION)

    def run() -> dict:
        event = sqs_event_from_queue(sqs, stack.queue_url, stack.arns["UploadQueue"])
        assert event["Records"], "no message in the upload queue"
        response = process.lambda_handler(event, lambda_context)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:  # what the event source mapping does with a partial batch response
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=record["receiptHandle"])
        return response

    return run
