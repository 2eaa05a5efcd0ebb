"""Tagging one uploaded object: S3 event -> read (size guard) -> decode/prepare -> endpoint -> DynamoDB.

Outcomes, so that no image stays PENDING:
- a bad file (not an image, corrupt, too large) -> FAILED with the reason, not retried;
- the endpoint failing -> the exception propagates so SQS retries; on the last allowed receive the image is first
  marked FAILED with a retriable reason (the message then goes to the dead-letter queue, from which it can be redriven);
- any other error (a bug, DynamoDB throttling) -> retried the same way, FAILED "retry later" on the last receive;
- the image deleted meanwhile -> nothing is written (and a leftover object is removed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

import numpy as np
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from imagetagger.endpoint import EndpointClient, call_budget_s
from imagetagger.errors import ImageTaggerError, InvalidImageError, ModelEndpointError, NotFoundError
from imagetagger.models import parse_upload_key
from imagetagger.preprocessing import DEFAULT_SIZE, decode_image, prepare
from imagetagger.settings import Settings
from imagetagger.storage import ImageRepository

logger = Logger(child=True)
metrics = Metrics()  # Powertools metrics are shared per process; the handler's log_metrics flushes them


class MalformedEventError(ImageTaggerError):
    """The queue message is not an S3 event notification; it is left for the dead-letter queue."""


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    etag: str
    size: int


def objects_from_message(body: str) -> list[UploadedObject]:
    """The objects an S3 -> SQS notification body announces ([] for S3's configuration test event)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedEventError(f"the message is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedEventError("the message is not an S3 event")
    if document.get("Event") == "s3:TestEvent":
        return []
    try:
        return [
            UploadedObject(
                bucket=record["s3"]["bucket"]["name"],
                key=unquote_plus(record["s3"]["object"]["key"]),  # S3 URL-encodes keys in notifications
                etag=str(record["s3"]["object"].get("eTag", "")),
                size=int(record["s3"]["object"].get("size", 0)),
            )
            for record in document["Records"]
            if str(record.get("eventName", "")).startswith("ObjectCreated")
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: a key that is not a string
        raise MalformedEventError(f"the message is not an S3 event: {exc}") from exc


class ImageProcessor:
    def __init__(self, settings: Settings, s3: Any, repo: ImageRepository, endpoint: EndpointClient) -> None:
        self.settings = settings
        self.s3 = s3
        self.repo = repo
        self.endpoint = endpoint

    def process(
        self, upload: dict[str, Any], receive_count: int = 1, time_left_s: Callable[[], float] | None = None
    ) -> dict[str, str]:
        """Tag one object (`upload` is an UploadedObject as a dict: the idempotency key is bucket/key/etag).

        Returns {"image_id", "status"}; raises (ModelEndpointError, or any unexpected error) when SQS should deliver
        the message again. `time_left_s` (the invocation's remaining seconds) guards the endpoint call.
        """
        obj = UploadedObject(**upload)
        parsed = parse_upload_key(obj.key)
        if parsed is None:
            logger.warning("ignoring an object outside uploads/{user}/{image}", extra={"key": obj.key})
            return {"image_id": "", "status": "IGNORED"}
        user_id, image_id = parsed
        try:
            return self._tag(obj, user_id, image_id, receive_count, time_left_s)
        except Exception as exc:
            # Retried by SQS; on the last receive the image must not stay PENDING, whatever went wrong.
            if receive_count >= self.settings.max_receives:
                if isinstance(exc, ModelEndpointError):
                    message, reason = f"the model endpoint was unavailable; retry later ({exc})", "endpoint"
                else:
                    message, reason = "tagging failed unexpectedly; retry later", "unexpected"
                    logger.exception("tagging failed on the last receive", extra={"image_id": image_id})
                self._fail(user_id, image_id, message, reason, retriable=True)
            raise

    def _tag(
        self,
        obj: UploadedObject,
        user_id: str,
        image_id: str,
        receive_count: int,
        time_left_s: Callable[[], float] | None,
    ) -> dict[str, str]:
        try:
            self.repo.get(user_id, image_id)
        except NotFoundError:
            # Deleted (or never presigned by us): the object has no owner record, so it must not be kept.
            logger.info("image record is gone; removing the leftover object", extra={"image_id": image_id})
            self.s3.delete_object(Bucket=obj.bucket, Key=obj.key)
            return {"image_id": image_id, "status": "IGNORED"}
        try:
            pixels = self._read_and_prepare(obj)
            budget = call_budget_s(self.settings.endpoint_timeout_s)
            if time_left_s is not None and time_left_s() < budget:
                # A batch behind a slow endpoint: give this record back to SQS rather than time out the invocation.
                raise ModelEndpointError(f"less than {budget:.0f} s left in this invocation for the model call")
            started = time.perf_counter()
            prediction = self.endpoint.predict(pixels[np.newaxis])[0]
            # As the function sees it: network, cold start and botocore retries included (SageMaker's own is not).
            latency_ms = (time.perf_counter() - started) * 1000
            metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        except _ObjectGoneError:
            return {"image_id": image_id, "status": "IGNORED"}
        except InvalidImageError as exc:
            return self._fail(user_id, image_id, str(exc), reason="invalid_image")
        except ModelEndpointError as exc:
            metrics.add_metric(name="EndpointFailures", unit=MetricUnit.Count, value=1)
            logger.warning(
                "model endpoint failed; the message will be redelivered",
                extra={"image_id": image_id, "receive_count": receive_count, "error": str(exc)},
            )
            raise
        if not self.repo.mark_tagged(user_id, image_id, prediction.tags, prediction.model_version):
            logger.info("image deleted while it was tagged; nothing written", extra={"image_id": image_id})
            return {"image_id": image_id, "status": "IGNORED"}
        metrics.add_metric(name="ImagesTagged", unit=MetricUnit.Count, value=1)
        logger.info("image tagged", extra={"image_id": image_id, "tags": [t["name"] for t in prediction.tags]})
        return {"image_id": image_id, "status": "TAGGED"}

    def _read_and_prepare(self, obj: UploadedObject) -> np.ndarray:
        limit = self.settings.max_upload_bytes
        if obj.size > limit:
            raise InvalidImageError(f"the file is {obj.size} bytes; at most {limit} bytes are accepted")
        try:
            response = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise _ObjectGoneError from exc
            raise
        # Read one byte past the limit so a lying event cannot make us load an unbounded object.
        data = response["Body"].read(limit + 1)
        if len(data) > limit:
            raise InvalidImageError(f"the file is larger than {limit} bytes")
        return prepare(decode_image(data), DEFAULT_SIZE)

    def _fail(self, user_id: str, image_id: str, message: str, reason: str, retriable: bool = False) -> dict[str, str]:
        metrics.add_metric(name=f"ImagesFailed_{reason}", unit=MetricUnit.Count, value=1)
        written = self.repo.mark_failed(user_id, image_id, message, retriable=retriable)
        logger.info("image failed", extra={"image_id": image_id, "reason": message, "written": written})
        return {"image_id": image_id, "status": "FAILED" if written else "IGNORED"}


class _ObjectGoneError(Exception):
    """The object was deleted between the event and the read."""


def upload_as_dict(obj: UploadedObject) -> dict[str, Any]:
    return asdict(obj)
