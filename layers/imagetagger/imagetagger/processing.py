"""Tagging uploaded objects: S3 events -> read (size guard) -> decode/prepare -> endpoint -> DynamoDB.

A batch of SQS messages is prepared together (prepare_batch: one BatchGetItem, concurrent reads, one endpoint call),
then each image's outcome is written on its own (process, idempotent per object), because each image's write is
conditioned on its own record and its own idempotency record: one image deleted meanwhile must not cancel the others.

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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

import numpy as np
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from imagetagger import aws
from imagetagger.custom_labels.apply import NewImage, NewUploadLabels
from imagetagger.custom_labels.store import LabelStore
from imagetagger.embedding_store import EmbeddingStore
from imagetagger.errors import ImageTaggerError, InvalidImageError, ModelEndpointError, OutOfTimeError
from imagetagger.model_client import EndpointClient, Prediction, call_budget_s, images_per_call
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.preprocessing import prepare_upload
from imagetagger.records import parse_upload_key
from imagetagger.settings import Settings
from imagetagger.storage import ImageRepository

logger = Logger(child=True)
metrics = Metrics()  # Powertools metrics are shared per process; the handler's log_metrics flushes them
# Objects of a batch read and decoded at once: S3 GETs wait on the network, Pillow releases the GIL while decoding.
READ_WORKERS = 8
# Endpoint calls are sized to take at most this share of the read timeout (see ImageProcessor._images_per_call).
CALL_SHARE_OF_TIMEOUT = 0.25


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


@dataclass
class Prepared:
    """What the batch stage found for one object, for its own idempotent step to write: the record as read (None: the
    image is gone), and either the prediction or the error that decides the image's fate."""

    record: dict[str, Any] | None
    prediction: Prediction | None = None
    error: Exception | None = None


class ImageProcessor:
    def __init__(self, settings: Settings, s3: Any, repo: ImageRepository, endpoint: EndpointClient) -> None:
        self.settings = settings
        self.s3 = s3
        self.repo = repo
        self.endpoint = endpoint
        self.embeddings = EmbeddingStore(s3, settings.upload_bucket, repo)
        # The user's own trained labels tag each new upload from its embedding (imagetagger.custom_labels).
        self.custom_labels = (
            NewUploadLabels(repo, LabelStore(aws.dynamodb_resource().Table(settings.labels_table)))
            if settings.labels_table
            else None
        )
        # The endpoint's seconds per image as this (warm) environment last measured them; None until the first call.
        self._seconds_per_image: float | None = None
        # Inside batch_follow_ups(): the batch's tagged images, per user, followed up once when the batch ends.
        self._pending: dict[str, list[NewImage]] | None = None

    # ------------------------------------------------------------------ the batch stage (no writes)
    def prepare_batch(
        self, objects: Sequence[UploadedObject], time_left_s: Callable[[], float] | None = None
    ) -> dict[UploadedObject, Prepared]:
        """Read the batch's records with one BatchGetItem, its objects concurrently, and tag them all with as few
        endpoint calls as the payload limit and the endpoint's measured speed allow (one for an SQS batch of 10 in a
        warm environment). Writes nothing: each image's outcome is written by `process`, once per image under the
        idempotency key, so partial failures stay per image."""
        owned = {obj: parsed for obj in dict.fromkeys(objects) if (parsed := parse_upload_key(obj.key)) is not None}
        records = self.repo.get_items(list(owned.values()))
        prepared = {obj: Prepared(records.get(key)) for obj, key in owned.items()}
        present = [obj for obj in owned if prepared[obj].record is not None]
        with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(present) or 1), thread_name_prefix="read") as pool:
            loaded = dict(zip(present, pool.map(self._load, present), strict=True))
        pixels: dict[UploadedObject, np.ndarray] = {}
        for obj, outcome in loaded.items():
            if isinstance(outcome, np.ndarray):
                pixels[obj] = outcome
            else:
                prepared[obj].error = outcome
        ready = list(pixels)
        if not ready:
            return prepared
        budget = call_budget_s(self.settings.endpoint_timeout_s)
        if time_left_s is not None and time_left_s() < budget:
            # A batch behind a slow endpoint: give the records back to SQS rather than time out the invocation.
            for obj in ready:
                prepared[obj].error = OutOfTimeError(
                    f"less than {budget:.0f} s left in this invocation for the model call"
                )
            return prepared
        start = 0
        while start < len(ready):
            chunk = ready[start : start + self._images_per_call(pixels[ready[0]].nbytes)]
            start += len(chunk)
            answers = self._predict(np.stack([pixels[o] for o in chunk]))
            for obj, answer in zip(chunk, answers, strict=True):
                if isinstance(answer, Prediction):
                    prepared[obj].prediction = answer
                else:
                    prepared[obj].error = answer
            if any(isinstance(answer, ModelEndpointError) for answer in answers):
                # The endpoint is unavailable: the rest of the batch goes back to SQS without waiting on it again.
                for obj in ready[start:]:
                    prepared[obj].error = next(a for a in answers if isinstance(a, ModelEndpointError))
                break
        return prepared

    def _images_per_call(self, image_bytes: int) -> int:
        """The payload limit, and a call expected to take CALL_SHARE_OF_TIMEOUT of the endpoint's read timeout at the
        speed measured last: a batch that outgrew the timeout (a slow model, an endpoint busy with other batches)
        would fail whole, and be computed again on every retry. The first call of an environment measures."""
        if self._seconds_per_image is None:
            return 1
        in_time = int(self.settings.endpoint_timeout_s * CALL_SHARE_OF_TIMEOUT / max(self._seconds_per_image, 1e-6))
        return max(1, min(images_per_call(image_bytes), in_time))

    def _load(self, obj: UploadedObject) -> np.ndarray | Exception:
        try:
            return self._read_and_prepare(obj)
        except Exception as exc:  # decided per image by process(): a bad file, a vanished object, or retried
            return exc

    def _predict(self, batch: np.ndarray) -> list[Prediction | Exception]:
        """Predictions for a batch, or each image's error. The endpoint refusing a batch (4xx) does not say which
        image it refused: then each is sent alone, so only the bad one fails."""
        started = time.perf_counter()
        try:
            predictions: list[Prediction | Exception] = list(self.endpoint.predict(batch))
        except InvalidImageError as exc:
            if len(batch) == 1:
                return [exc]
            return [outcome for image in batch for outcome in self._predict(image[np.newaxis])]
        except ModelEndpointError as exc:
            metrics.add_metric(name="EndpointFailures", unit=MetricUnit.Count, value=1)
            return [exc] * len(batch)
        except Exception as exc:  # a bug: each image is retried, then FAILED "unexpected" on its last receive
            logger.exception("the endpoint call failed unexpectedly")
            return [exc] * len(batch)
        # As the function sees it: network, cold start and botocore retries included (SageMaker's own is not).
        latency_ms = (time.perf_counter() - started) * 1000
        measured = latency_ms / 1000 / len(batch)
        previous = self._seconds_per_image
        self._seconds_per_image = measured if previous is None else (previous + measured) / 2
        metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        metrics.add_metric(name="ModelBatchSize", unit=MetricUnit.Count, value=len(batch))
        return predictions

    # ------------------------------------------------------------------ the per-image step (idempotent)
    def process(
        self,
        upload: dict[str, Any],
        receive_count: int = 1,
        time_left_s: Callable[[], float] | None = None,
        prepared: Prepared | None = None,
    ) -> dict[str, str]:
        """Write one object's outcome (`upload` is an UploadedObject as a dict: the idempotency key is
        bucket/key/etag); `prepared` comes from prepare_batch, else this object is prepared alone.

        Returns {"image_id", "status"}; raises (ModelEndpointError, or any unexpected error) when SQS should deliver
        the message again. `time_left_s` (the invocation's remaining seconds) guards the endpoint call.
        """
        obj = UploadedObject(**upload)
        parsed = parse_upload_key(obj.key)
        if parsed is None:
            return self._unmappable(obj)
        user_id, image_id = parsed
        try:
            if prepared is None:
                prepared = self.prepare_batch([obj], time_left_s)[obj]
            return self._write(obj, user_id, image_id, prepared, receive_count)
        except Exception as exc:
            # Retried by SQS; on the last receive the image must not stay PENDING, whatever went wrong.
            if receive_count >= self.settings.max_receives:
                if isinstance(exc, OutOfTimeError):
                    message, reason = f"no time was left to call the model; retry later ({exc})", "out_of_time"
                elif isinstance(exc, ModelEndpointError):
                    message, reason = f"the model endpoint was unavailable; retry later ({exc})", "endpoint"
                else:
                    message, reason = "tagging failed unexpectedly; retry later", "unexpected"
                    logger.exception("tagging failed on the last receive", extra={"image_id": image_id})
                self._fail(user_id, image_id, message, reason, retriable=True)
            raise

    def _unmappable(self, obj: UploadedObject) -> dict[str, str]:
        """A key that names no valid user (uploads/../x, say): its record, if the key still names one, fails with the
        reason, so no image stays PENDING for ever; the object is left for an operator."""
        logger.warning("an object whose key names no valid user", extra={"key": obj.key})
        parts = obj.key.split("/")
        if len(parts) == 3 and parts[0] == "uploads" and parts[1] and parts[2]:
            reason = "the upload's key does not name a valid user, so it cannot be tagged"
            if self.repo.mark_failed(parts[1], parts[2], reason, retriable=False):
                return {"image_id": parts[2], "status": "FAILED"}
        return {"image_id": "", "status": "IGNORED"}

    def _write(
        self, obj: UploadedObject, user_id: str, image_id: str, prepared: Prepared, receive_count: int
    ) -> dict[str, str]:
        if prepared.record is None:
            # Deleted (or never presigned by us): the object has no owner record, so it must not be kept.
            logger.info("image record is gone; removing the leftover object", extra={"image_id": image_id})
            self.s3.delete_object(Bucket=obj.bucket, Key=obj.key)
            return {"image_id": image_id, "status": "IGNORED"}
        error = prepared.error
        if isinstance(error, _ObjectGoneError):
            return {"image_id": image_id, "status": "IGNORED"}
        if isinstance(error, InvalidImageError):
            return self._fail(user_id, image_id, str(error), reason="invalid_image")
        if isinstance(error, ModelEndpointError):
            logger.warning(
                "model endpoint failed; the message will be redelivered",
                extra={"image_id": image_id, "receive_count": receive_count, "error": str(error)},
            )
        if error is not None:
            raise error
        prediction = prepared.prediction
        if prediction is None:
            raise RuntimeError(f"image {image_id} was neither tagged nor failed by its batch")
        if not self.repo.mark_tagged(
            user_id,
            image_id,
            prediction.tags,
            prediction.model_version,
            current=prepared.record,
            embedding=prediction.embedding,
        ):
            logger.info("image deleted while it was tagged; nothing written", extra={"image_id": image_id})
            return {"image_id": image_id, "status": "IGNORED"}
        self._after_tagged(user_id, image_id, prediction, prepared.record)
        metrics.add_metric(name="ImagesTagged", unit=MetricUnit.Count, value=1)
        logger.info("image tagged", extra={"image_id": image_id, "tags": [t["name"] for t in prediction.tags]})
        return {"image_id": image_id, "status": "TAGGED"}

    def _after_tagged(self, user_id: str, image_id: str, prediction: Prediction, record: dict[str, Any] | None) -> None:
        """What follows a stored prediction with an embedding: the image's row in the user's embedding matrix and the
        user's own labels; at once or, inside batch_follow_ups(), with the batch's other images of that user."""
        if prediction.embedding is None:
            return
        tagged = NewImage(image_id, prediction.embedding, prediction.model_version, record)
        if self._pending is not None:
            self._pending.setdefault(user_id, []).append(tagged)
        else:
            self._follow_up(user_id, [tagged])

    @contextmanager
    def batch_follow_ups(self) -> Iterator[None]:
        """The follow-ups of the images tagged inside run once per user at the end: one read and one write of each
        user's matrix object (it holds all of the user's rows) and one listing of the user's labels per SQS batch,
        not one of each per image. Both run after the batch's images are stored, as they would one by one: a label
        trained meanwhile is either listed here or applied by its training to the stored embeddings."""
        self._pending = {}
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            for user_id, images in pending.items():
                self._follow_up(user_id, images)

    def _follow_up(self, user_id: str, images: list[NewImage]) -> None:
        self._write_matrix_rows(user_id, [(i.image_id, i.embedding_version, i.embedding) for i in images])
        if self.custom_labels is not None:
            self.custom_labels(user_id, images)

    def _write_matrix_rows(self, user_id: str, rows: list[tuple[str, str, bytes]]) -> None:
        """Best effort: the tags are stored, and a search that misses a row rebuilds the matrix from DynamoDB
        (imagetagger.embedding_store)."""
        try:
            self.embeddings.upsert_rows(user_id, rows)
        except Exception:  # S3 throttling, a matrix over its bound: never worth failing the tagged images
            metrics.add_metric(name="EmbeddingMatrixWriteFailures", unit=MetricUnit.Count, value=1)
            logger.exception("the embedding matrix was not updated", extra={"image_ids": [row[0] for row in rows]})

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
        return prepare_upload(data, SERVING_INPUT_SIZE)  # bounded work and a decode budget of its own (not the model's)

    def _fail(self, user_id: str, image_id: str, message: str, reason: str, retriable: bool = False) -> dict[str, str]:
        metrics.add_metric(name=f"ImagesFailed_{reason}", unit=MetricUnit.Count, value=1)
        written = self.repo.mark_failed(user_id, image_id, message, retriable=retriable)
        logger.info("image failed", extra={"image_id": image_id, "reason": message, "written": written})
        return {"image_id": image_id, "status": "FAILED" if written else "IGNORED"}


class _ObjectGoneError(Exception):
    """The object was deleted between the event and the read."""


def upload_as_dict(obj: UploadedObject) -> dict[str, Any]:
    return asdict(obj)
