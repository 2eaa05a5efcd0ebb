"""SQS (debounced label requests) -> train a user's label from stored embeddings and tag their photos, or clean up a
deleted label; only failed records are retried."""

import functools

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger.custom_labels.jobs import LabelJobs
from imagetagger.custom_labels.requests import LabelRequest
from imagetagger.embedding_store import EmbeddingStore
from imagetagger.services import services

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def jobs() -> LabelJobs:
    built = services()
    return LabelJobs(built.repo, built.labels, EmbeddingStore(built.s3, built.settings.upload_bucket, built.repo))


def record_handler(record: SQSRecord) -> dict:
    try:
        request = LabelRequest.from_body(record.body)
    except (ValueError, KeyError, TypeError):
        logger.warning("a message that is not a label request; dropped", extra={"body": record.body[:200]})
        return {"outcome": "ignored"}
    outcome = jobs().handle(request)
    metrics.add_metric(name=f"LabelRequests_{outcome['outcome']}", unit=MetricUnit.Count, value=1)
    logger.info("label request done", extra={"action": request.action, "label": request.name, **outcome})
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
