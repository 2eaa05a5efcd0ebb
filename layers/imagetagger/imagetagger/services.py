"""The objects a handler needs, built once per process from Settings and boto3's environment."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from imagetagger import aws
from imagetagger.custom_labels.examples import LabelExamples
from imagetagger.custom_labels.requests import LabelRequests
from imagetagger.custom_labels.store import LabelStore
from imagetagger.model_client import EndpointClient
from imagetagger.processing import ImageProcessor, Prepared, UploadedObject
from imagetagger.settings import Settings
from imagetagger.storage import ImageRepository

# S3 may deliver one ObjectCreated event more than once; the same object version is tagged once within this window.
IDEMPOTENCY_WINDOW_S = 24 * 3600


@dataclass
class Services:
    settings: Settings
    repo: ImageRepository
    s3: Any
    endpoint: EndpointClient
    sqs: Any  # the retry route re-queues uploads
    labels: LabelStore  # users' own labels (LABELS_TABLE)
    label_requests: LabelRequests  # their debounced training (LABEL_TRAINING_QUEUE_URL)

    def label_examples(self) -> LabelExamples:
        return LabelExamples(self.repo, self.labels, self.label_requests)


@functools.cache
def services() -> Services:
    settings = Settings.from_env()
    sqs = aws.sqs_client()
    return Services(
        settings=settings,
        repo=ImageRepository.from_names(aws.dynamodb_resource(), settings.images_table, settings.tags_table),
        s3=aws.s3_client(),
        endpoint=EndpointClient(settings.endpoint_name, aws.sagemaker_runtime_client(settings.endpoint_timeout_s)),
        sqs=sqs,
        labels=LabelStore(aws.dynamodb_resource().Table(settings.labels_table or "labels-not-configured")),
        label_requests=LabelRequests(sqs, settings.label_training_queue_url),
    )


@dataclass
class IdempotentProcessing:
    """`prepare(objects, time_left_s)` tags a batch (ImageProcessor.prepare_batch: nothing written);
    `process(upload=..., receive_count=..., prepared=...)` writes one image's outcome (ImageProcessor.process) at most
    once per bucket/key/etag."""

    process: Callable[..., dict[str, str]]
    config: IdempotencyConfig
    prepare: Callable[..., dict[UploadedObject, Prepared]]
    # A context manager: the follow-ups of the batch's tagged images (embedding-matrix rows, the user's own labels)
    # run once per user, when it ends.
    batch_follow_ups: Callable[[], AbstractContextManager[None]]


@functools.cache
def idempotent_processing() -> IdempotentProcessing:
    built = services()
    processor = ImageProcessor(built.settings, built.s3, built.repo, built.endpoint)
    persistence = DynamoDBPersistenceLayer(
        table_name=built.settings.idempotency_table, boto3_client=aws.dynamodb_client()
    )
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, etag]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_WINDOW_S,
    )

    @idempotent_function(data_keyword_argument="upload", persistence_store=persistence, config=config)
    def process_upload(
        upload: dict[str, Any],
        receive_count: int,
        time_left_s: Callable[[], float] | None = None,
        prepared: Prepared | None = None,
    ) -> dict[str, str]:
        return processor.process(upload, receive_count, time_left_s, prepared)

    return IdempotentProcessing(
        process=process_upload,
        config=config,
        prepare=processor.prepare_batch,
        batch_follow_ups=processor.batch_follow_ups,
    )


def reset() -> None:
    """Forget built objects (tests change the environment between cases)."""
    services.cache_clear()
    idempotent_processing.cache_clear()
    aws.reset_clients()
