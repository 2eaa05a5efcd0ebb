"""Helpers for the handler tests: Lambda context, events/ loading, a fake sagemaker-runtime, handler modules."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger_local.cfn import TEMPLATE_PATH, load_template

ROOT = Path(__file__).resolve().parents[2]
DOG_BOX = {"box": [0.125, 0.25, 0.5, 0.625], "confidence": 0.91}
EVENTS = ROOT / "events"
REGION = "us-east-1"
PROCESS_TIMEOUT_S = int(load_template(TEMPLATE_PATH)["Resources"]["ProcessFunction"]["Properties"]["Timeout"])
# The JWT `sub` of the events in events/.
EVENT_USER = json.loads((EVENTS / "api" / "get_image.json").read_text())["requestContext"]["authorizer"]["jwt"][
    "claims"
]["sub"]


@dataclass
class LambdaContext:
    function_name: str = "imagetagger-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:imagetagger-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "5f0e1d2c-3b4a-5968-7a8b-9c0d1e2f3a4b"
    log_group_name: str = "/aws/lambda/imagetagger-test"
    log_stream_name: str = "2026/11/29/[$LATEST]0123456789abcdef"

    remaining_ms: int = PROCESS_TIMEOUT_S * 1000  # a fresh invocation of the longest-running function

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name> (tests change fields)."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


class FakeSageMakerRuntime:
    """Stands in for boto3's sagemaker-runtime client: records requests, answers the protocol's JSON or an error."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        # As the endpoint answers since issue 11: each tag with its boxes.
        self.tags = [{"name": "dog", "confidence": 0.93, "parents": ["animal"], "instances": [DOG_BOX]}]
        self.model_version = "test-model-1"
        self.error: Exception | None = None

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        batch = np.load(io.BytesIO(request["Body"]), allow_pickle=False)
        body = {"model_version": self.model_version, "predictions": [{"tags": self.tags} for _ in range(len(batch))]}
        return {"Body": io.BytesIO(json.dumps(body).encode()), "ContentType": "application/json"}


def load_handler(function: str):
    """functions/<function>/app.py as a fresh module (each test gets its own resolver state)."""
    name = f"functions_{function}_app"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def jpeg_bytes(size: tuple[int, int] = (320, 240), color: tuple[int, int, int] = (30, 140, 200)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def http_event(name: str, *, path: str | None = None, image_id: str | None = None, query=None, body=None, user=None):
    """events/api/<name> with the image id, query, body or user changed, kept consistent with API Gateway's shape."""
    event = load_event(name)
    if image_id is not None:
        event["pathParameters"] = {"image_id": image_id}
        path = f"/images/{image_id}"
    if path is not None:
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["queryStringParameters"] = {k: str(v) for k, v in query.items()}
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if body is not None:
        event["body"] = body
    if user is not None:
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = user
    return event


def sqs_event_from_queue(sqs: Any, queue_url: str, queue_arn: str) -> dict[str, Any]:
    """The Lambda SQS event for the messages now in the queue, shaped as the event source mapping delivers them."""
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None
